//! remainder and fmod: the remainder of a division, with the divisor's sign (remainder, Python's
//! `%`) or the dividend's (fmod, C's). The divisor is a tensor or a Rust number.
//!
//! ONNX: Mod (https://onnx.ai/onnx/operators/onnx__Mod.html): `fmod=1` is C's fmod for every
//! type, `fmod=0` is Python's remainder for integers only; a float remainder is the fmod plus
//! the divisor where it is non-zero and its sign differs from the divisor's (exact, as torch
//! computes it; `a - floor(a / b) * b` loses digits when the quotient is large). Inputs are
//! cast to the output dtype.

use super::{SymDims, lowering, OpDef, OpDoc, Operand};
use crate::define::record;
use crate::tensor::{Scalar, Tensor};
use tapir_graph::{emit, Attr, Emit, LowerError, Outputs};

/// Inputs: `[a, b]`, or `[a]` with `scalar` as `b`.
#[derive(Debug, Clone, PartialEq)]
pub struct Remainder {
    /// C's fmod (the dividend's sign); Python's remainder otherwise.
    pub fmod: bool,
    pub scalar: Option<Scalar>,
}

impl OpDef for Remainder {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::promoted(inputs, self.scalar)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        super::shape::broadcast(inputs)
    }
    fn name(&self) -> &'static str {
        if self.fmod {
            "fmod"
        } else {
            "remainder"
        }
    }
    fn describe(&self) -> String {
        self.scalar.map(|s| format!("other={s}")).unwrap_or_default()
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        match (self.fmod, self.scalar) {
            (true, Some(s)) => t[0].f_fmod(s.to_tch_scalar()),
            (true, None) => t[0].f_fmod_tensor(t[1]),
            (false, Some(s)) => t[0].f_remainder(s.to_tch_scalar()),
            (false, None) => t[0].f_remainder_tensor(t[1]),
        }
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let out = cx.output_meta(0).dtype;
        let a = emit::input_as(cx, 0, out);
        let b = match self.scalar {
            Some(s) => lowering::scalar(cx, out, s),
            None => emit::input_as(cx, 1, out),
        };
        if self.fmod || !out.is_float() {
            return emit::one(cx.node("Mod", &[a, b], vec![("fmod", Attr::Int(self.fmod as i64))]));
        }
        let m = cx.node("Mod", &[a, b], vec![("fmod", Attr::Int(1))]);
        let zero = cx.const_scalar(out, 0.0);
        let m_zero = cx.node("Equal", &[m, zero], vec![]);
        let m_nonzero = cx.node("Not", &[m_zero], vec![]);
        let (m_neg, b_neg) = (cx.node("Less", &[m, zero], vec![]), cx.node("Less", &[b, zero], vec![]));
        let signs_differ = cx.node("Xor", &[m_neg, b_neg], vec![]);
        let adjust = cx.node("And", &[m_nonzero, signs_differ], vec![]);
        let shifted = cx.node("Add", &[m, b], vec![]);
        emit::one(cx.node("Where", &[adjust, shifted, m], vec![]))
    }
}

pub(super) const DOCS: &[OpDoc] = &[
    OpDoc { name: "remainder", methods: "`remainder`, `remainder_tensor`" },
    OpDoc { name: "fmod", methods: "`fmod`, `fmod_tensor`" },
];

impl Tensor {
    #[track_caller]
    fn rem_op<'a>(&self, fmod: bool, other: impl Into<Operand<'a>>) -> Tensor {
        match other.into() {
            Operand::Scalar(s) => record(Remainder { fmod, scalar: Some(s) }, &[self]),
            Operand::Tensor(o) => record(Remainder { fmod, scalar: None }, &[self, o]),
        }
    }

    /// The remainder with the divisor's sign (Python's `%`); `other` is a tensor or a number.
    #[track_caller]
    pub fn remainder<'a>(&self, other: impl Into<Operand<'a>>) -> Tensor {
        self.rem_op(false, other)
    }

    /// [`Tensor::remainder`] by a tensor (tch's name).
    #[track_caller]
    pub fn remainder_tensor(&self, other: &Tensor) -> Tensor {
        self.rem_op(false, other)
    }

    /// The remainder with the dividend's sign (C's fmod); `other` is a tensor or a number.
    #[track_caller]
    pub fn fmod<'a>(&self, other: impl Into<Operand<'a>>) -> Tensor {
        self.rem_op(true, other)
    }

    /// [`Tensor::fmod`] by a tensor (tch's name).
    #[track_caller]
    pub fn fmod_tensor(&self, other: &Tensor) -> Tensor {
        self.rem_op(true, other)
    }
}
