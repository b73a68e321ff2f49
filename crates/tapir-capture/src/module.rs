//! tch's module traits: [`Module`] (a layer with one forward) and [`ModuleT`] (a forward with a
//! train flag per call, for layers that differ in training: batch norm, dropout), with
//! [`Tensor::apply`] / [`Tensor::apply_t`] and the closure wrappers [`func`] / [`func_t`].
//! Train or eval is chosen at each call, as in tch: nothing is in train mode unless the caller
//! says so.
//!
//! ```
//! use tapir_capture::{func, func_t, Tensor};
//! let double = func(|x| x * 2.0);
//! let noisy = func_t(|x, train| x.dropout(0.5, train));
//! let x = Tensor::from(tch::Tensor::ones([3], (tch::Kind::Float, tch::Device::Cpu)));
//! let y = x.apply(&double).apply_t(&noisy, false);
//! assert_eq!(y.to_tch().unwrap().double_value(&[0]), 2.0);
//! ```

use crate::tensor::Tensor;

/// A layer: one tensor in, one out (tch's `nn::Module`).
pub trait Module {
    fn forward(&self, xs: &Tensor) -> Tensor;
}

/// A layer whose forward depends on training (tch's `nn::ModuleT`). Every [`Module`] is one,
/// ignoring the flag.
pub trait ModuleT {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor;
}

impl<M: Module + ?Sized> ModuleT for M {
    fn forward_t(&self, xs: &Tensor, _train: bool) -> Tensor {
        self.forward(xs)
    }
}

/// A closure as a [`Module`] (tch's `nn::func`).
pub struct Func<F>(F);

/// A closure with a train flag as a [`ModuleT`] (tch's `nn::func_t`).
pub struct FuncT<F>(F);

impl<F> std::fmt::Debug for Func<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("func")
    }
}

impl<F> std::fmt::Debug for FuncT<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("func_t")
    }
}

/// `f` as a [`Module`].
pub fn func<F: Fn(&Tensor) -> Tensor>(f: F) -> Func<F> {
    Func(f)
}

/// `f` as a [`ModuleT`].
pub fn func_t<F: Fn(&Tensor, bool) -> Tensor>(f: F) -> FuncT<F> {
    FuncT(f)
}

/// A closure is a module too (no need for [`func`] outside tch-shaped code).
impl<F: Fn(&Tensor) -> Tensor> Module for F {
    fn forward(&self, xs: &Tensor) -> Tensor {
        self(xs)
    }
}

impl<F: Fn(&Tensor) -> Tensor> Module for Func<F> {
    fn forward(&self, xs: &Tensor) -> Tensor {
        (self.0)(xs)
    }
}

impl<F: Fn(&Tensor, bool) -> Tensor> ModuleT for FuncT<F> {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        (self.0)(xs, train)
    }
}

impl Tensor {
    /// `m.forward(self)`.
    #[track_caller]
    pub fn apply<M: Module + ?Sized>(&self, m: &M) -> Tensor {
        m.forward(self)
    }

    /// `m.forward_t(self, train)`.
    #[track_caller]
    pub fn apply_t<M: ModuleT + ?Sized>(&self, m: &M, train: bool) -> Tensor {
        m.forward_t(self, train)
    }

    /// `m.forward(self)` when there is a module, `self` otherwise.
    #[track_caller]
    pub fn apply_opt<M: Module>(&self, m: &Option<M>) -> Tensor {
        match m {
            Some(m) => m.forward(self),
            None => self.shallow_clone(),
        }
    }
}
