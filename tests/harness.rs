//! The conformance tests' checks: `tapir::testing`, the verification users' tests get too.
pub use tapir::testing::*;

/// The small `transformers` configurations the Hugging Face tests use (`tests/hf_reference.py`
/// builds the same ones in `transformers`).
pub mod hf_configs {
    use tapir_zoo::hf::{BertConfig, Gpt2Config, LlamaConfig, VitConfig};

    pub fn gpt2_config() -> Gpt2Config {
        Gpt2Config { vocab_size: 100, n_positions: 64, n_embd: 32, n_layer: 2, n_head: 4, ..Default::default() }
    }

    pub fn bert_config() -> BertConfig {
        BertConfig {
            vocab_size: 100,
            hidden_size: 32,
            num_hidden_layers: 2,
            num_attention_heads: 4,
            intermediate_size: 64,
            max_position_embeddings: 64,
            ..Default::default()
        }
    }

    pub fn llama_config() -> LlamaConfig {
        LlamaConfig {
            vocab_size: 100,
            hidden_size: 32,
            intermediate_size: 64,
            num_hidden_layers: 2,
            num_attention_heads: 4,
            num_key_value_heads: 2,
            ..Default::default()
        }
    }

    pub fn vit_config() -> VitConfig {
        VitConfig {
            hidden_size: 32,
            num_hidden_layers: 2,
            num_attention_heads: 4,
            intermediate_size: 64,
            image_size: 32,
            patch_size: 8,
            ..Default::default()
        }
    }
}
