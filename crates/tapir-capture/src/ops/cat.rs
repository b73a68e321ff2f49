//! cat: join tensors along an existing dimension.
//!
//! ONNX: Concat with `axis` (https://onnx.ai/onnx/operators/onnx__Concat.html); inputs are cast
//! to the promoted output dtype first.

use super::OpDoc;
use crate::replay::replay1;
use crate::session::record1;
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, Emit, LowerError, Op, Outputs, SourceLocation};

#[derive(Debug, Clone, PartialEq)]
pub struct Cat {
    pub dim: i64,
}

impl Op for Cat {
    replay1!(self, t, out => tch::Tensor::f_cat(t, self.dim));
    tapir_graph::op_name!("cat");
    fn describe(&self) -> String {
        format!("dim={}", self.dim)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let out = cx.output_meta(0).dtype;
        let rank = cx.output_meta(0).rank();
        // torch skips legacy empty tensors (shape [0]) among inputs of another rank; ONNX's
        // Concat wants one rank, so they are left out.
        let kept: Vec<usize> =
            (0..cx.num_inputs()).filter(|&i| rank == 1 || cx.input_meta(i).shape.as_slice() != [0]).collect();
        let ins: Vec<_> = kept.into_iter().map(|i| emit::input_as(cx, i, out)).collect();
        emit::one(cx.node("Concat", &ins, vec![("axis", Attr::Int(self.dim))]))
    }
}

pub const DOC: OpDoc = OpDoc { name: "cat", methods: "`Tensor::cat`", onnx: "Concat" };

impl Tensor {
    /// Concatenates `tensors` along `dim`.
    #[track_caller]
    pub fn cat(tensors: &[&Tensor], dim: i64) -> Tensor {
        let op = || Cat { dim: tensors.first().map_or(dim, |t| t.norm_dim(dim)) };
        record1(op, tensors, SourceLocation::caller(), |t| tch::Tensor::f_cat(t, dim))
    }
}
