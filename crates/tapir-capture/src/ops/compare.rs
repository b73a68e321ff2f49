//! Elementwise comparisons producing bool tensors: eq, ne, lt, le, gt, ge.
//!
//! ONNX: Equal, Less, LessOrEqual, Greater, GreaterOrEqual (LessOrEqual/GreaterOrEqual since 12);
//! ne is `Not(Equal)`. Both inputs are cast to their promoted dtype first, as torch compares;
//! bools are compared with Xor (eq, ne) or as uint8 (the ordering comparisons).

use super::{OpDoc, Operand};
use crate::replay::replay1;
use crate::session::record1;
use crate::tensor::Tensor;
use tapir_graph::{emit, DType, Emit, LowerError, Op, Outputs, SourceLocation};

/// Both inputs in their promoted dtype. The ordering comparisons have no bool form in ONNX, so
/// bools are compared as uint8 (false < true, as torch orders them).
fn promoted_inputs(cx: &mut dyn Emit) -> [tapir_graph::Sym; 2] {
    let mut common = cx.input_meta(0).dtype.promote(cx.input_meta(1).dtype);
    if common == DType::Bool {
        common = DType::U8;
    }
    [emit::input_as(cx, 0, common), emit::input_as(cx, 1, common)]
}

/// Equality of two bool tensors: `Xor` (for `ne`), `Not(Xor)` (for `eq`). Equal accepts bool in
/// ONNX, but not every runtime implements it (tract does not), and Xor is one node.
fn bool_equality(cx: &mut dyn Emit, negate: bool) -> Option<Result<Outputs, LowerError>> {
    if cx.input_meta(0).dtype != DType::Bool || cx.input_meta(1).dtype != DType::Bool {
        return None;
    }
    let (a, b) = (cx.input(0), cx.input(1));
    let differ = cx.node("Xor", &[a, b], vec![]);
    Some(emit::one(if negate { differ } else { cx.node("Not", &[differ], vec![]) }))
}

macro_rules! compare_op {
    ($ty:ident, $doc:ident, $name:literal, $onnx:literal, $method:ident, $eager:ident, $negate:literal) => {
        #[derive(Debug, Clone, PartialEq)]
        pub struct $ty;

        impl Op for $ty {
            replay1!(self, t, out => t[0].$eager(t[1]));
            tapir_graph::op_name!($name);
            fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
                if $onnx == "Equal" {
                    if let Some(done) = bool_equality(cx, $negate) {
                        return done;
                    }
                }
                let ins = promoted_inputs(cx);
                let r = cx.node($onnx, &ins, vec![]);
                emit::one(if $negate { cx.node("Not", &[r], vec![]) } else { r })
            }
        }

        pub const $doc: OpDoc = OpDoc {
            name: $name,
            methods: concat!("`", stringify!($method), "`"),
            onnx: if $negate { concat!($onnx, ", Not") } else { $onnx },
        };

        impl Tensor {
            #[doc = concat!("Elementwise `", $name, "` comparison; `other` is a tensor or a Rust number.")]
            #[track_caller]
            pub fn $method<'a>(&self, other: impl Into<Operand<'a>>) -> Tensor {
                let location = SourceLocation::caller();
                let other = other.into().tensor_next_to(self);
                record1(|| $ty, &[self, &other], location, |t| t[0].$eager(t[1]))
            }
        }
    };
}

compare_op!(Eq, EQ, "eq", "Equal", eq, f_eq_tensor, false);
compare_op!(Ne, NE, "ne", "Equal", ne, f_eq_tensor_ne, true);
compare_op!(Lt, LT, "lt", "Less", lt, f_lt_tensor, false);
compare_op!(Le, LE, "le", "LessOrEqual", le, f_le_tensor, false);
compare_op!(Gt, GT, "gt", "Greater", gt, f_gt_tensor, false);
compare_op!(Ge, GE, "ge", "GreaterOrEqual", ge, f_ge_tensor, false);

/// tch's `ne` on tensors, named to fit the macro.
trait NeTensor {
    fn f_eq_tensor_ne(&self, other: &tch::Tensor) -> Result<tch::Tensor, tch::TchError>;
}

impl NeTensor for tch::Tensor {
    fn f_eq_tensor_ne(&self, other: &tch::Tensor) -> Result<tch::Tensor, tch::TchError> {
        self.f_ne_tensor(other)
    }
}
