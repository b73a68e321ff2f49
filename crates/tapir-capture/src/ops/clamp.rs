//! `clamp` with an optional lower and upper bound.
//!
//! ONNX: Clip with min/max as optional inputs (opset 11+, integer types from 12):
//! https://onnx.ai/onnx/operators/onnx__Clip.html

use super::OpDoc;
use crate::replay::replay1;
use crate::session::record1;
use crate::tensor::Tensor;
use tapir_graph::{emit, Emit, LowerError, Op, Outputs, SourceLocation};

#[derive(Debug, Clone, PartialEq)]
pub struct Clamp {
    pub min: Option<f64>,
    pub max: Option<f64>,
}

impl Op for Clamp {
    replay1!(self, t, out => match (self.min, self.max) { (Some(lo), Some(hi)) => t[0].f_clamp(lo, hi), (Some(lo), None) => t[0].f_clamp_min(lo), (None, Some(hi)) => t[0].f_clamp_max(hi), (None, None) => Ok(t[0].shallow_clone()) });
    tapir_graph::op_name!("clamp");
    fn describe(&self) -> String {
        format!("min={:?}, max={:?}", self.min, self.max)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let out = cx.output_meta(0).dtype;
        let x = emit::input_as(cx, 0, out);
        let min = match self.min {
            Some(v) => cx.const_scalar(out, v),
            None => cx.absent(),
        };
        let max = match self.max {
            Some(v) => cx.const_scalar(out, v),
            None => cx.absent(),
        };
        emit::one(cx.node("Clip", &[x, min, max], vec![]))
    }
}

pub const DOC: OpDoc = OpDoc {
    name: "clamp",
    methods: "`clamp`, `clamp_min`, `clamp_max` (`clamp_tensor`, `clamp_min_tensor`, `clamp_max_tensor`: `maximum`, `minimum`)",
    onnx: "Clip",
};

impl Tensor {
    /// Clamps to `[min, max]`; either bound may be absent.
    #[track_caller]
    pub fn clamp(&self, min: impl Into<Option<f64>>, max: impl Into<Option<f64>>) -> Tensor {
        let (lo, hi) = (min.into(), max.into());
        let op = || Clamp { min: lo, max: hi };
        record1(op, &[self], SourceLocation::caller(), |t| match (lo, hi) {
            (Some(lo), Some(hi)) => t[0].f_clamp(lo, hi),
            (Some(lo), None) => t[0].f_clamp_min(lo),
            (None, Some(hi)) => t[0].f_clamp_max(hi),
            (None, None) => Ok(t[0].shallow_clone()),
        })
    }

    /// Clamps from below.
    #[track_caller]
    pub fn clamp_min(&self, min: f64) -> Tensor {
        self.clamp(min, None)
    }

    /// Clamps from above.
    #[track_caller]
    pub fn clamp_max(&self, max: f64) -> Tensor {
        self.clamp(None, max)
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
