//! embedding: rows of a weight table picked by integer ids.
//!
//! ONNX: Gather(weight, ids) on axis 0.

use super::OpDoc;
use crate::replay::replay1;
use crate::session::record1;
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, DType, Emit, LowerError, Op, Outputs, SourceLocation};

/// Inputs: `[weight, indices]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedding;

impl Op for Embedding {
    replay1!(self, t, out => tch::Tensor::f_embedding(t[0], t[1], -1, false, false));
    tapir_graph::op_name!("embedding");
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let w = cx.input(0);
        let i = emit::input_as(cx, 1, DType::I64);
        emit::one(cx.node("Gather", &[w, i], vec![("axis", Attr::Int(0))]))
    }
}

pub const DOC: OpDoc = OpDoc { name: "embedding", methods: "`embedding`", onnx: "Gather" };

/// `weight[indices]` for a `[num_embeddings, dim]` table and integer `indices` of any shape.
#[track_caller]
pub fn embedding(weight: &Tensor, indices: &Tensor) -> Tensor {
    record1(
        || Embedding,
        &[weight, indices],
        SourceLocation::caller(),
        |t| tch::Tensor::f_embedding(t[0], t[1], -1, false, false),
    )
}
