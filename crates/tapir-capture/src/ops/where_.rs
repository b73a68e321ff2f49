//! `where` (select by a condition) and `masked_fill`.
//!
//! ONNX: Where (opset 9, 16 widened types). masked_fill is `Where(mask, value, x)` with the
//! value as a scalar constant of x's dtype.

use super::{SymDims, lowering, OpDef, OpDoc, Operand};
use crate::define::record;
use crate::tensor::{Scalar, Tensor};
use tapir_graph::{emit, DType, Emit, LowerError, Outputs, SourceLocation};

/// `where(cond, x, y)`: inputs are `[cond, x, y]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Where;

/// The dtype `Where` selects in: bool values go through int32 (ONNX Runtime has no bool Where).
fn where_dtype(out: DType) -> DType {
    if out == DType::Bool {
        DType::I32
    } else {
        out
    }
}

impl OpDef for Where {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        // inputs: condition, then the two branches.
        super::dtype::promoted(inputs.get(1..)?, None)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        super::shape::broadcast(inputs)
    }
    fn name(&self) -> &'static str {
        "where"
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        t[1].f_where_self(t[0], t[2])
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let out = cx.output_meta(0).dtype;
        let compute = where_dtype(out);
        let c = emit::input_as(cx, 0, DType::Bool);
        let x = emit::input_as(cx, 1, compute);
        let y = emit::input_as(cx, 2, compute);
        let r = cx.node("Where", &[c, x, y], vec![]);
        emit::one(emit::cast(cx, r, compute, out))
    }
}



/// `masked_fill(x, mask, value)`: inputs are `[x, mask]`.
#[derive(Debug, Clone, PartialEq)]
pub struct MaskedFill {
    /// The fill value as the caller gave it (an int64 fill stays exact).
    pub value: Scalar,
}

impl OpDef for MaskedFill {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        super::shape::broadcast(inputs)
    }
    fn name(&self) -> &'static str {
        "masked_fill"
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        t[0].f_masked_fill(t[1], self.value.to_tch_scalar())
    }
    fn describe(&self) -> String {
        format!("value={}", self.value)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let out = cx.output_meta(0).dtype;
        let compute = where_dtype(out);
        let x = emit::input_as(cx, 0, compute);
        let m = emit::input_as(cx, 1, DType::Bool);
        let v = lowering::scalar(cx, compute, self.value);
        let r = cx.node("Where", &[m, v, x], vec![]);
        emit::one(emit::cast(cx, r, compute, out))
    }
}

pub(super) const DOCS: &[OpDoc] = &[
    OpDoc { name: "where", methods: "`where_self`, `where_scalarself`, `where_scalarother`, `where_scalar`" },
    OpDoc { name: "masked_fill", methods: "`masked_fill`, `masked_fill_tensor` (`where`)" },
];

impl Tensor {
    /// `self` where `condition` holds, `other` elsewhere (torch's `where(condition, self, other)`).
    #[track_caller]
    pub fn where_self<'a>(&self, condition: &Tensor, other: impl Into<Operand<'a>>) -> Tensor {
        let other = other.into().tensor_next_to(self);
        record(Where, &[condition, self, &other])
    }

    /// `value` where `mask` is true, `self` elsewhere.
    #[track_caller]
    pub fn masked_fill(&self, mask: &Tensor, value: impl Into<Scalar>) -> Tensor {
        record(MaskedFill { value: value.into() }, &[self, mask])
    }

    /// `masked_fill` with the value as a 0-d tensor (tch's `masked_fill_tensor`): the value is
    /// cast to this tensor's dtype and selected with `where`.
    #[track_caller]
    pub fn masked_fill_tensor(&self, mask: &Tensor, value: &Tensor) -> Tensor {
        if let Some(e) = value.error() {
            return Tensor::from_error(e.clone());
        }
        if value.dim() != 0 {
            return Tensor::from_error(crate::CaptureError::Op {
                op: "masked_fill",
                location: SourceLocation::caller(),
                message: format!("the value must be a 0-dimensional tensor, got shape {:?}", value.size_unchecked()),
            });
        }
        value.to_kind(self.kind()).where_self(mask, self)
    }

    /// `where(condition, self_scalar, other)` (tch's `where_scalarself`): the scalar takes the
    /// dtype it has next to `other`.
    #[track_caller]
    pub fn where_scalarself(condition: &Tensor, self_scalar: impl Into<Scalar>, other: &Tensor) -> Tensor {
        other.scalar_like(self_scalar.into()).where_self(condition, other)
    }

    /// `where(condition, a, b)` for two Rust numbers (tch's `where_scalar`): float if either is
    /// one, else int64 (bool for two bools), as torch types Python numbers.
    #[track_caller]
    pub fn where_scalar(condition: &Tensor, self_scalar: impl Into<Scalar>, other: impl Into<Scalar>) -> Tensor {
        // A scalar next to a bool tensor takes its own category's default dtype.
        condition.scalar_like(self_scalar.into()).where_self(condition, Operand::Scalar(other.into()))
    }

    /// `where(condition, self, other_scalar)` (tch's `where_scalarother`).
    #[track_caller]
    pub fn where_scalarother(&self, condition: &Tensor, other: impl Into<Scalar>) -> Tensor {
        self.where_self(condition, Operand::Scalar(other.into()))
    }
}
