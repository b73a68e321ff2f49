//! div with a rounding mode: torch's `div(a, b, rounding_mode="trunc" | "floor")`, tch's
//! `div_tensor_mode` / `div_scalar_mode`.
//!
//! ONNX has no rounding division: floats divide (Div) and round the quotient (Floor; trunc is
//! Floor or Ceil by sign, as ONNX has no Trunc); integers divide with Div, which truncates, and
//! floor mode subtracts one where the remainder is nonzero and its sign differs from the
//! divisor's. Inputs are cast to the output dtype first, as for `div`.

use super::{SymDims, bad_argument, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::{Scalar, Tensor};
use tapir_graph::{emit, DType, Emit, LowerError, Outputs};

/// Inputs: `[a, b]`.
#[derive(Debug, Clone, PartialEq)]
pub struct DivMode {
    /// Floor rounding; trunc otherwise.
    pub floor: bool,
}

impl DivMode {
    fn mode(&self) -> &'static str {
        if self.floor {
            "floor"
        } else {
            "trunc"
        }
    }
}

impl OpDef for DivMode {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::promoted(inputs, None)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        super::shape::broadcast(inputs)
    }
    fn name(&self) -> &'static str {
        "div_mode"
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        t[0].f_div_tensor_mode(t[1], self.mode())
    }
    fn describe(&self) -> String {
        format!("rounding_mode={}", self.mode())
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let out = cx.output_meta(0).dtype;
        let a = emit::input_as(cx, 0, out);
        let b = emit::input_as(cx, 1, out);
        let q = cx.node("Div", &[a, b], vec![]);
        if out.is_float() {
            let floor = cx.node("Floor", &[q], vec![]);
            if self.floor {
                return emit::one(floor);
            }
            let ceil = cx.node("Ceil", &[q], vec![]);
            let zero = cx.const_scalar(out, 0.0);
            let negative = cx.node("Less", &[q, zero], vec![]);
            return emit::one(cx.node("Where", &[negative, ceil, floor], vec![]));
        }
        if !self.floor {
            return emit::one(q);
        }
        // Integer floor division: the truncated quotient, minus one where the remainder is
        // nonzero and has the other sign than the divisor.
        let qb = cx.node("Mul", &[q, b], vec![]);
        let r = cx.node("Sub", &[a, qb], vec![]);
        let zero = cx.const_scalar(out, 0.0);
        let r_zero = cx.node("Equal", &[r, zero], vec![]);
        let r_nonzero = cx.node("Not", &[r_zero], vec![]);
        let r_neg = cx.node("Less", &[r, zero], vec![]);
        let b_neg = cx.node("Less", &[b, zero], vec![]);
        let signs_differ = cx.node("Xor", &[r_neg, b_neg], vec![]);
        let adjust = cx.node("And", &[r_nonzero, signs_differ], vec![]);
        let adjust = emit::cast(cx, adjust, DType::Bool, out);
        emit::one(cx.node("Sub", &[q, adjust], vec![]))
    }
}

pub(super) const DOCS: &[OpDoc] = &[OpDoc { name: "div_mode", methods: "`div_tensor_mode`, `div_scalar_mode`" }];

/// The op for torch's `rounding_mode` names, or the argument error for another name.
#[track_caller]
fn div_mode(a: &Tensor, b: &Tensor, rounding_mode: &str) -> Tensor {
    match rounding_mode {
        "floor" => record(DivMode { floor: true }, &[a, b]),
        "trunc" => record(DivMode { floor: false }, &[a, b]),
        other => bad_argument("div_mode", format!("rounding_mode must be \"trunc\" or \"floor\", got {other:?}")),
    }
}

impl Tensor {
    /// `self / other` rounded by `rounding_mode`: `"trunc"` (toward zero) or `"floor"`. Another
    /// mode is torch's error.
    #[track_caller]
    pub fn div_tensor_mode(&self, other: &Tensor, rounding_mode: &str) -> Tensor {
        div_mode(self, other, rounding_mode)
    }

    /// `self / other` for a Rust number, rounded by `rounding_mode` (see
    /// [`Tensor::div_tensor_mode`]).
    #[track_caller]
    pub fn div_scalar_mode(&self, other: impl Into<Scalar>, rounding_mode: &str) -> Tensor {
        div_mode(self, &self.scalar_like(other.into()), rounding_mode)
    }
}
