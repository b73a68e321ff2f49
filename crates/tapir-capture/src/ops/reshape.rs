//! Reshape, view, flatten: a new shape for the same elements in row-major order.
//!
//! ONNX: Reshape with the observed output shape as a constant (opset 13; no `allowzero`), so
//! `-1` in the request is already resolved.

use super::OpDoc;
use crate::replay::replay1;
use crate::session::record1;
use crate::tensor::Tensor;
use tapir_graph::{emit, Emit, LowerError, Op, Outputs, SourceLocation};

#[derive(Debug, Clone, PartialEq)]
pub struct Reshape;

impl Op for Reshape {
    replay1!(self, t, out => t[0].f_reshape(out[0].shape.as_slice()));
    tapir_graph::op_name!("reshape");
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let shape = cx.output_meta(0).shape.clone();
        let x = cx.input(0);
        emit::one(emit::reshape(cx, x, &shape))
    }
}

pub const DOC: OpDoc = OpDoc { name: "reshape", methods: "`reshape`, `view`, `flatten`", onnx: "Reshape" };

impl Tensor {
    /// A tensor with the same data and shape `shape` (one entry may be `-1`).
    #[track_caller]
    pub fn reshape(&self, shape: &[i64]) -> Tensor {
        record1(|| Reshape, &[self], SourceLocation::caller(), |t| t[0].f_reshape(shape))
    }

    /// Same as [`Tensor::reshape`] (tapir does not distinguish views).
    #[track_caller]
    pub fn view(&self, shape: &[i64]) -> Tensor {
        self.reshape(shape)
    }

    /// Flattens dimensions `start_dim..=end_dim` into one.
    #[track_caller]
    pub fn flatten(&self, start_dim: i64, end_dim: i64) -> Tensor {
        record1(|| Reshape, &[self], SourceLocation::caller(), |t| t[0].f_flatten(start_dim, end_dim))
    }
}
