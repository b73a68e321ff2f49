//! Layers for layouts of Hugging Face `transformers` checkpoints that PyTorch's own `nn` has no
//! layer for: GPT-2's `Conv1D` (a linear layer with its weight stored `[in, out]`) and rotary
//! position embeddings (LLaMA's `rotate_half` form).

use crate::{dotted, param, Module};
use tapir::Tensor;

/// GPT-2's `Conv1D` (`transformers.pytorch_utils.Conv1D`): `y = x @ weight + bias` with
/// `weight [in, out]` and `bias [out]`, so `c_attn.weight` and `c_proj.weight` load by name as
/// the checkpoint stores them. (Named apart from [`crate::Conv1D`], tch's convolution.)
#[derive(Debug)]
pub struct HfConv1D {
    pub weight: tch::Tensor,
    pub bias: tch::Tensor,
    path: String,
}

impl HfConv1D {
    /// `nx` inputs to `nf` outputs, initialized as `transformers` does (normal, std 0.02; zero bias).
    pub fn new<'a>(p: impl std::borrow::Borrow<tch::nn::Path<'a>>, nx: i64, nf: i64) -> Self {
        let p = p.borrow();
        HfConv1D {
            weight: crate::var(p, "weight", &[nx, nf], tch::nn::Init::Randn { mean: 0.0, stdev: 0.02 }),
            bias: crate::var(p, "bias", &[nf], tch::nn::Init::Const(0.0)),
            path: dotted(p),
        }
    }
}

impl Module for HfConv1D {
    #[track_caller]
    fn forward(&self, x: &Tensor) -> Tensor {
        let _scope = tapir::enter_scope_path(&self.path);
        x.matmul(&param(&self.weight)) + param(&self.bias)
    }
}

/// Rotary position embeddings as LLaMA applies them: for head size `d`, frequencies
/// `base^(-2i/d)`, angles `position * frequency` repeated over both halves, and
/// `x * cos + rotate_half(x) * sin` with `rotate_half(x) = cat(-x[.., d/2..], x[.., ..d/2])`.
/// Positions are `0..t` for a sequence of length `t` (a dynamic length stays dynamic: the angles
/// are computed in the graph from `arange(t)`). The frequencies are a buffer of the layer, not a
/// parameter (checkpoints do not hold them, or hold them as `rotary_emb.inv_freq`, skipped);
/// [`named`](RotaryEmbedding::named) gives their initializer a name in exports.
#[derive(Debug)]
pub struct RotaryEmbedding {
    /// `base^(-2i/d)` for `i` in `0..d/2`, float32.
    pub inv_freq: tch::Tensor,
    name: Option<String>,
}

impl RotaryEmbedding {
    /// Head size `dim` (even), base `base` (10000 in LLaMA).
    pub fn new(dim: i64, base: f64) -> Self {
        // In float32, as `transformers` computes it.
        let exponents = tch::Tensor::arange_start_step(0, dim, 2, (tch::Kind::Int64, tch::Device::Cpu))
            .to_kind(tch::Kind::Float)
            / dim as f64;
        RotaryEmbedding { inv_freq: tch::Tensor::from(base as f32).pow(&exponents).reciprocal(), name: None }
    }

    /// Names the frequencies `{path}.inv_freq` in traces and exports (as `transformers` names
    /// the buffer: `model.rotary_emb`).
    pub fn named(mut self, path: &str) -> Self {
        self.name = Some(format!("{path}.inv_freq"));
        self
    }

    /// `(cos, sin)`, each `[t, dim]`, for positions `0..t` (`t` a size: `q.sym_size()[2]`).
    #[track_caller]
    pub fn cos_sin(&self, t: impl Into<tapir::SymInt>) -> (Tensor, Tensor) {
        let positions = Tensor::arange(t, (tch::Kind::Float, self.inv_freq.device()));
        let inv_freq = match &self.name {
            Some(name) => tapir::named_constant(&self.inv_freq, name),
            None => Tensor::from(&self.inv_freq),
        };
        let freqs = positions.unsqueeze(1) * inv_freq.unsqueeze(0);
        let emb = Tensor::cat(&[freqs.shallow_clone(), freqs], -1);
        (emb.cos(), emb.sin())
    }

    /// Rotates `x` `[.., t, dim]` by positions `0..t` (its second-to-last size).
    #[track_caller]
    pub fn apply(&self, x: &Tensor) -> Tensor {
        let size = x.sym_size();
        let (Some(&t), Some(&d)) = (size.iter().rev().nth(1), size.last()) else {
            // Fewer than 2 dimensions: the carried error of a failed input, or a rank error
            // naming the caller.
            return match x.sym_size2() {
                Err(e) => Tensor::from_error(e),
                Ok(_) => x.shallow_clone(),
            };
        };
        let (cos, sin) = self.cos_sin(t);
        let half = d / 2;
        let rotated = Tensor::cat(&[-x.narrow(-1, half, d - half), x.narrow(-1, 0, half)], -1);
        x * cos + rotated * sin
    }
}
