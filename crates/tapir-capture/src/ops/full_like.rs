//! full_like, zeros_like, ones_like: a tensor of one value with another tensor's shape.
//!
//! ONNX: Expand of the value (a constant of the output dtype, exact for int64) to the shape. The
//! op reads its input's shape only; recorded as an op on it, not a constant, so the shape
//! follows the input.

use super::{SymDims, lowering, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::{Scalar, Tensor};
use tapir_graph::{emit, Emit, LowerError, Outputs};

/// Inputs: `[like]`.
#[derive(Debug, Clone, PartialEq)]
pub struct FullLike {
    pub value: Scalar,
    /// The result's dtype; the input's when `None`.
    pub kind: Option<tch::Kind>,
}

impl OpDef for FullLike {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::one(match self.kind {
            Some(k) => super::dtype::of_kind(k)?,
            None => inputs.first()?.dtype,
        })
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        super::shape::same(inputs)
    }
    fn name(&self) -> &'static str {
        "full_like"
    }
    fn describe(&self) -> String {
        format!("value={}", self.value)
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        let kind = self.kind.unwrap_or(t[0].kind());
        tch::Tensor::f_full(t[0].size(), self.value.to_tch_scalar(), (kind, t[0].device()))
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let out = cx.output_meta(0).clone();
        let value = lowering::scalar(cx, out.dtype, self.value);
        let dims = cx.output_dims(0);
        let shape = cx.dims_tensor(&dims);
        emit::one(cx.node("Expand", &[value, shape], vec![]))
    }
}

pub(super) const DOCS: &[OpDoc] = &[OpDoc { name: "full_like", methods: "`full_like`, `zeros_like`, `ones_like`" }];

impl Tensor {
    /// A tensor of `value` with `self`'s shape, dtype and device.
    #[track_caller]
    pub fn full_like(&self, value: impl Into<Scalar>) -> Tensor {
        record(FullLike { value: value.into(), kind: None }, &[self])
    }

    /// Zeros with `self`'s shape, dtype and device.
    #[track_caller]
    pub fn zeros_like(&self) -> Tensor {
        record(FullLike { value: Scalar::Int(0), kind: None }, &[self])
    }

    /// Ones with `self`'s shape, dtype and device.
    #[track_caller]
    pub fn ones_like(&self) -> Tensor {
        record(FullLike { value: Scalar::Int(1), kind: None }, &[self])
    }
}
