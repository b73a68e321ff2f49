//! embedding: rows of a weight table picked by integer ids.
//!
//! ONNX: Gather(weight, ids) on axis 0.

use super::{SymDims, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, DType, Emit, LowerError, Outputs};

/// Inputs: `[weight, indices]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedding;

impl OpDef for Embedding {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        let (w, ids) = (inputs.first()?, inputs.get(1)?);
        let mut out = ids.clone();
        out.push(*w.last()?);
        Some(vec![out])
    }
    fn name(&self) -> &'static str {
        "embedding"
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        tch::Tensor::f_embedding(t[0], t[1], -1, false, false)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let w = cx.input(0);
        let i = emit::input_as(cx, 1, DType::I64);
        emit::one(cx.node("Gather", &[w, i], vec![("axis", Attr::Int(0))]))
    }
}

pub(super) const DOCS: &[OpDoc] = &[OpDoc { name: "embedding", methods: "`Tensor::embedding`, `tapir::embedding`" }];

impl Tensor {
    /// `weight[indices]` (tch's `Tensor::embedding`; `padding_idx`, `scale_grad_by_freq` and
    /// `sparse` only change gradients, not values).
    #[track_caller]
    pub fn embedding(weight: &Tensor, indices: &Tensor, padding_idx: i64, scale_grad_by_freq: bool, sparse: bool) -> Tensor {
        let _ = (padding_idx, scale_grad_by_freq, sparse);
        record(Embedding, &[weight, indices])
    }
}

/// `weight[indices]` for a `[num_embeddings, dim]` table and integer `indices` of any shape.
#[track_caller]
pub fn embedding(weight: &Tensor, indices: &Tensor) -> Tensor {
    record(Embedding, &[weight, indices])
}
