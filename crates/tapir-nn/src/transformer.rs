//! `TransformerEncoderLayer` and `TransformerEncoder` with PyTorch's names (`self_attn`,
//! `linear1`, `linear2`, `norm1`, `norm2`; `layers.N`), batch-first, post-norm (PyTorch's
//! default) or pre-norm (`norm_first`), ReLU or GELU.

use crate::{dotted, Activation, Dropout, LayerNorm, Linear, Module, ModuleT, MultiheadAttention};
use tapir::Tensor;

#[derive(Debug)]
pub struct TransformerEncoderLayer {
    pub self_attn: MultiheadAttention,
    pub linear1: Linear,
    pub linear2: Linear,
    pub norm1: LayerNorm,
    pub norm2: LayerNorm,
    pub activation: Activation,
    pub norm_first: bool,
    dropouts: [Dropout; 3],
    path: String,
}

impl TransformerEncoderLayer {
    /// PyTorch's `TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout=0.1,
    /// activation, layer_norm_eps=1e-5, batch_first=True, norm_first)`.
    pub fn new<'a>(
        p: impl std::borrow::Borrow<tch::nn::Path<'a>>,
        d_model: i64,
        nhead: i64,
        dim_feedforward: i64,
        activation: Activation,
        norm_first: bool,
    ) -> Self {
        let p = p.borrow();
        TransformerEncoderLayer {
            self_attn: MultiheadAttention::new(p / "self_attn", d_model, nhead),
            linear1: Linear::new(p / "linear1", d_model, dim_feedforward),
            linear2: Linear::new(p / "linear2", dim_feedforward, d_model),
            norm1: LayerNorm::new(p / "norm1", &[d_model], 1e-5),
            norm2: LayerNorm::new(p / "norm2", &[d_model], 1e-5),
            activation,
            norm_first,
            dropouts: [Dropout::new(0.1), Dropout::new(0.1), Dropout::new(0.1)],
            path: dotted(p),
        }
    }

    fn self_attention(&self, x: &Tensor, mask: Option<&Tensor>, pad: Option<&Tensor>, train: bool) -> Tensor {
        self.dropouts[0].forward_t(&self.self_attn.attend(x, x, x, pad, mask), train)
    }

    fn feed_forward(&self, x: &Tensor, train: bool) -> Tensor {
        let h = self.dropouts[1].forward_t(&self.activation.forward(&self.linear1.forward(x)), train);
        self.dropouts[2].forward_t(&self.linear2.forward(&h), train)
    }

    /// `x` `[B, T, E]` with an optional attention mask and key padding mask (see
    /// [`MultiheadAttention::attend`]); `train` turns dropout on (eager only).
    pub fn forward_masked_t(
        &self,
        x: &Tensor,
        mask: Option<&Tensor>,
        key_padding_mask: Option<&Tensor>,
        train: bool,
    ) -> Tensor {
        // The residual adds belong to the layer's scope (its sublayers enter their own).
        let _scope = tapir::enter_scope_path(&self.path);
        if self.norm_first {
            let x = x + &self.self_attention(&self.norm1.forward(x), mask, key_padding_mask, train);
            &x + &self.feed_forward(&self.norm2.forward(&x), train)
        } else {
            let x = self.norm1.forward(&(x + &self.self_attention(x, mask, key_padding_mask, train)));
            self.norm2.forward(&(&x + &self.feed_forward(&x, train)))
        }
    }

    /// [`TransformerEncoderLayer::forward_masked_t`] in eval mode.
    pub fn forward_masked(&self, x: &Tensor, mask: Option<&Tensor>, key_padding_mask: Option<&Tensor>) -> Tensor {
        self.forward_masked_t(x, mask, key_padding_mask, false)
    }
}

impl ModuleT for TransformerEncoderLayer {
    #[track_caller]
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        self.forward_masked_t(x, None, None, train)
    }
}

/// A stack of encoder layers named `layers.0`, `layers.1`, ...
#[derive(Debug)]
pub struct TransformerEncoder {
    pub layers: Vec<TransformerEncoderLayer>,
}

impl TransformerEncoder {
    pub fn new<'a>(
        p: impl std::borrow::Borrow<tch::nn::Path<'a>>,
        num_layers: i64,
        make: impl Fn(tch::nn::Path<'_>) -> TransformerEncoderLayer,
    ) -> Self {
        let p = p.borrow();
        TransformerEncoder { layers: (0..num_layers).map(|i| make(p / "layers" / i)).collect() }
    }

    /// Every layer in turn, with the masks; `train` turns dropout on (eager only).
    pub fn forward_masked_t(
        &self,
        x: &Tensor,
        mask: Option<&Tensor>,
        key_padding_mask: Option<&Tensor>,
        train: bool,
    ) -> Tensor {
        let mut h = x.shallow_clone();
        for l in &self.layers {
            h = l.forward_masked_t(&h, mask, key_padding_mask, train);
        }
        h
    }

    /// [`TransformerEncoder::forward_masked_t`] in eval mode.
    pub fn forward_masked(&self, x: &Tensor, mask: Option<&Tensor>, key_padding_mask: Option<&Tensor>) -> Tensor {
        self.forward_masked_t(x, mask, key_padding_mask, false)
    }
}

impl ModuleT for TransformerEncoder {
    #[track_caller]
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        self.forward_masked_t(x, None, None, train)
    }
}
