//! Models in the layouts of Hugging Face `transformers`: GPT-2, BERT, LLaMA and ViT with every
//! parameter named as `transformers` names it, and for each a [`tapir_nn::Loader`] that reads
//! its checkpoints as they come (`save_pretrained` directories, `torch.save`d state_dicts, the
//! older hub layouts). Checked against `transformers` itself in `tests/hf.rs`.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use tapir_zoo::hf::{Gpt2, Gpt2Config};
//! let mut vs = tch::nn::VarStore::new(tch::Device::Cpu);
//! let model = Gpt2::new(&vs.root(), Gpt2Config::default());
//! let report = Gpt2::loader().load(&mut vs, "gpt2/")?; // model.safetensors or pytorch_model.bin
//! println!("{report}");
//! let ids = tch::Tensor::from_slice(&[464i64, 2068, 7586]).unsqueeze(0);
//! let traced = tapir::Tracer::new().parameters(&vs).dynamic_dim("input", 1, tapir::Dim::new("seq"))
//!     .trace(|x| model.forward(&x[0]), &[&ids])?;
//! traced.save_onnx("gpt2.onnx", &tapir::ExportOptions::default())?;
//! # Ok(()) }
//! ```

mod bert;
mod gpt2;
mod llama;
mod vit;

pub use bert::{Bert, BertConfig};
pub use gpt2::{Gpt2, Gpt2Config};
pub use llama::{Llama, LlamaConfig};
pub use vit::{Vit, VitConfig};

use tapir_nn::{LayerNorm, Linear};

fn layer_norm(p: &tch::nn::Path, dim: i64, eps: f64) -> LayerNorm {
    LayerNorm::new(p, &[dim], eps)
}

fn linear(p: &tch::nn::Path, i: i64, o: i64, bias: bool) -> Linear {
    Linear::with_bias(p, i, o, bias)
}
