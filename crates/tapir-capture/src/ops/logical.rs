//! Logical and, or, xor, not. Inputs of any dtype count as true when non-zero, as in torch.
//!
//! ONNX: And, Or, Xor, Not (bool only, opset 7+), so inputs are cast to bool first.

use super::OpDoc;
use crate::replay::replay1;
use crate::session::record1;
use crate::tensor::Tensor;
use tapir_graph::{emit, DType, Emit, LowerError, Op, Outputs, SourceLocation};

macro_rules! logical_op {
    ($ty:ident, $doc:ident, $name:literal, $onnx:literal, $method:ident, $eager:ident) => {
        #[derive(Debug, Clone, PartialEq)]
        pub struct $ty;

        impl Op for $ty {
            replay1!(self, t, out => t[0].$eager(t[1]));
            tapir_graph::op_name!($name);
            fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
                let a = emit::input_as(cx, 0, DType::Bool);
                let b = emit::input_as(cx, 1, DType::Bool);
                emit::one(cx.node($onnx, &[a, b], vec![]))
            }
        }

        pub const $doc: OpDoc =
            OpDoc { name: $name, methods: concat!("`", stringify!($method), "`"), onnx: $onnx };

        impl Tensor {
            #[doc = concat!("Elementwise `", $name, "`.")]
            #[track_caller]
            pub fn $method(&self, other: &Tensor) -> Tensor {
                record1(|| $ty, &[self, other], SourceLocation::caller(), |t| t[0].$eager(t[1]))
            }
        }
    };
}

logical_op!(And, AND, "logical_and", "And", logical_and, f_logical_and);
logical_op!(Or, OR, "logical_or", "Or", logical_or, f_logical_or);
logical_op!(Xor, XOR, "logical_xor", "Xor", logical_xor, f_logical_xor);

#[derive(Debug, Clone, PartialEq)]
pub struct Not;

impl Op for Not {
    replay1!(self, t, out => t[0].f_logical_not());
    tapir_graph::op_name!("logical_not");
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let a = emit::input_as(cx, 0, DType::Bool);
        emit::one(cx.node("Not", &[a], vec![]))
    }
}

pub const NOT: OpDoc = OpDoc { name: "logical_not", methods: "`logical_not`", onnx: "Not" };

impl Tensor {
    /// Elementwise logical not.
    #[track_caller]
    pub fn logical_not(&self) -> Tensor {
        record1(|| Not, &[self], SourceLocation::caller(), |t| t[0].f_logical_not())
    }
}
