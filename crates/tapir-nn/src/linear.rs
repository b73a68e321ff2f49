//! `Linear` (PyTorch `nn.Linear`): `weight [out, in]`, `bias [out]`.

use crate::{dotted, param, uniform_init, Module};
use tapir::Tensor;

#[derive(Debug)]
pub struct Linear {
    pub weight: tch::Tensor,
    pub bias: Option<tch::Tensor>,
    path: String,
}

impl Linear {
    /// A linear layer with bias.
    pub fn new<'a>(p: impl std::borrow::Borrow<tch::nn::Path<'a>>, in_features: i64, out_features: i64) -> Self {
        Self::with_bias(p, in_features, out_features, true)
    }

    pub fn with_bias<'a>(
        p: impl std::borrow::Borrow<tch::nn::Path<'a>>,
        in_features: i64,
        out_features: i64,
        bias: bool,
    ) -> Self {
        let p = p.borrow();
        let init = uniform_init(in_features);
        Linear {
            weight: crate::var(p, "weight", &[out_features, in_features], init),
            bias: bias.then(|| crate::var(p, "bias", &[out_features], init)),
            path: dotted(p),
        }
    }
}

/// tch's `nn::linear`: `bias` (when `c.bias`) then `weight`, created as tch creates them (names,
/// order, init), so checkpoints saved by tch code load by name.
pub fn linear<'a>(
    vs: impl std::borrow::Borrow<tch::nn::Path<'a>>,
    in_dim: i64,
    out_dim: i64,
    c: tch::nn::LinearConfig,
) -> Linear {
    let p = vs.borrow();
    let bias = c.bias.then(|| {
        let bound = 1.0 / (in_dim as f64).sqrt();
        crate::var(p, "bias", &[out_dim], c.bs_init.unwrap_or(tch::nn::Init::Uniform { lo: -bound, up: bound }))
    });
    Linear { weight: crate::var(p, "weight", &[out_dim, in_dim], c.ws_init), bias, path: dotted(p) }
}

impl Module for Linear {
    #[track_caller]
    fn forward(&self, x: &Tensor) -> Tensor {
        let _scope = tapir::enter_scope_path(&self.path);
        let b = self.bias.as_ref().map(param);
        x.linear(&param(&self.weight), b.as_ref())
    }
}
