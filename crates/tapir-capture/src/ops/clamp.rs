//! `clamp` with an optional lower and upper bound.
//!
//! ONNX: Clip with min/max as optional inputs (opset 11+, integer types from 12):
//! https://onnx.ai/onnx/operators/onnx__Clip.html

use super::{SymDims, lowering, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::{Scalar, Tensor};
use tapir_graph::{emit, Emit, LowerError, Outputs};

/// Inputs: `[x]`. The bounds keep their Rust type (an int64 bound stays exact).
#[derive(Debug, Clone, PartialEq)]
pub struct Clamp {
    pub min: Option<Scalar>,
    pub max: Option<Scalar>,
}

impl OpDef for Clamp {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        let scalars: smallvec::SmallVec<[crate::tensor::Scalar; 2]> = self.min.into_iter().chain(self.max).collect();
        super::dtype::one(super::dtype::result_type(&[inputs.first()?], &scalars)?)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        super::shape::same(inputs)
    }
    fn name(&self) -> &'static str {
        "clamp"
    }
    fn describe(&self) -> String {
        let bound = |b: Option<Scalar>| b.map_or("none".to_owned(), |v| v.to_string());
        format!("min={}, max={}", bound(self.min), bound(self.max))
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        match (self.min, self.max) {
            (Some(lo), Some(hi)) => t[0].f_clamp(lo.to_tch_scalar(), hi.to_tch_scalar()),
            (Some(lo), None) => t[0].f_clamp_min(lo.to_tch_scalar()),
            (None, Some(hi)) => t[0].f_clamp_max(hi.to_tch_scalar()),
            (None, None) => Ok(t[0].shallow_clone()),
        }
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let out = cx.output_meta(0).dtype;
        let x = emit::input_as(cx, 0, out);
        let min = match self.min {
            Some(v) => lowering::scalar(cx, out, v),
            None => cx.absent(),
        };
        let max = match self.max {
            Some(v) => lowering::scalar(cx, out, v),
            None => cx.absent(),
        };
        emit::one(cx.node("Clip", &[x, min, max], vec![]))
    }
}

pub(super) const DOCS: &[OpDoc] = &[OpDoc {
    name: "clamp",
    methods: "`clamp`, `clamp_min`, `clamp_max` (`clamp_tensor`, `clamp_min_tensor`, `clamp_max_tensor`: `maximum`, `minimum`)",
}];

impl Tensor {
    /// Clamps to `[min, max]` (tch's signature; one bound alone: [`Tensor::clamp_min`],
    /// [`Tensor::clamp_max`]).
    #[track_caller]
    pub fn clamp(&self, min: impl Into<Scalar>, max: impl Into<Scalar>) -> Tensor {
        record(Clamp { min: Some(min.into()), max: Some(max.into()) }, &[self])
    }

    /// Clamps with optional bounds, either or both absent (torch's `clamp(min=None, max=None)`).
    #[track_caller]
    pub fn clamp_opt(&self, min: Option<Scalar>, max: Option<Scalar>) -> Tensor {
        record(Clamp { min, max }, &[self])
    }

    /// Clamps from below.
    #[track_caller]
    pub fn clamp_min(&self, min: impl Into<Scalar>) -> Tensor {
        record(Clamp { min: Some(min.into()), max: None }, &[self])
    }

    /// Clamps from above.
    #[track_caller]
    pub fn clamp_max(&self, max: impl Into<Scalar>) -> Tensor {
        record(Clamp { min: None, max: Some(max.into()) }, &[self])
    }

    /// Clamps between tensors (tch's `clamp_tensor`): `minimum(maximum(self, min), max)` with
    /// broadcasting and type promotion; where `min > max` the result is `max`, as in torch.
    #[track_caller]
    pub fn clamp_tensor<T: std::borrow::Borrow<Tensor>>(&self, min: Option<T>, max: Option<T>) -> Tensor {
        let lo = match &min {
            Some(m) => self.maximum(m.borrow()),
            None => self.shallow_clone(),
        };
        match &max {
            Some(m) => lo.minimum(m.borrow()),
            None => lo,
        }
    }

    /// Clamps from below by a tensor (tch's `clamp_min_tensor`).
    #[track_caller]
    pub fn clamp_min_tensor(&self, min: &Tensor) -> Tensor {
        self.maximum(min)
    }

    /// Clamps from above by a tensor (tch's `clamp_max_tensor`).
    #[track_caller]
    pub fn clamp_max_tensor(&self, max: &Tensor) -> Tensor {
        self.minimum(max)
    }
}
