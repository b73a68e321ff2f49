//! `Dropout`: identity in eval mode (records nothing), random in train mode (eager only).

use crate::Module;
use std::cell::Cell;
use tapir::Tensor;

#[derive(Debug)]
pub struct Dropout {
    pub p: f64,
    train: Cell<bool>,
}

impl Dropout {
    pub fn new(p: f64) -> Self {
        Dropout { p, train: Cell::new(true) }
    }
}

impl Module for Dropout {
    fn forward(&self, x: &Tensor) -> Tensor {
        x.dropout(self.p, self.train.get())
    }

    fn set_train(&self, train: bool) {
        self.train.set(train);
    }
}
