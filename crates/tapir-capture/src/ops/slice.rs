//! narrow and slice (with a step): a strided range along one dimension.
//!
//! ONNX: Slice with starts, ends, axes and steps as constant inputs (opset 10+). Bounds are
//! normalized against the observed size when recorded, as torch clamps them.

use super::{SymDims, SymInt, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Emit, LowerError, Outputs};

#[derive(Debug, Clone, PartialEq)]
pub struct Slice {
    pub dim: i64,
    pub start: SymInt,
    pub end: SymInt,
    pub step: i64,
}

impl OpDef for Slice {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        let mut x = inputs.first()?.clone();
        let d = super::shape::axis(self.dim, x.len())?;
        let len = self.end - self.start;
        x[d] = if len.hint() <= 0 { SymInt::from(0) } else { (len + (self.step - 1)) / self.step };
        Some(vec![x])
    }
    fn name(&self) -> &'static str {
        "slice"
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        t[0].f_slice(self.dim, self.start.get(), self.end.get(), self.step)
    }
    fn describe(&self) -> String {
        format!("dim={}, {}..{} step {}", self.dim, self.start, self.end, self.step)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let x = cx.input(0);
        let starts = cx.dims_tensor(&[self.start]);
        let ends = cx.dims_tensor(&[self.end]);
        let axes = cx.const_i64s(&[self.dim]);
        let steps = cx.const_i64s(&[self.step]);
        emit::one(cx.node("Slice", &[x, starts, ends, axes, steps], vec![]))
    }
}

pub(super) const DOCS: &[OpDoc] = &[OpDoc { name: "slice", methods: "`slice`, `narrow`, `narrow_tensor`" }];

impl Tensor {
    /// Elements `start..end` (step `step`) along `dim`; `None` bounds mean the whole range and
    /// negative bounds count from the end, as in Python slicing. On a dynamic dimension, a
    /// negative or absent bound is computed from its size; a positive one is a guard on it.
    #[track_caller]
    pub fn slice(&self, dim: i64, start: impl Into<Option<i64>>, end: impl Into<Option<i64>>, step: i64) -> Tensor {
        let (start, end) = (start.into(), end.into());
        let d = self.norm_dim(dim);
        let n = self.sym_size().get(d as usize).copied().unwrap_or(SymInt::from(0));
        // Python's slice bounds: negative counts from the end, then clamped to the dimension.
        let clamp = |v: i64| -> SymInt {
            if v < 0 {
                let from_end = n + v;
                if from_end.hint() < 0 {
                    SymInt::from(0)
                } else {
                    from_end
                }
            } else if v >= i32::MAX as i64 || n <= v {
                n
            } else {
                SymInt::from(v)
            }
        };
        let (start, end) = (clamp(start.unwrap_or(0)), end.map_or(n, clamp));
        record(Slice { dim: d, start, end, step }, &[self])
    }

    /// `length` elements from `start` along `dim` (sizes, or `i64`s: `x.narrow(1, 0, t)`).
    #[track_caller]
    pub fn narrow(&self, dim: i64, start: impl Into<SymInt>, length: impl Into<SymInt>) -> Tensor {
        let (start, length) = (start.into(), length.into());
        let d = self.norm_dim(dim);
        let n = self.sym_size().get(d as usize).copied().unwrap_or(SymInt::from(0));
        let s = if start.hint() < 0 { start + n } else { start };
        if s.hint() < 0 || length.hint() < 0 || s.hint() + length.hint() > n.hint() {
            let message = format!("narrow({dim}, {start}, {length}) is out of range for a dimension of size {n}");
            return super::bad_argument("slice", message);
        }
        // The slice must fit the dimension at every size (a guard when dynamic).
        let _ = s + length <= n;
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
