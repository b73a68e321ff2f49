//! `BatchNorm` (PyTorch `nn.BatchNorm1d/2d`: `weight`, `bias`, buffers `running_mean`,
//! `running_var`, `num_batches_tracked`) and `LayerNorm` (`weight`, `bias`).

use crate::{dotted, param, Module, ModuleT};
use tapir::Tensor;

#[derive(Debug)]
pub struct BatchNorm {
    /// None without affine parameters.
    pub weight: Option<tch::Tensor>,
    pub bias: Option<tch::Tensor>,
    pub running_mean: tch::Tensor,
    pub running_var: tch::Tensor,
    /// PyTorch's step counter (`BatchNorm::new`); tch's layers have none (`batch_norm2d`).
    pub num_batches_tracked: Option<tch::Tensor>,
    pub momentum: f64,
    pub eps: f64,
    path: String,
}

impl BatchNorm {
    /// Batch normalization over dimension 1 of `[N, C]`, `[N, C, L]` or `[N, C, H, W]` (it serves
    /// as BatchNorm1d and BatchNorm2d alike); train or eval is chosen per call (`forward_t`).
    pub fn new<'a>(p: impl std::borrow::Borrow<tch::nn::Path<'a>>, channels: i64) -> Self {
        let p = p.borrow();
        let steps = tch::Tensor::zeros([], (tch::Kind::Int64, p.device()));
        BatchNorm {
            weight: Some(crate::var(p, "weight", &[channels], tch::nn::Init::Const(1.0))),
            bias: Some(crate::var(p, "bias", &[channels], tch::nn::Init::Const(0.0))),
            running_mean: crate::buffer(p, "running_mean", &[channels], 0.0),
            running_var: crate::buffer(p, "running_var", &[channels], 1.0),
            num_batches_tracked: Some(p.add("num_batches_tracked", steps, false)),
            momentum: 0.1,
            eps: 1e-5,
            path: dotted(p),
        }
    }
}

/// tch's `nn::batch_norm1d/2d/3d`: `weight` and `bias` (when affine), `running_mean`,
/// `running_var`, as tch creates them (no `num_batches_tracked`), so a tch checkpoint loads.
fn tch_batch_norm<'a>(
    vs: impl std::borrow::Borrow<tch::nn::Path<'a>>,
    out_dim: i64,
    config: tch::nn::BatchNormConfig,
) -> BatchNorm {
    let p = vs.borrow();
    let (weight, bias) = if config.affine {
        let w = crate::var(p, "weight", &[out_dim], config.ws_init);
        (Some(w), Some(crate::var(p, "bias", &[out_dim], config.bs_init)))
    } else {
        (None, None)
    };
    BatchNorm {
        weight,
        bias,
        running_mean: crate::buffer(p, "running_mean", &[out_dim], 0.0),
        running_var: crate::buffer(p, "running_var", &[out_dim], 1.0),
        num_batches_tracked: None,
        momentum: config.momentum,
        eps: config.eps,
        path: dotted(p),
    }
}

/// tch's `nn::batch_norm1d`.
pub fn batch_norm1d<'a>(
    vs: impl std::borrow::Borrow<tch::nn::Path<'a>>,
    out_dim: i64,
    config: tch::nn::BatchNormConfig,
) -> BatchNorm {
    tch_batch_norm(vs, out_dim, config)
}

/// tch's `nn::batch_norm2d`.
pub fn batch_norm2d<'a>(
    vs: impl std::borrow::Borrow<tch::nn::Path<'a>>,
    out_dim: i64,
    config: tch::nn::BatchNormConfig,
) -> BatchNorm {
    tch_batch_norm(vs, out_dim, config)
}

/// tch's `nn::batch_norm3d`.
pub fn batch_norm3d<'a>(
    vs: impl std::borrow::Borrow<tch::nn::Path<'a>>,
    out_dim: i64,
    config: tch::nn::BatchNormConfig,
) -> BatchNorm {
    tch_batch_norm(vs, out_dim, config)
}

impl ModuleT for BatchNorm {
    /// Eval (`train = false`) normalizes with the running statistics; train with the batch's,
    /// updating the running ones as PyTorch does (eager only: a trace refuses train mode).
    #[track_caller]
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let _scope = tapir::enter_scope_path(&self.path);
        if let Some(n) = self.num_batches_tracked.as_ref().filter(|_| train && !tapir::is_tracing()) {
            tch::no_grad(|| {
                let mut n = n.shallow_clone();
                let _ = n.f_add_scalar_(1);
            });
        }
        let (w, b) = (self.weight.as_ref().map(param), self.bias.as_ref().map(param));
        x.batch_norm(
            w.as_ref(),
            b.as_ref(),
            Some(&param(&self.running_mean)),
            Some(&param(&self.running_var)),
            train,
            self.momentum,
            self.eps,
            false,
        )
    }
}

/// PyTorch `nn.LayerNorm`: `weight` and `bias` over the normalized shape (none without
/// elementwise affine).
#[derive(Debug)]
pub struct LayerNorm {
    pub weight: Option<tch::Tensor>,
    pub bias: Option<tch::Tensor>,
    pub normalized_shape: Vec<i64>,
    pub eps: f64,
    path: String,
}

