//! Logical and, or, xor, not. Inputs of any dtype count as true when non-zero, as in torch.
//!
//! ONNX: And, Or, Xor, Not (bool only, opset 7+), so inputs are cast to bool first.

use super::{SymDims, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, DType, Emit, LowerError, Outputs};

macro_rules! logical_op {
    ($ty:ident, $doc:ident, $name:literal, $onnx:literal, $method:ident, $eager:ident) => {
        #[derive(Debug, Clone, PartialEq)]
        pub struct $ty;

        impl OpDef for $ty {
            type Output = tch::Tensor;
            fn dtypes(&self, _: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
                super::dtype::one(tapir_graph::DType::Bool)
            }
            fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
                super::shape::broadcast(inputs)
            }
            fn name(&self) -> &'static str {
                $name
            }
            fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
                t[0].$eager(t[1])
            }
            fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
                let a = emit::input_as(cx, 0, DType::Bool);
                let b = emit::input_as(cx, 1, DType::Bool);
                emit::one(cx.node($onnx, &[a, b], vec![]))
            }
        }

        const $doc: OpDoc = OpDoc { name: $name, methods: concat!("`", stringify!($method), "`") };

        impl Tensor {
            #[doc = concat!("Elementwise `", $name, "`.")]
            #[track_caller]
            pub fn $method(&self, other: &Tensor) -> Tensor {
                record($ty, &[self, other])
            }
        }
    };
}

logical_op!(And, AND, "logical_and", "And", logical_and, f_logical_and);
logical_op!(Or, OR, "logical_or", "Or", logical_or, f_logical_or);
logical_op!(Xor, XOR, "logical_xor", "Xor", logical_xor, f_logical_xor);

#[derive(Debug, Clone, PartialEq)]
pub struct Not;

impl OpDef for Not {
    type Output = tch::Tensor;
    fn dtypes(&self, _: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::one(tapir_graph::DType::Bool)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        super::shape::same(inputs)
    }
    fn name(&self) -> &'static str {
        "logical_not"
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        t[0].f_logical_not()
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let a = emit::input_as(cx, 0, DType::Bool);
        emit::one(cx.node("Not", &[a], vec![]))
    }
}

const NOT: OpDoc = OpDoc { name: "logical_not", methods: "`logical_not`" };

pub(super) const DOCS: &[OpDoc] = &[AND, OR, XOR, NOT];

impl Tensor {
    /// Elementwise logical not.
    #[track_caller]
    pub fn logical_not(&self) -> Tensor {
        record(Not, &[self])
    }
}
