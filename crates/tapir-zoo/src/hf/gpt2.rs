//! GPT-2 (`GPT2LMHeadModel`).

use tapir::Tensor;
use tapir_nn::{Activation, AttentionConfig, Embedding, HfConv1D, LayerNorm, Loader, Module, SelfAttention};

/// `GPT2Config`'s fields that shape the model (defaults: GPT-2 small).
#[derive(Debug, Clone)]
pub struct Gpt2Config {
    pub vocab_size: i64,
    pub n_positions: i64,
    pub n_embd: i64,
    pub n_layer: i64,
    pub n_head: i64,
    pub layer_norm_epsilon: f64,
    /// `activation_function`: GPT-2's `gelu_new` is the tanh approximation.
    pub activation: Activation,
}

impl Default for Gpt2Config {
    fn default() -> Self {
        Gpt2Config {
            vocab_size: 50257,
            n_positions: 1024,
            n_embd: 768,
            n_layer: 12,
            n_head: 12,
            layer_norm_epsilon: 1e-5,
            activation: Activation::GeluTanh,
        }
    }
}

#[derive(Debug)]
struct Block {
    ln_1: LayerNorm,
    attn: SelfAttention,
    ln_2: LayerNorm,
    c_fc: HfConv1D,
    c_proj: HfConv1D,
}

/// GPT-2 with its language-model head tied to the token embedding: `forward(ids [batch, seq])`
/// gives logits `[batch, seq, vocab]`. Parameters under `transformer.`, as `transformers` names
/// them; the head is `transformer.wte.weight` used twice.
#[derive(Debug)]
pub struct Gpt2 {
    wte: Embedding,
    wpe: Embedding,
    h: Vec<Block>,
    ln_f: LayerNorm,
    activation: Activation,
}

impl Gpt2 {
    pub fn new(root: &tch::nn::Path, config: Gpt2Config) -> Gpt2 {
        let p = root / "transformer";
        let (e, eps) = (config.n_embd, config.layer_norm_epsilon);
        let h = (0..config.n_layer)
            .map(|i| {
                let b = &p / "h" / i;
                Block {
                    ln_1: super::layer_norm(&(&b / "ln_1"), e, eps),
                    attn: SelfAttention::fused(
                        HfConv1D::new(&b / "attn" / "c_attn", e, 3 * e),
                        HfConv1D::new(&b / "attn" / "c_proj", e, e),
                        AttentionConfig::new(e, config.n_head).causal(),
                    ),
                    ln_2: super::layer_norm(&(&b / "ln_2"), e, eps),
                    c_fc: HfConv1D::new(&b / "mlp" / "c_fc", e, 4 * e),
                    c_proj: HfConv1D::new(&b / "mlp" / "c_proj", 4 * e, e),
                }
            })
            .collect();
        Gpt2 {
            wte: Embedding::new(&p / "wte", config.vocab_size, e),
            wpe: Embedding::new(&p / "wpe", config.n_positions, e),
            h,
            ln_f: super::layer_norm(&(&p / "ln_f"), e, eps),
            activation: config.activation,
        }
    }

    /// Reads `transformers` checkpoints: the current layout (`transformer.` prefix, `lm_head.weight`
    /// tied to `transformer.wte.weight`) and the original hub layout (no prefix, `attn.bias` and
    /// `attn.masked_bias` mask buffers, which the model computes and are skipped).
    pub fn loader() -> Loader {
        Loader::new()
            .skip(|k| k.ends_with(".attn.bias") || k.ends_with(".attn.masked_bias"))
            .rename(|k| {
                if k.starts_with("transformer.") || k.starts_with("lm_head.") {
                    k.to_owned()
                } else {
                    format!("transformer.{k}")
                }
            })
            .tie("lm_head.weight", "transformer.wte.weight")
    }

    #[track_caller]
    pub fn forward(&self, ids: &Tensor) -> Tensor {
        let t = ids.sym_size().get(1).copied().unwrap_or(tapir::SymInt::from(1));
        let positions = Tensor::arange(t, (tch::Kind::Int64, self.wte.weight.device()));
        let mut x = self.wte.forward(ids) + self.wpe.forward(&positions);
        for b in &self.h {
            x = &x + b.attn.forward(&b.ln_1.forward(&x));
            let m = b.c_proj.forward(&self.activation.forward(&b.c_fc.forward(&b.ln_2.forward(&x))));
            x = &x + m;
        }
        let x = self.ln_f.forward(&x);
        let _scope = tapir::enter_scope_path("lm_head");
        x.linear(&tapir_nn::param(&self.wte.weight), None::<&Tensor>)
    }
}
