//! Elementwise comparisons producing bool tensors: eq, ne, lt, le, gt, ge, against a tensor or
//! a Rust number (an attribute of the op, typed as torch types a Python scalar).
//!
//! ONNX: Equal, Less, LessOrEqual, Greater, GreaterOrEqual; ne is `Not(Equal)`. Both sides are
//! cast to their promoted dtype first, as torch compares; bools are compared with Xor (eq, ne)
//! or as uint8 (the ordering comparisons).

use super::{SymDims, lowering, OpDef, OpDoc, Operand};
use crate::define::record;
use crate::tensor::{Scalar, Tensor};
use tapir_graph::{emit, DType, Emit, LowerError, Outputs, Sym};

/// Both sides in their promoted dtype. The ordering comparisons have no bool form in ONNX, so
/// bools are compared as uint8 (false < true, as torch orders them).
fn promoted_inputs(cx: &mut dyn Emit, scalar: Option<Scalar>, ordering: bool) -> [Sym; 2] {
    let a = cx.input_meta(0).dtype;
    let b = match scalar {
        Some(s) => s.dtype_next_to(a),
        None => cx.input_meta(1).dtype,
    };
    let mut common = a.promote(b);
    if common == DType::Bool && ordering {
        common = DType::U8;
    }
    let x = emit::input_as(cx, 0, common);
    let y = match scalar {
        Some(s) => lowering::scalar(cx, common, s),
        None => emit::input_as(cx, 1, common),
    };
    [x, y]
}

macro_rules! compare_op {
    ($ty:ident, $doc:ident, $name:literal, $onnx:literal, $method:ident, $eager:ident, $eager_scalar:ident, $negate:literal) => {
        /// Inputs: `[a, b]`, or `[a]` with `scalar` as `b`.
        #[derive(Debug, Clone, PartialEq)]
        pub struct $ty {
            pub scalar: Option<Scalar>,
        }

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
            fn describe(&self) -> String {
                self.scalar.map(|s| format!("other={s}")).unwrap_or_default()
            }
            fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
                match self.scalar {
                    Some(s) => t[0].$eager_scalar(s.to_tch_scalar()),
                    None => t[0].$eager(t[1]),
                }
            }
            fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
                let [a, b] = promoted_inputs(cx, self.scalar, $onnx != "Equal");
                // Bools: Equal accepts them in ONNX, but not every runtime implements it (tract
                // does not); Xor is one node.
                let bools = $onnx == "Equal" && cx.input_meta(0).dtype == DType::Bool
                    && self.scalar.map_or(cx.input_meta(1).dtype == DType::Bool, |s| matches!(s, Scalar::Bool(_)));
                if bools {
                    let differ = cx.node("Xor", &[a, b], vec![]);
                    return emit::one(if $negate { differ } else { cx.node("Not", &[differ], vec![]) });
                }
                let r = cx.node($onnx, &[a, b], vec![]);
                emit::one(if $negate { cx.node("Not", &[r], vec![]) } else { r })
            }
        }

        const $doc: OpDoc = OpDoc { name: $name, methods: concat!("`", stringify!($method), "`, `", stringify!($method), "_tensor`") };

        impl Tensor {
            #[doc = concat!("Elementwise `", $name, "` comparison; `other` is a tensor or a Rust number.")]
            #[track_caller]
            pub fn $method<'a>(&self, other: impl Into<Operand<'a>>) -> Tensor {
                match other.into() {
                    Operand::Scalar(s) => record($ty { scalar: Some(s) }, &[self]),
                    Operand::Tensor(o) => record($ty { scalar: None }, &[self, o]),
                }
            }
        }
    };
}

compare_op!(Eq, EQ, "eq", "Equal", eq, f_eq_tensor, f_eq, false);
compare_op!(Ne, NE, "ne", "Equal", ne, f_ne_tensor, f_ne, true);
compare_op!(Lt, LT, "lt", "Less", lt, f_lt_tensor, f_lt, false);
compare_op!(Le, LE, "le", "LessOrEqual", le, f_le_tensor, f_le, false);
compare_op!(Gt, GT, "gt", "Greater", gt, f_gt_tensor, f_gt, false);
compare_op!(Ge, GE, "ge", "GreaterOrEqual", ge, f_ge_tensor, f_ge, false);

pub(super) const DOCS: &[OpDoc] = &[EQ, NE, LT, LE, GT, GE];

/// tch's names for the comparisons with a tensor (`eq_tensor`, ...).
macro_rules! tensor_compare {
    ($($name:ident => $ty:ident),*) => {
        impl Tensor {
            $(
                #[doc = concat!("tch's name for the `", stringify!($ty), "` comparison with a tensor.")]
                #[track_caller]
                pub fn $name(&self, other: &Tensor) -> Tensor {
                    record($ty { scalar: None }, &[self, other])
                }
            )*
        }
    };
}

tensor_compare!(eq_tensor => Eq, ne_tensor => Ne, lt_tensor => Lt, le_tensor => Le, gt_tensor => Gt, ge_tensor => Ge);
