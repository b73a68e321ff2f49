//! BERT (`BertModel`).

use tapir::Tensor;
use tapir_nn::{Activation, AttentionConfig, Embedding, LayerNorm, Linear, Loader, Module, SelfAttention};

/// `BertConfig`'s fields that shape the model (defaults: BERT-base).
#[derive(Debug, Clone)]
pub struct BertConfig {
    pub vocab_size: i64,
    pub hidden_size: i64,
    pub num_hidden_layers: i64,
    pub num_attention_heads: i64,
    pub intermediate_size: i64,
    pub max_position_embeddings: i64,
    pub type_vocab_size: i64,
    pub layer_norm_eps: f64,
    /// `hidden_act`: BERT's `gelu` is the exact (erf) form.
    pub activation: Activation,
}

impl Default for BertConfig {
    fn default() -> Self {
        BertConfig {
            vocab_size: 30522,
            hidden_size: 768,
            num_hidden_layers: 12,
            num_attention_heads: 12,
            intermediate_size: 3072,
            max_position_embeddings: 512,
            type_vocab_size: 2,
            layer_norm_eps: 1e-12,
            activation: Activation::Gelu,
        }
    }
}

#[derive(Debug)]
struct Layer {
    attention: SelfAttention,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
}

/// BERT's encoder with its pooler: `forward(ids [batch, seq])` gives `(last_hidden_state,
/// pooler_output)`, token types all 0, every position attended.
#[derive(Debug)]
pub struct Bert {
    word_embeddings: Embedding,
    position_embeddings: Embedding,
    token_type_embeddings: Embedding,
    embeddings_norm: LayerNorm,
    layers: Vec<Layer>,
    pooler: Linear,
    activation: Activation,
}

impl Bert {
    pub fn new(root: &tch::nn::Path, config: BertConfig) -> Bert {
        let (h, eps) = (config.hidden_size, config.layer_norm_eps);
        let emb = root / "embeddings";
        let layers = (0..config.num_hidden_layers)
            .map(|i| {
                let l = root / "encoder" / "layer" / i;
                let (s, o) = (&l / "attention" / "self", &l / "attention" / "output");
                Layer {
                    attention: SelfAttention::separate(
                        Linear::new(&s / "query", h, h),
                        Linear::new(&s / "key", h, h),
                        Linear::new(&s / "value", h, h),
                        Linear::new(&o / "dense", h, h),
                        AttentionConfig::new(h, config.num_attention_heads),
                    ),
                    attention_norm: super::layer_norm(&(&o / "LayerNorm"), h, eps),
                    intermediate: Linear::new(&l / "intermediate" / "dense", h, config.intermediate_size),
                    output: Linear::new(&l / "output" / "dense", config.intermediate_size, h),
                    output_norm: super::layer_norm(&(&l / "output" / "LayerNorm"), h, eps),
                }
            })
            .collect();
        Bert {
            word_embeddings: Embedding::new(&emb / "word_embeddings", config.vocab_size, h),
            position_embeddings: Embedding::new(&emb / "position_embeddings", config.max_position_embeddings, h),
            token_type_embeddings: Embedding::new(&emb / "token_type_embeddings", config.type_vocab_size, h),
            embeddings_norm: super::layer_norm(&(&emb / "LayerNorm"), h, eps),
            layers,
            pooler: super::linear(&(root / "pooler" / "dense"), h, h, true),
            activation: config.activation,
        }
    }

    /// Reads `BertModel` checkpoints and those of its task models (`bert.` prefix; the task
    /// heads under `cls.` skipped), including older ones with `LayerNorm.gamma`/`beta` names and
    /// `position_ids`/`token_type_ids` buffers (skipped: the model computes them).
    pub fn loader() -> Loader {
        Loader::new()
            .skip(|k| k.starts_with("cls.") || k.ends_with("position_ids") || k.ends_with("token_type_ids"))
            .strip_prefix("bert.")
            .replace("LayerNorm.gamma", "LayerNorm.weight")
            .replace("LayerNorm.beta", "LayerNorm.bias")
    }

    #[track_caller]
    pub fn forward(&self, ids: &Tensor) -> (Tensor, Tensor) {
        let t = ids.sym_size().get(1).copied().unwrap_or(tapir::SymInt::from(1));
        let positions = Tensor::arange(t, (tch::Kind::Int64, self.word_embeddings.weight.device()));
        let x = self.word_embeddings.forward(ids) + self.token_type_embeddings.forward(&ids.zeros_like());
        let mut x = self.embeddings_norm.forward(&(x + self.position_embeddings.forward(&positions)));
        for l in &self.layers {
            x = l.attention_norm.forward(&(l.attention.forward(&x) + &x));
            let i = self.activation.forward(&l.intermediate.forward(&x));
            x = l.output_norm.forward(&(l.output.forward(&i) + &x));
        }
        let pooled = self.pooler.forward(&x.select(1, 0)).tanh();
        (x, pooled)
    }
}
