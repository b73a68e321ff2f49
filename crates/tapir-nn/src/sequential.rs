//! `Sequential`: modules applied in order (PyTorch names its children `0`, `1`, ...; create them
//! under `&root / "0"` and so on).

use crate::Module;
use tapir::Tensor;

#[derive(Default)]
pub struct Sequential {
    layers: Vec<Box<dyn Module>>,
}

impl std::fmt::Debug for Sequential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sequential({} layers)", self.layers.len())
    }
}

impl Sequential {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a module (named `add` as in `tch::nn::Sequential`).
    #[allow(clippy::should_implement_trait)]
    pub fn add(mut self, m: impl Module + 'static) -> Self {
        self.layers.push(Box::new(m));
        self
    }
}

impl Module for Sequential {
    fn forward(&self, x: &Tensor) -> Tensor {
        let mut h = x.shallow_clone();
        for l in &self.layers {
            h = l.forward(&h);
        }
        h
    }

    fn set_train(&self, train: bool) {
        for l in &self.layers {
            l.set_train(train);
        }
    }
}
