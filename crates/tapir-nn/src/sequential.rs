//! `Sequential` and `SequentialT` (tch's `nn::seq()` and `nn::seq_t()`): modules applied in
//! order. PyTorch names a Sequential's children `0`, `1`, ...: create them under `&root / "0"`
//! and so on.

use crate::{Module, ModuleT};
use tapir::Tensor;

/// Modules applied in order (a [`Module`]).
#[derive(Default)]
pub struct Sequential {
    layers: Vec<Box<dyn Module>>,
}

/// Modules with a train flag applied in order (a [`ModuleT`]; plain modules join it too).
#[derive(Default)]
pub struct SequentialT {
    layers: Vec<Box<dyn ModuleT>>,
}

/// An empty [`Sequential`] (tch's `nn::seq()`).
pub fn seq() -> Sequential {
    Sequential::default()
}

/// An empty [`SequentialT`] (tch's `nn::seq_t()`).
pub fn seq_t() -> SequentialT {
    SequentialT::default()
}

impl std::fmt::Debug for Sequential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sequential({} layers)", self.layers.len())
    }
}

impl std::fmt::Debug for SequentialT {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SequentialT({} layers)", self.layers.len())
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

    /// Appends a closure.
    pub fn add_fn(self, f: impl Fn(&Tensor) -> Tensor + 'static) -> Self {
        self.add(f)
    }

    /// The number of modules.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// Whether there are no modules.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }
}

impl SequentialT {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a module with a train flag, or a plain one.
    #[allow(clippy::should_implement_trait)]
    pub fn add(mut self, m: impl ModuleT + 'static) -> Self {
        self.layers.push(Box::new(m));
        self
    }

    /// Appends a closure.
    pub fn add_fn(self, f: impl Fn(&Tensor) -> Tensor + 'static) -> Self {
        self.add(f)
    }

    /// Appends a closure taking the train flag.
    pub fn add_fn_t(self, f: impl Fn(&Tensor, bool) -> Tensor + 'static) -> Self {
        self.add(tapir::func_t(f))
    }

    /// The number of modules.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// Whether there are no modules.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }
}

impl Module for Sequential {
    #[track_caller]
    fn forward(&self, x: &Tensor) -> Tensor {
        let mut h = x.shallow_clone();
        for l in &self.layers {
            h = l.forward(&h);
        }
        h
    }
}

impl ModuleT for SequentialT {
    #[track_caller]
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let mut h = x.shallow_clone();
        for l in &self.layers {
            h = l.forward_t(&h, train);
        }
        h
    }
}
