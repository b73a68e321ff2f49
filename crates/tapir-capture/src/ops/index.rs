//! Indexing with an integer tensor: `index_select` along a dimension, and `index` (advanced
//! indexing on the first dimension, `x[idx]` in Python).
//!
//! ONNX: Gather along the dimension (indices of any shape; negative indices allowed).

use super::OpDoc;
use crate::replay::replay1;
use crate::session::record1;
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, DType, Emit, LowerError, Op, Outputs, SourceLocation};

/// Inputs: `[x, indices]`.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexSelect {
    pub dim: i64,
    /// Recorded by `index` (advanced indexing, indices of any shape) rather than `index_select`.
    pub advanced: bool,
}

impl Op for IndexSelect {
    replay1!(self, t, out => if self.advanced { t[0].f_index(&[Some(t[1])]) } else { t[0].f_index_select(self.dim, t[1]) });
    tapir_graph::op_name!("index_select");
    fn describe(&self) -> String {
        format!("dim={}", self.dim)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let i = emit::input_as(cx, 1, DType::I64);
        emit::rank0_as_rank1(cx, |cx, x| emit::one(cx.node("Gather", &[x, i], vec![("axis", Attr::Int(self.dim))])))
    }
}

pub const DOC: OpDoc = OpDoc { name: "index_select", methods: "`index_select`, `index`", onnx: "Gather" };

impl Tensor {
    /// Entries at `indices` (1-D, integer) along `dim`.
    #[track_caller]
    pub fn index_select(&self, dim: i64, indices: &Tensor) -> Tensor {
        let op = || IndexSelect { dim: self.norm_dim(dim), advanced: false };
        record1(op, &[self, indices], SourceLocation::caller(), |t| t[0].f_index_select(dim, t[1]))
    }

    /// `self[indices]`: rows picked by an integer tensor of any shape.
    #[track_caller]
    pub fn index(&self, indices: &Tensor) -> Tensor {
        record1(
            || IndexSelect { dim: 0, advanced: true },
            &[self, indices],
            SourceLocation::caller(),
            |t| t[0].f_index(&[Some(t[1])]),
        )
    }
}
