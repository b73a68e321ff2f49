//! Multi-head self-attention in the layouts of Hugging Face checkpoints: separate query, key and
//! value projections (BERT's `query`/`key`/`value`, LLaMA's and ViT's `q_proj`/`k_proj`/
//! `v_proj`) or one fused projection (GPT-2's `c_attn`), each an ordinary layer of the caller's
//! choice, so every parameter keeps the checkpoint's name.

use crate::{Module, RotaryEmbedding};
use std::rc::Rc;
use tapir::Tensor;

/// Heads, sizes and the attention pattern of a [`SelfAttention`].
#[derive(Debug)]
pub struct AttentionConfig {
    /// Query heads.
    pub heads: i64,
    /// Key/value heads (fewer than `heads` for grouped-query attention; each serves
    /// `heads / kv_heads` query heads).
    pub kv_heads: i64,
    /// Size of one head.
    pub head_dim: i64,
    /// Each position attends only to itself and earlier positions.
    pub causal: bool,
    /// Factor on the scores; `None` is `1 / sqrt(head_dim)`.
    pub scale: Option<f64>,
    /// Rotary position embeddings applied to queries and keys (one table may serve every layer).
    pub rotary: Option<Rc<RotaryEmbedding>>,
}

impl AttentionConfig {
    /// `heads` heads over `embed_dim` features (`head_dim = embed_dim / heads`), as many
    /// key/value heads, not causal, the usual scale, no rotary embeddings.
    pub fn new(embed_dim: i64, heads: i64) -> AttentionConfig {
        AttentionConfig {
            heads,
            kv_heads: heads,
            head_dim: embed_dim / heads.max(1),
            causal: false,
            scale: None,
            rotary: None,
        }
    }

    /// Grouped-query attention with `kv_heads` key/value heads.
    pub fn kv_heads(mut self, kv_heads: i64) -> AttentionConfig {
        self.kv_heads = kv_heads;
        self
    }

    /// Causal (decoder) attention.
    pub fn causal(mut self) -> AttentionConfig {
        self.causal = true;
        self
    }

    /// Scores scaled by `scale` instead of `1 / sqrt(head_dim)`.
    pub fn scale(mut self, scale: f64) -> AttentionConfig {
        self.scale = Some(scale);
        self
    }

    /// Rotary position embeddings of base `base` (LLaMA: 10000) on queries and keys.
    pub fn rotary(self, base: f64) -> AttentionConfig {
        let rotary = RotaryEmbedding::new(self.head_dim, base);
        self.rotary_embedding(Rc::new(rotary))
    }

    /// These rotary position embeddings on queries and keys (shared between layers, and
    /// [named](RotaryEmbedding::named) for exports).
    pub fn rotary_embedding(mut self, rotary: Rc<RotaryEmbedding>) -> AttentionConfig {
        self.rotary = Some(rotary);
        self
    }
}

enum Projections {
    Separate { q: Box<dyn Module>, k: Box<dyn Module>, v: Box<dyn Module> },
    Fused(Box<dyn Module>),
}

/// Self-attention over `[batch, seq, embed]` inputs: project to queries, keys and values, split
/// into heads, attend (`scaled_dot_product_attention`, so exports use ONNX's `Attention` where
/// the opset has it), merge the heads and project out.
///
/// ```
/// use tapir_nn::{AttentionConfig, Linear, Module, SelfAttention};
/// let vs = tch::nn::VarStore::new(tch::Device::Cpu);
/// let p = vs.root() / "self_attn";
/// // LLaMA's layout: q_proj, k_proj, v_proj, o_proj; 4 query heads sharing 2 key/value heads.
/// let no_bias = tch::nn::LinearConfig { bias: false, ..Default::default() };
/// let attn = SelfAttention::separate(
///     tapir_nn::linear(&p / "q_proj", 32, 32, no_bias),
///     tapir_nn::linear(&p / "k_proj", 32, 16, no_bias),
///     tapir_nn::linear(&p / "v_proj", 32, 16, no_bias),
///     tapir_nn::linear(&p / "o_proj", 32, 32, no_bias),
///     AttentionConfig::new(32, 4).kv_heads(2).causal().rotary(10000.0),
/// );
/// let x = tch::Tensor::randn([2, 5, 32], (tch::Kind::Float, tch::Device::Cpu));
/// let y = attn.forward(&tapir::Tensor::from(&x));
/// assert_eq!(y.size(), [2, 5, 32]);
/// ```
pub struct SelfAttention {
    projections: Projections,
    out: Box<dyn Module>,
    pub config: AttentionConfig,
}

impl std::fmt::Debug for SelfAttention {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fused = matches!(self.projections, Projections::Fused(_));
        f.debug_struct("SelfAttention").field("fused", &fused).field("config", &self.config).finish()
    }
}

impl SelfAttention {
    /// Separate projections: `q` to `heads * head_dim` features, `k` and `v` to
    /// `kv_heads * head_dim`, `out` from `heads * head_dim`.
    pub fn separate(
        q: impl Module + 'static,
        k: impl Module + 'static,
        v: impl Module + 'static,
        out: impl Module + 'static,
        config: AttentionConfig,
    ) -> SelfAttention {
        let projections = Projections::Separate { q: Box::new(q), k: Box::new(k), v: Box::new(v) };
        SelfAttention { projections, out: Box::new(out), config }
    }

    /// One fused projection whose output is queries, then keys, then values along the last
    /// dimension (GPT-2's `c_attn`).
    pub fn fused(qkv: impl Module + 'static, out: impl Module + 'static, config: AttentionConfig) -> SelfAttention {
        SelfAttention { projections: Projections::Fused(Box::new(qkv)), out: Box::new(out), config }
    }

    /// Attention of `x` `[batch, seq, embed]` over itself; `mask` (broadcast to `[batch, heads,
    /// seq, seq]`) is boolean (true: attend) or added to the scores. Sizes may be dynamic.
    #[track_caller]
    pub fn forward_masked(&self, x: &Tensor, mask: Option<&Tensor>) -> Tensor {
        let (b, t) = match x.sym_size3() {
            Ok((b, t, _)) => (b, t),
            Err(e) => return Tensor::from_error(e),
        };
        let c = &self.config;
        let (q, k, v) = match &self.projections {
            Projections::Separate { q, k, v } => (q.forward(x), k.forward(x), v.forward(x)),
            Projections::Fused(qkv) => {
                let kv = c.kv_heads * c.head_dim;
                let fused = qkv.forward(x);
                let mut parts = fused.split_with_sizes([c.heads * c.head_dim, kv, kv], -1).into_iter();
                match (parts.next(), parts.next(), parts.next()) {
                    (Some(q), Some(k), Some(v)) => (q, k, v),
                    // A failed split (an input that already carries an error) passes it on.
                    _ => return fused,
                }
            }
        };
        let heads = |y: Tensor, n: i64| y.reshape((b, t, n, c.head_dim)).transpose(1, 2);
        let (mut q, mut k, v) = (heads(q, c.heads), heads(k, c.kv_heads), heads(v, c.kv_heads));
        if let Some(rope) = &c.rotary {
            q = rope.apply(&q);
            k = rope.apply(&k);
        }
        let y = Tensor::scaled_dot_product_attention(&q, &k, &v, mask, 0.0, c.causal, c.scale, c.kv_heads != c.heads);
        self.out.forward(&y.transpose(1, 2).reshape((b, t, c.heads * c.head_dim)))
    }
}

impl Module for SelfAttention {
    #[track_caller]
    fn forward(&self, x: &Tensor) -> Tensor {
        self.forward_masked(x, None)
    }
}
