//! roll: shift entries along dimensions, wrapping around (torch.roll).
//!
//! ONNX: per rolled axis, the last `shift` entries (Slice) concatenated before the rest (Concat);
//! with no dims, the tensor is flattened first and reshaped back.

use super::{SymDims, Dims, IntList, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, Emit, LowerError, Outputs, Sym};

/// Inputs: `[x]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Roll {
    pub shifts: Dims,
    /// Non-negative dimensions; empty: over the flattened tensor.
    pub dims: Dims,
}

impl OpDef for Roll {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        super::shape::same(inputs)
    }
    fn name(&self) -> &'static str {
        "roll"
    }
    fn describe(&self) -> String {
        format!("shifts={:?}, dims={:?}", self.shifts, self.dims)
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        t[0].f_roll(self.shifts.as_slice(), self.dims.as_slice())
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let shape = cx.input_meta(0).shape.clone();
        let mut x = cx.input(0);
        if self.dims.is_empty() {
            let n: i64 = shape.iter().product();
            x = emit::reshape(cx, x, &[n]);
            x = roll_axis(cx, x, 0, n, self.shifts.first().copied().unwrap_or(0));
            return emit::one(emit::reshape(cx, x, &shape));
        }
        for (shift, dim) in self.shifts.iter().zip(&self.dims) {
            let len = shape.get(*dim as usize).copied().unwrap_or(1);
            x = roll_axis(cx, x, *dim, len, *shift);
        }
        emit::one(x)
    }
}

/// `x` rolled by `shift` along `axis` of length `len`: `cat(x[len - s:], x[:len - s])`.
fn roll_axis(cx: &mut dyn Emit, x: Sym, axis: i64, len: i64, shift: i64) -> Sym {
    let s = if len == 0 { 0 } else { shift.rem_euclid(len) };
    if s == 0 {
        return x;
    }
    let axes = cx.const_i64s(&[axis]);
    let (zero, cut, end) = (cx.const_i64s(&[0]), cx.const_i64s(&[len - s]), cx.const_i64s(&[len]));
    let tail = cx.node("Slice", &[x, cut, end, axes], vec![]);
    let head = cx.node("Slice", &[x, zero, cut, axes], vec![]);
    cx.node("Concat", &[tail, head], vec![("axis", Attr::Int(axis))])
}

pub(super) const DOCS: &[OpDoc] = &[OpDoc { name: "roll", methods: "`roll`" }];

impl Tensor {
    /// Shifts entries by `shifts[i]` along `dims[i]`, wrapping around; with no dims, over the
    /// flattened tensor.
    #[track_caller]
    pub fn roll(&self, shifts: impl IntList, dims: impl IntList) -> Tensor {
        let dims = dims.to_dims().iter().map(|d| self.norm_dim(*d)).collect();
        record(Roll { shifts: shifts.to_dims(), dims }, &[self])
    }
}
