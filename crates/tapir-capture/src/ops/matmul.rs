//! Matrix product with numpy broadcasting over batch dimensions.
//!
//! ONNX: MatMul (opset 13: https://onnx.ai/onnx/operators/onnx__MatMul.html).

use super::OpDoc;
use crate::replay::replay1;
use crate::session::record1;
use crate::tensor::Tensor;
use tapir_graph::{emit, Emit, LowerError, Op, Outputs, SourceLocation};

#[derive(Debug, Clone, PartialEq)]
pub struct Matmul;

impl Op for Matmul {
    replay1!(self, t, out => t[0].f_matmul(t[1]));
    tapir_graph::op_name!("matmul");
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let out = cx.output_meta(0).dtype;
        let a = emit::input_as(cx, 0, out);
        let b = emit::input_as(cx, 1, out);
        emit::one(cx.node("MatMul", &[a, b], vec![]))
    }
}

pub const DOC: OpDoc = OpDoc { name: "matmul", methods: "`matmul`", onnx: "MatMul" };

impl Tensor {
    /// Matrix product, as `torch.matmul`.
    #[track_caller]
    pub fn matmul(&self, other: &Tensor) -> Tensor {
        record1(|| Matmul, &[self, other], SourceLocation::caller(), |t| t[0].f_matmul(t[1]))
    }
}
