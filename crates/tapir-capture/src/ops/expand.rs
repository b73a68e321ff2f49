//! expand: broadcast size-1 dimensions (and new leading ones) to a larger shape.
//!
//! ONNX: Expand with the observed output shape as a constant (opset 13).

use super::OpDoc;
use crate::replay::replay1;
use crate::session::record1;
use crate::tensor::Tensor;
use tapir_graph::{emit, Emit, LowerError, Op, Outputs, SourceLocation};

#[derive(Debug, Clone, PartialEq)]
pub struct Expand;

impl Op for Expand {
    replay1!(self, t, out => t[0].f_expand(out[0].shape.as_slice(), false));
    tapir_graph::op_name!("expand");
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let shape = cx.output_meta(0).shape.clone();
        let x = cx.input(0);
        let s = cx.const_i64s(&shape);
        emit::one(cx.node("Expand", &[x, s], vec![]))
    }
}

pub const DOC: OpDoc = OpDoc { name: "expand", methods: "`expand`", onnx: "Expand" };

impl Tensor {
    /// Broadcasts to `size` (`-1` keeps a dimension).
    #[track_caller]
    pub fn expand(&self, size: &[i64]) -> Tensor {
        record1(|| Expand, &[self], SourceLocation::caller(), |t| t[0].f_expand(size, false))
    }
}