impl LayerNorm {
    pub fn new<'a>(p: impl std::borrow::Borrow<tch::nn::Path<'a>>, normalized_shape: &[i64], eps: f64) -> Self {
        let p = p.borrow();
        LayerNorm {
            weight: Some(crate::var(p, "weight", normalized_shape, tch::nn::Init::Const(1.0))),
            bias: Some(crate::var(p, "bias", normalized_shape, tch::nn::Init::Const(0.0))),
            normalized_shape: normalized_shape.to_vec(),
            eps,
            path: dotted(p),
        }
    }
}

/// tch's `nn::layer_norm`: parameters created as tch creates them (names, order, init).
pub fn layer_norm<'a>(
    vs: impl std::borrow::Borrow<tch::nn::Path<'a>>,
    normalized_shape: Vec<i64>,
    config: tch::nn::LayerNormConfig,
) -> LayerNorm {
    let p = vs.borrow();
    let (weight, bias) = if config.elementwise_affine {
        let w = crate::var(p, "weight", normalized_shape.as_slice(), config.ws_init);
        (Some(w), Some(crate::var(p, "bias", normalized_shape.as_slice(), config.bs_init)))
    } else {
        (None, None)
    };
    LayerNorm { weight, bias, normalized_shape, eps: config.eps, path: dotted(p) }
}

impl Module for LayerNorm {
    #[track_caller]
    fn forward(&self, x: &Tensor) -> Tensor {
        let _scope = tapir::enter_scope_path(&self.path);
        let (w, b) = (self.weight.as_ref().map(param), self.bias.as_ref().map(param));
        x.layer_norm(self.normalized_shape.as_slice(), w.as_ref(), b.as_ref(), self.eps, false)
    }
}

/// PyTorch `nn.GroupNorm(num_groups, num_channels, eps)`: `weight`, `bias` per channel.
#[derive(Debug)]
pub struct GroupNorm {
    /// None without affine parameters.
    pub weight: Option<tch::Tensor>,
    pub bias: Option<tch::Tensor>,
    pub num_groups: i64,
    pub eps: f64,
    path: String,
}

impl GroupNorm {
    pub fn new<'a>(p: impl std::borrow::Borrow<tch::nn::Path<'a>>, num_groups: i64, channels: i64, eps: f64) -> Self {
        let p = p.borrow();
        GroupNorm {
            weight: Some(crate::var(p, "weight", &[channels], tch::nn::Init::Const(1.0))),
            bias: Some(crate::var(p, "bias", &[channels], tch::nn::Init::Const(0.0))),
            num_groups,
            eps,
            path: dotted(p),
        }
    }
}

impl Module for GroupNorm {
    #[track_caller]
    fn forward(&self, x: &Tensor) -> Tensor {
        let _scope = tapir::enter_scope_path(&self.path);
        let (w, b) = (self.weight.as_ref().map(param), self.bias.as_ref().map(param));
        x.group_norm(self.num_groups, w.as_ref(), b.as_ref(), self.eps, false)
    }
}

/// tch's `nn::group_norm`: `weight` and `bias` (when affine), as tch creates them.
pub fn group_norm<'a>(
    vs: impl std::borrow::Borrow<tch::nn::Path<'a>>,
    num_groups: i64,
    num_channels: i64,
    config: tch::nn::GroupNormConfig,
) -> GroupNorm {
    let p = vs.borrow();
    let (weight, bias) = if config.affine {
        let w = crate::var(p, "weight", &[num_channels], config.ws_init);
        (Some(w), Some(crate::var(p, "bias", &[num_channels], config.bs_init)))
    } else {
        (None, None)
    };
    GroupNorm { weight, bias, num_groups, eps: config.eps, path: dotted(p) }
}

/// PyTorch `nn.RMSNorm(normalized_shape, eps)`: `weight` over the normalized shape (ones);
/// `eps = None` is the dtype's machine epsilon, as in PyTorch.
#[derive(Debug)]
pub struct RMSNorm {
    pub weight: tch::Tensor,
    pub normalized_shape: Vec<i64>,
    pub eps: Option<f64>,
    path: String,
}

impl RMSNorm {
    pub fn new<'a>(p: impl std::borrow::Borrow<tch::nn::Path<'a>>, normalized_shape: &[i64], eps: Option<f64>) -> Self {
        let p = p.borrow();
        RMSNorm {
            weight: crate::var(p, "weight", normalized_shape, tch::nn::Init::Const(1.0)),
            normalized_shape: normalized_shape.to_vec(),
            eps,
            path: dotted(p),
        }
    }
}

impl Module for RMSNorm {
    #[track_caller]
    fn forward(&self, x: &Tensor) -> Tensor {
        let _scope = tapir::enter_scope_path(&self.path);
        x.rms_norm(self.normalized_shape.as_slice(), Some(&param(&self.weight)), self.eps)
    }
}
