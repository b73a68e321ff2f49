//! select: one index along a dimension, which disappears.
//!
//! ONNX: Gather with a 0-D index constant (drops the axis; negative indices allowed since 11).

use super::OpDoc;
use crate::replay::replay1;
use crate::session::record1;
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, DType, Emit, LowerError, Op, Outputs, SourceLocation};

#[derive(Debug, Clone, PartialEq)]
pub struct Select {
    pub dim: i64,
    pub index: i64,
}

impl Op for Select {
    replay1!(self, t, out => t[0].f_select(self.dim, self.index));
    tapir_graph::op_name!("select");
    fn describe(&self) -> String {
        format!("dim={}, index={}", self.dim, self.index)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let x = cx.input(0);
        let i = cx.const_scalar(DType::I64, self.index as f64);
        emit::one(cx.node("Gather", &[x, i], vec![("axis", Attr::Int(self.dim))]))
    }
}

pub const DOC: OpDoc = OpDoc { name: "select", methods: "`select`", onnx: "Gather" };

impl Tensor {
    /// The slice at `index` along `dim`, without that dimension.
    #[track_caller]
    pub fn select(&self, dim: i64, index: i64) -> Tensor {
        let op = || Select { dim: self.norm_dim(dim), index };
        record1(op, &[self], SourceLocation::caller(), |t| t[0].f_select(dim, index))
    }
}
