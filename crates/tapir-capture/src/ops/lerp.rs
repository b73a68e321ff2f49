//! lerp: linear interpolation `start + weight * (end - start)`, the weight a number or a tensor.
//!
//! ONNX: Sub, Mul, Add in the output dtype (torch computes `end - weight * (end - start)` for
//! weights of 0.5 and above, for accuracy near the end; the lowering does the same with Where).

use super::{SymDims, lowering, OpDef, OpDoc, Operand};
use crate::define::record;
use crate::tensor::{Scalar, Tensor};
use tapir_graph::{emit, Emit, LowerError, Outputs};

/// Inputs: `[start, end]` or `[start, end, weight]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Lerp {
    /// The weight when it is a number.
    pub weight: Option<Scalar>,
}

impl OpDef for Lerp {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        super::shape::broadcast(inputs)
    }
    fn name(&self) -> &'static str {
        "lerp"
    }
    fn describe(&self) -> String {
        self.weight.map(|w| format!("weight={w}")).unwrap_or_default()
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        match self.weight {
            Some(w) => t[0].f_lerp(t[1], w.to_tch_scalar()),
            None => t[0].f_lerp_tensor(t[1], t[2]),
        }
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let out = cx.output_meta(0).dtype;
        let (start, end) = (emit::input_as(cx, 0, out), emit::input_as(cx, 1, out));
        let w = match self.weight {
            Some(w) => lowering::scalar(cx, out, w),
            None => emit::input_as(cx, 2, out),
        };
        let diff = cx.node("Sub", &[end, start], vec![]);
        let step = cx.node("Mul", &[w, diff], vec![]);
        let from_start = cx.node("Add", &[start, step], vec![]);
        let one = cx.const_scalar(out, 1.0);
        let rest = cx.node("Sub", &[w, one], vec![]);
        let back = cx.node("Mul", &[rest, diff], vec![]);
        let from_end = cx.node("Add", &[end, back], vec![]);
        let half = cx.const_scalar(out, 0.5);
        let near_end = cx.node("GreaterOrEqual", &[w, half], vec![]);
        emit::one(cx.node("Where", &[near_end, from_end, from_start], vec![]))
    }
}

pub(super) const DOCS: &[OpDoc] = &[OpDoc { name: "lerp", methods: "`lerp`, `lerp_tensor`" }];

impl Tensor {
    /// `self + weight * (end - self)`; `weight` is a number or a tensor.
    #[track_caller]
    pub fn lerp<'a>(&self, end: &Tensor, weight: impl Into<Operand<'a>>) -> Tensor {
        match weight.into() {
            Operand::Scalar(w) => record(Lerp { weight: Some(w) }, &[self, end]),
            Operand::Tensor(w) => record(Lerp { weight: None }, &[self, end, w]),
        }
    }

    /// [`Tensor::lerp`] with a tensor weight (tch's name).
    #[track_caller]
    pub fn lerp_tensor(&self, end: &Tensor, weight: &Tensor) -> Tensor {
        record(Lerp { weight: None }, &[self, end, weight])
    }
}
