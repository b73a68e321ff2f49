//! `Dropout`: the identity in eval (records nothing), random in train (eager only).

use crate::ModuleT;
use tapir::Tensor;

#[derive(Debug, Clone, Copy)]
pub struct Dropout {
    pub p: f64,
}

impl Dropout {
    pub fn new(p: f64) -> Self {
        Dropout { p }
    }
}

impl ModuleT for Dropout {
    #[track_caller]
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        x.dropout(self.p, train)
    }
}
