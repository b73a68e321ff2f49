//! `Embedding` (PyTorch `nn.Embedding`): `weight [num_embeddings, dim]`, initialized N(0, 1).

use crate::{dotted, param, Module};
use tapir::Tensor;

#[derive(Debug)]
pub struct Embedding {
    pub weight: tch::Tensor,
    path: String,
}

impl Embedding {
    pub fn new<'a>(p: impl std::borrow::Borrow<tch::nn::Path<'a>>, num_embeddings: i64, dim: i64) -> Self {
        let p = p.borrow();
        Embedding {
            weight: crate::var(p, "weight", &[num_embeddings, dim], tch::nn::Init::Randn { mean: 0.0, stdev: 1.0 }),
            path: dotted(p),
        }
    }
}

/// tch's `nn::embedding` (`padding_idx`, `sparse` and `scale_grad_by_freq` only change
/// gradients, not values).
pub fn embedding<'a>(
    vs: impl std::borrow::Borrow<tch::nn::Path<'a>>,
    num_embeddings: i64,
    embedding_dim: i64,
    config: tch::nn::EmbeddingConfig,
) -> Embedding {
    let p = vs.borrow();
    Embedding { weight: crate::var(p, "weight", &[num_embeddings, embedding_dim], config.ws_init), path: dotted(p) }
}

impl Module for Embedding {
    /// Rows of the table for integer ids of any shape.
    #[track_caller]
    fn forward(&self, ids: &Tensor) -> Tensor {
        let _scope = tapir::enter_scope_path(&self.path);
        tapir::embedding(&param(&self.weight), ids)
    }
}
