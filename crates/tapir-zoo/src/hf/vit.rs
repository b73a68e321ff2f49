//! ViT (`ViTModel`).

use tapir::Tensor;
use tapir_nn::{Activation, AttentionConfig, Conv2d, ConvConfig, LayerNorm, Linear, Loader, Module, SelfAttention};

/// `ViTConfig`'s fields that shape the model (defaults: ViT-Base/16 at 224).
#[derive(Debug, Clone)]
pub struct VitConfig {
    pub hidden_size: i64,
    pub num_hidden_layers: i64,
    pub num_attention_heads: i64,
    pub intermediate_size: i64,
    pub image_size: i64,
    pub patch_size: i64,
    pub num_channels: i64,
    pub layer_norm_eps: f64,
    pub qkv_bias: bool,
    pub activation: Activation,
}

impl Default for VitConfig {
    fn default() -> Self {
        VitConfig {
            hidden_size: 768,
            num_hidden_layers: 12,
            num_attention_heads: 12,
            intermediate_size: 3072,
            image_size: 224,
            patch_size: 16,
            num_channels: 3,
            layer_norm_eps: 1e-12,
            qkv_bias: true,
            activation: Activation::Gelu,
        }
    }
}

#[derive(Debug)]
struct Layer {
    layernorm_before: LayerNorm,
    attention: SelfAttention,
    layernorm_after: LayerNorm,
    fc1: Linear,
    fc2: Linear,
}

/// ViT with its pooler: `forward(pixels [batch, channels, size, size])` gives
/// `(last_hidden_state, pooler_output)`.
#[derive(Debug)]
pub struct Vit {
    cls_token: tch::Tensor,
    position_embeddings: tch::Tensor,
    projection: Conv2d,
    layers: Vec<Layer>,
    layernorm: LayerNorm,
    pooler: Linear,
    activation: Activation,
    hidden_size: i64,
}

impl Vit {
    pub fn new(root: &tch::nn::Path, config: VitConfig) -> Vit {
        let (h, eps) = (config.hidden_size, config.layer_norm_eps);
        let emb = root / "embeddings";
        let patches = (config.image_size / config.patch_size).pow(2);
        let init = tch::nn::Init::Randn { mean: 0.0, stdev: 0.02 };
        let conv = ConvConfig { stride: config.patch_size, ..Default::default() };
        let layers = (0..config.num_hidden_layers)
            .map(|i| {
                let l = root / "layers" / i;
                let a = &l / "attention";
                Layer {
                    layernorm_before: super::layer_norm(&(&l / "layernorm_before"), h, eps),
                    attention: SelfAttention::separate(
                        super::linear(&(&a / "q_proj"), h, h, config.qkv_bias),
                        super::linear(&(&a / "k_proj"), h, h, config.qkv_bias),
                        super::linear(&(&a / "v_proj"), h, h, config.qkv_bias),
                        super::linear(&(&a / "o_proj"), h, h, true),
                        AttentionConfig::new(h, config.num_attention_heads),
                    ),
                    layernorm_after: super::layer_norm(&(&l / "layernorm_after"), h, eps),
                    fc1: Linear::new(&l / "mlp" / "fc1", h, config.intermediate_size),
                    fc2: Linear::new(&l / "mlp" / "fc2", config.intermediate_size, h),
                }
            })
            .collect();
        Vit {
            cls_token: tapir_nn::var(&emb, "cls_token", &[1, 1, h], init),
            position_embeddings: tapir_nn::var(&emb, "position_embeddings", &[1, patches + 1, h], init),
            projection: Conv2d::new(
                &emb / "patch_embeddings" / "projection",
                config.num_channels,
                h,
                config.patch_size,
                conv,
            ),
            layers,
            layernorm: super::layer_norm(&(root / "layernorm"), h, eps),
            pooler: Linear::new(root / "pooler" / "dense", h, h),
            activation: config.activation,
            hidden_size: h,
        }
    }

    /// Reads `ViTModel` checkpoints in the layout of `transformers` 5 and in the older one
    /// (`vit.` prefix, `encoder.layer.N.attention.attention.query`, `intermediate.dense`,
    /// `output.dense`), renamed to the current names; a classifier head is skipped.
    pub fn loader() -> Loader {
        Loader::new()
            .skip(|k| k.starts_with("classifier."))
            .strip_prefix("vit.")
            .replace("encoder.layer.", "layers.")
            .replace("attention.attention.query", "attention.q_proj")
            .replace("attention.attention.key", "attention.k_proj")
            .replace("attention.attention.value", "attention.v_proj")
            .replace("attention.output.dense", "attention.o_proj")
            .replace("intermediate.dense", "mlp.fc1")
            .replace(".output.dense", ".mlp.fc2")
    }

    #[track_caller]
    pub fn forward(&self, pixels: &Tensor) -> (Tensor, Tensor) {
        let b = pixels.sym_size().first().copied().unwrap_or(tapir::SymInt::from(1));
        let patches = self.projection.forward(pixels).flatten(2, -1).transpose(1, 2);
        let cls = tapir_nn::param(&self.cls_token).expand((b, 1, self.hidden_size), false);
        let mut x = Tensor::cat(&[cls, patches], 1) + tapir_nn::param(&self.position_embeddings);
        for l in &self.layers {
            x = &x + l.attention.forward(&l.layernorm_before.forward(&x));
            x = &x + l.fc2.forward(&self.activation.forward(&l.fc1.forward(&l.layernorm_after.forward(&x))));
        }
        let x = self.layernorm.forward(&x);
        let pooled = self.pooler.forward(&x.select(1, 0)).tanh();
        (x, pooled)
    }
}
