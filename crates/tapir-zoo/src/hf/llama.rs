//! LLaMA (`LlamaForCausalLM`).

use std::rc::Rc;
use tapir::Tensor;
use tapir_nn::{AttentionConfig, Embedding, Linear, Loader, Module, RMSNorm, RotaryEmbedding, SelfAttention};

/// `LlamaConfig`'s fields that shape the model (defaults: LLaMA-2 7B).
#[derive(Debug, Clone)]
pub struct LlamaConfig {
    pub vocab_size: i64,
    pub hidden_size: i64,
    pub intermediate_size: i64,
    pub num_hidden_layers: i64,
    pub num_attention_heads: i64,
    pub num_key_value_heads: i64,
    pub rms_norm_eps: f64,
    pub rope_theta: f64,
    pub tie_word_embeddings: bool,
    /// Factor on attention scores; `None` is `1 / sqrt(head_dim)` (LLaMA's).
    pub attention_scale: Option<f64>,
}

impl Default for LlamaConfig {
    fn default() -> Self {
        LlamaConfig {
            vocab_size: 32000,
            hidden_size: 4096,
            intermediate_size: 11008,
            num_hidden_layers: 32,
            num_attention_heads: 32,
            num_key_value_heads: 32,
            rms_norm_eps: 1e-6,
            rope_theta: 10000.0,
            tie_word_embeddings: false,
            attention_scale: None,
        }
    }
}

#[derive(Debug)]
struct Layer {
    input_layernorm: RMSNorm,
    self_attn: SelfAttention,
    post_attention_layernorm: RMSNorm,
    gate_proj: Linear,
    up_proj: Linear,
    down_proj: Linear,
}

/// LLaMA: `forward(ids [batch, seq])` gives logits `[batch, seq, vocab]`; rotary positions
/// `0..seq`, grouped-query attention, SwiGLU MLP, RMSNorm.
#[derive(Debug)]
pub struct Llama {
    embed_tokens: Embedding,
    layers: Vec<Layer>,
    norm: RMSNorm,
    lm_head: Option<Linear>,
    tie_word_embeddings: bool,
}

impl Llama {
    pub fn new(root: &tch::nn::Path, config: LlamaConfig) -> Llama {
        let m = root / "model";
        let (h, eps) = (config.hidden_size, Some(config.rms_norm_eps));
        let head_dim = h / config.num_attention_heads;
        let kv = config.num_key_value_heads * head_dim;
        let rotary = Rc::new(RotaryEmbedding::new(head_dim, config.rope_theta).named("model.rotary_emb"));
        let layers = (0..config.num_hidden_layers)
            .map(|i| {
                let l = &m / "layers" / i;
                let a = &l / "self_attn";
                let mut attention = AttentionConfig::new(h, config.num_attention_heads)
                    .kv_heads(config.num_key_value_heads)
                    .causal()
                    .rotary_embedding(rotary.clone());
                attention.scale = config.attention_scale;
                Layer {
                    input_layernorm: RMSNorm::new(&l / "input_layernorm", &[h], eps),
                    self_attn: SelfAttention::separate(
                        super::linear(&(&a / "q_proj"), h, h, false),
                        super::linear(&(&a / "k_proj"), h, kv, false),
                        super::linear(&(&a / "v_proj"), h, kv, false),
                        super::linear(&(&a / "o_proj"), h, h, false),
                        attention,
                    ),
                    post_attention_layernorm: RMSNorm::new(&l / "post_attention_layernorm", &[h], eps),
                    gate_proj: super::linear(&(&l / "mlp" / "gate_proj"), h, config.intermediate_size, false),
                    up_proj: super::linear(&(&l / "mlp" / "up_proj"), h, config.intermediate_size, false),
                    down_proj: super::linear(&(&l / "mlp" / "down_proj"), config.intermediate_size, h, false),
                }
            })
            .collect();
        Llama {
            embed_tokens: Embedding::new(&m / "embed_tokens", config.vocab_size, h),
            layers,
            norm: RMSNorm::new(&m / "norm", &[h], eps),
            lm_head: (!config.tie_word_embeddings)
                .then(|| super::linear(&(root / "lm_head"), h, config.vocab_size, false)),
            tie_word_embeddings: config.tie_word_embeddings,
        }
    }

    /// Reads `transformers` LLaMA checkpoints, sharded or not; older ones' per-layer
    /// `rotary_emb.inv_freq` buffers are skipped (the model computes them). With
    /// `tie_word_embeddings`, `lm_head.weight` is `model.embed_tokens.weight`.
    pub fn loader(config: &LlamaConfig) -> Loader {
        let loader = Loader::new().skip(|k| k.ends_with("rotary_emb.inv_freq"));
        if config.tie_word_embeddings {
            loader.tie("lm_head.weight", "model.embed_tokens.weight")
        } else {
            loader
        }
    }

    #[track_caller]
    pub fn forward(&self, ids: &Tensor) -> Tensor {
        let mut x = self.embed_tokens.forward(ids);
        for l in &self.layers {
            x = &x + l.self_attn.forward(&l.input_layernorm.forward(&x));
            let h = l.post_attention_layernorm.forward(&x);
            x = &x + l.down_proj.forward(&(l.gate_proj.forward(&h).silu() * l.up_proj.forward(&h)));
        }
        let x = self.norm.forward(&x);
        match &self.lm_head {
            Some(head) => head.forward(&x),
            None => {
                let _scope = tapir::enter_scope_path("lm_head");
                debug_assert!(self.tie_word_embeddings);
                x.linear(&tapir_nn::param(&self.embed_tokens.weight), None::<&Tensor>)
            }
        }
    }
}
