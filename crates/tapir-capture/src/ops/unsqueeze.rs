//! unsqueeze: insert a size-1 dimension.
//!
//! ONNX: Unsqueeze with axes as an input (opset 13+).

use super::OpDoc;
use crate::replay::replay1;
use crate::session::record1;
use crate::tensor::Tensor;
use tapir_graph::{emit, Emit, LowerError, Op, Outputs, SourceLocation};

#[derive(Debug, Clone, PartialEq)]
pub struct Unsqueeze {
    /// Position of the new dimension in the output (non-negative).
    pub dim: i64,
}

impl Op for Unsqueeze {
    replay1!(self, t, out => t[0].f_unsqueeze(self.dim));
    tapir_graph::op_name!("unsqueeze");
    fn describe(&self) -> String {
        format!("dim={}", self.dim)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let x = cx.input(0);
        emit::one(emit::unsqueeze(cx, x, &[self.dim]))
    }
}

pub const DOC: OpDoc = OpDoc { name: "unsqueeze", methods: "`unsqueeze`", onnx: "Unsqueeze" };

impl Tensor {
    /// Inserts a dimension of size 1 at `dim` (negative counts from the end of the result).
    #[track_caller]
    pub fn unsqueeze(&self, dim: i64) -> Tensor {
        let op = || Unsqueeze { dim: if dim < 0 { dim + self.dim() as i64 + 1 } else { dim } };
        record1(op, &[self], SourceLocation::caller(), |t| t[0].f_unsqueeze(dim))
    }
}
