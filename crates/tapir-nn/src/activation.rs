//! Activation modules (no parameters).

use crate::Module;
use tapir::Tensor;

#[derive(Debug, Clone, Copy)]
pub struct ReLU;
#[derive(Debug, Clone, Copy)]
pub struct Sigmoid;
#[derive(Debug, Clone, Copy)]
pub struct Tanh;
/// GELU, exact unless `tanh`.
#[derive(Debug, Clone, Copy, Default)]
pub struct GELU {
    pub tanh: bool,
}

/// The activations PyTorch's transformer layers accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    Relu,
    Gelu,
}

impl Module for ReLU {
    fn forward(&self, x: &Tensor) -> Tensor {
        x.relu()
    }
}
impl Module for Sigmoid {
    fn forward(&self, x: &Tensor) -> Tensor {
        x.sigmoid()
    }
}
impl Module for Tanh {
    fn forward(&self, x: &Tensor) -> Tensor {
        x.tanh()
    }
}
impl Module for GELU {
    fn forward(&self, x: &Tensor) -> Tensor {
        x.gelu(if self.tanh { "tanh" } else { "none" })
    }
}
impl Module for Activation {
    fn forward(&self, x: &Tensor) -> Tensor {
        match self {
            Activation::Relu => x.relu(),
            Activation::Gelu => x.gelu("none"),
        }
    }
}
