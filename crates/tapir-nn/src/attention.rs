//! `MultiheadAttention` with PyTorch's parameter layout: `in_proj_weight [3E, E]`,
//! `in_proj_bias [3E]`, `out_proj.weight [E, E]`, `out_proj.bias [E]`; batch-first inputs
//! `[B, T, E]`.

use crate::{dotted, Linear, Module};
use tapir::Tensor;

#[derive(Debug)]
pub struct MultiheadAttention {
    pub in_proj_weight: tch::Tensor,
    pub in_proj_bias: tch::Tensor,
    pub out_proj: Linear,
    pub embed_dim: i64,
    pub num_heads: i64,
    path: String,
}

/// Applies a PyTorch-style mask to attention scores: a bool mask is true where attention is
/// not allowed (filled with -inf); a float mask is added.
fn apply_mask(scores: Tensor, mask: &Tensor) -> Tensor {
    if mask.kind() == tch::Kind::Bool {
        scores.masked_fill(mask, f64::NEG_INFINITY)
    } else {
        scores + mask
    }
}

impl MultiheadAttention {
    pub fn new<'a>(p: impl std::borrow::Borrow<tch::nn::Path<'a>>, embed_dim: i64, num_heads: i64) -> Self {
        let p = p.borrow();
        // PyTorch: xavier_uniform for in_proj_weight, zeros for the biases.
        let bound = (6.0 / (embed_dim + 3 * embed_dim) as f64).sqrt();
        let out_proj = Linear::new(p / "out_proj", embed_dim, embed_dim);
        tch::no_grad(|| {
            let _ = out_proj.bias.as_ref().map(|b| b.shallow_clone().zero_());
        });
        MultiheadAttention {
            in_proj_weight: crate::var(
                p,
                "in_proj_weight",
                &[3 * embed_dim, embed_dim],
                tch::nn::Init::Uniform { lo: -bound, up: bound },
            ),
            in_proj_bias: crate::var(p, "in_proj_bias", &[3 * embed_dim], tch::nn::Init::Const(0.0)),
            out_proj,
            embed_dim,
            num_heads,
            path: dotted(p),
        }
    }

    /// Attention of `query` `[B, T, E]` over `key`/`value` `[B, S, E]`. `key_padding_mask`:
    /// `[B, S]`; `attn_mask`: `[T, S]` or `[B * heads, T, S]` (bool: true = masked; float: added).
    /// Inputs of another rank give a tensor carrying an error that names the caller.
    #[track_caller]
    pub fn attend(
        &self,
        query: &Tensor,
        key: &Tensor,
        value: &Tensor,
        key_padding_mask: Option<&Tensor>,
        attn_mask: Option<&Tensor>,
    ) -> Tensor {
        let _scope = tapir::enter_scope_path(&self.path);
        let (e, h) = (self.embed_dim, self.num_heads);
        let hd = e / h;
        let (b, t, s) = match (query.sym_size3(), key.sym_size3()) {
            (Ok((b, t, _)), Ok((_, s, _))) => (b, t, s),
            (Err(e), _) | (_, Err(e)) => return Tensor::from_error(e),
        };
        // The q, k and v rows of the packed parameters, cut on the tch side (not recorded): each
        // becomes its own initializer (`<path>.in_proj_weight.q`, ...), so the model has no
        // slicing nodes, and the bytes are the parameter's own (views, not copies).
        let part = |t: &tch::Tensor, i: i64, what: &str| {
            let name = format!("{what}.{}", ["q", "k", "v"][i as usize]);
            let name = if self.path.is_empty() { name } else { format!("{}.{name}", self.path) };
            tapir::named_slice(t, 0, i * e, e, &name)
        };
        let project = |x: &Tensor, i: i64, len: tapir::SymInt| {
            let (wi, bi) =
                (part(&self.in_proj_weight, i, "in_proj_weight"), part(&self.in_proj_bias, i, "in_proj_bias"));
            x.linear(&wi, Some(&bi)).reshape((b, len, h, hd)).transpose(1, 2)
        };
        let (q, k, v) = (project(query, 0, t), project(key, 1, s), project(value, 2, s));
        let mut scores = q.matmul(&k.transpose(-2, -1)) / (hd as f64).sqrt();
        if let Some(m) = attn_mask {
            let m = if m.dim() == 3 { m.reshape((b, h, t, s)) } else { m.shallow_clone() };
            scores = apply_mask(scores, &m);
        }
        if let Some(m) = key_padding_mask {
            scores = apply_mask(scores, &m.reshape((b, 1, 1, s)));
        }
        let out = scores.softmax(-1, None).matmul(&v).transpose(1, 2).reshape((b, t, e));
        self.out_proj.forward(&out)
    }
}

impl Module for MultiheadAttention {
    /// Self-attention without masks.
    #[track_caller]
    fn forward(&self, x: &Tensor) -> Tensor {
        self.attend(x, x, x, None, None)
    }
}
