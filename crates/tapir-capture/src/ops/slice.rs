//! narrow and slice (with a step): a strided range along one dimension.
//!
//! ONNX: Slice with starts, ends, axes and steps as constant inputs (opset 10+). Bounds are
//! normalized against the observed size when recorded, as torch clamps them.

use super::{OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Emit, LowerError, Outputs};

#[derive(Debug, Clone, PartialEq)]
pub struct Slice {
    pub dim: i64,
    pub start: i64,
    pub end: i64,
    pub step: i64,
}

impl OpDef for Slice {
    type Output = tch::Tensor;
    fn name(&self) -> &'static str {
        "slice"
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        t[0].f_slice(self.dim, self.start, self.end, self.step)
    }
    fn describe(&self) -> String {
        format!("dim={}, {}..{} step {}", self.dim, self.start, self.end, self.step)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let x = cx.input(0);
        let starts = cx.const_i64s(&[self.start]);
        let ends = cx.const_i64s(&[self.end]);
        let axes = cx.const_i64s(&[self.dim]);
        let steps = cx.const_i64s(&[self.step]);
        emit::one(cx.node("Slice", &[x, starts, ends, axes, steps], vec![]))
    }
}

pub(super) const DOCS: &[OpDoc] = &[OpDoc { name: "slice", methods: "`slice`, `narrow`, `narrow_tensor`" }];

impl Tensor {
    /// Elements `start..end` (step `step`) along `dim`; `None` bounds mean the whole range and
    /// negative bounds count from the end, as in Python slicing.
    #[track_caller]
    pub fn slice(&self, dim: i64, start: impl Into<Option<i64>>, end: impl Into<Option<i64>>, step: i64) -> Tensor {
        let (start, end) = (start.into(), end.into());
        let d = self.norm_dim(dim);
        let n = self.size().get(d as usize).copied().unwrap_or(0);
        // Python's slice bounds: negative counts from the end, then clamped to the dimension.
        let clamp = |v: i64| if v < 0 { (v + n).max(0) } else { v.min(n) };
        record(Slice { dim: d, start: clamp(start.unwrap_or(0)), end: clamp(end.unwrap_or(n)), step }, &[self])
    }

    /// `length` elements from `start` along `dim`.
    #[track_caller]
    pub fn narrow(&self, dim: i64, start: i64, length: i64) -> Tensor {
        let d = self.norm_dim(dim);
        let n = self.size().get(d as usize).copied().unwrap_or(0);
        let s = if start < 0 { start + n } else { start };
        if s < 0 || length < 0 || s + length > n {
            let message = format!("narrow({dim}, {start}, {length}) is out of range for a dimension of size {n}");
            return super::bad_argument("slice", message);
        }
        record(Slice { dim: d, start: s, end: s + length, step: 1 }, &[self])
    }

    /// [`Tensor::narrow`] with the start as a 0-d integer tensor (tch's `narrow_tensor`). The
    /// start is read as a number: a guard when it is a traced value.
    #[track_caller]
    pub fn narrow_tensor(&self, dim: i64, start: &Tensor, length: i64) -> Tensor {
        match start.int64_value(&[]) {
            Ok(s) => self.narrow(dim, s, length),
            Err(e) => Tensor::from_error(e),
        }
    }
}
