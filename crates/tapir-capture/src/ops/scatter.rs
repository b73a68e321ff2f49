//! scatter and scatter_add: write (add) `src[p]` at `self[p with p[dim] := index[p]]` for every
//! position `p` of `index` (torch.scatter, torch.scatter_add).
//!
//! ONNX: ScatterElements (https://onnx.ai/onnx/operators/onnx__ScatterElements.html) with `src`
//! sliced to the index's shape, as torch reads it; scatter_add uses its `reduction = "add"` from
//! opset 16. Below 16, scatter_add is a one-hot sum: for each target position, the sum of the
//! `src` entries whose index points at it (Equal against a range, Where, ReduceSum), padded to
//! the input's shape and added. Where scatter writes one position twice, torch and ONNX leave
//! the order unspecified.

use super::{SymDims, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, DType, Emit, LowerError, Outputs, Sym};

/// Inputs: `[x, index, src]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Scatter {
    /// scatter_add; scatter otherwise.
    pub add: bool,
    /// A non-negative dimension.
    pub dim: i64,
}

impl OpDef for Scatter {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        super::shape::same(inputs)
    }
    fn name(&self) -> &'static str {
        if self.add {
            "scatter_add"
        } else {
            "scatter"
        }
    }
    fn describe(&self) -> String {
        format!("dim={}", self.dim)
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        if self.add {
            t[0].f_scatter_add(self.dim, t[1], t[2])
        } else {
            t[0].f_scatter(self.dim, t[1], t[2])
        }
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let out = cx.output_meta(0).dtype;
        let (xs, is, ss) = (cx.input_meta(0).shape.clone(), cx.input_meta(1).shape.clone(), cx.input_meta(2).shape.clone());
        // bool scatter_add is a logical or: computed as int32 sums.
        let compute = if self.add && out == DType::Bool { DType::I32 } else { out };
        let mut x = emit::input_as(cx, 0, compute);
        let mut index = emit::input_as(cx, 1, DType::I64);
        let mut src = emit::input_as(cx, 2, compute);
        // A 0-d input (torch reads dim 0 of it) runs on [1] views.
        let scalar = xs.is_empty();
        let (xs, is, ss) = if scalar {
            x = emit::reshape(cx, x, &[1]);
            index = emit::reshape(cx, index, &[1]);
            src = emit::reshape(cx, src, &[1]);
            (vec![1].into(), vec![1].into(), vec![1].into())
        } else {
            (xs, is, ss)
        };
        // torch reads src only where index has entries.
        let cut: Vec<i64> = (0..ss.len() as i64).filter(|&d| is.get(d as usize) < ss.get(d as usize)).collect();
        if !cut.is_empty() {
            let starts = cx.const_i64s(&vec![0; cut.len()]);
            let ends: Vec<i64> = cut.iter().map(|&d| is[d as usize]).collect();
            let ends = cx.const_i64s(&ends);
            let axes = cx.const_i64s(&cut);
            src = cx.node("Slice", &[src, starts, ends, axes], vec![]);
        }
        let y = if !self.add || cx.opset() >= 16 {
            let mut attrs = vec![("axis", Attr::Int(self.dim))];
            if self.add {
                attrs.push(("reduction", Attr::String("add".into())));
            }
            cx.node("ScatterElements", &[x, index, src], attrs)
        } else {
            let sum = one_hot_sum(cx, index, src, &is, &xs, self.dim as usize, compute);
            cx.node("Add", &[x, sum], vec![])
        };
        let y = if scalar { emit::reshape(cx, y, &[]) } else { y };
        if compute == out {
            return emit::one(y);
        }
        // bool: any contribution makes it true.
        let zero = cx.const_scalar(compute, 0.0);
        let nonzero = cx.node("Equal", &[y, zero], vec![]);
        emit::one(cx.node("Not", &[nonzero], vec![]))
    }
}

/// The scatter-add of `src` (shaped like `index`, `is`) into zeros of shape `xs` along `dim`.
fn one_hot_sum(cx: &mut dyn Emit, index: Sym, src: Sym, is: &[i64], xs: &[i64], dim: usize, dtype: DType) -> Sym {
    let r = is.len();
    let n = xs[dim];
    // eq[p, j] = index[p] == j, shape index ++ [n].
    let range: Vec<i64> = (0..n).collect();
    let range = cx.const_i64s(&range);
    let mut range_shape = vec![1; r];
    range_shape.push(n);
    let range = emit::reshape(cx, range, &range_shape);
    let idx = emit::unsqueeze(cx, index, &[r as i64]);
    let eq = cx.node("Equal", &[idx, range], vec![]);
    let src = emit::unsqueeze(cx, src, &[r as i64]);
    let zero = cx.const_scalar(dtype, 0.0);
    let contrib = cx.node("Where", &[eq, src, zero], vec![]);
    // Sum over the scattered dimension; the target position axis takes its place.
    let axes = cx.const_i64s(&[dim as i64]);
    let summed = cx.node("ReduceSum", &[contrib, axes], vec![("keepdims", Attr::Int(1))]);
    let mut perm: Vec<i64> = (0..=r as i64).collect();
    perm.swap(dim, r);
    let moved = cx.node("Transpose", &[summed], vec![("perm", Attr::Ints(perm))]);
    let placed = emit::squeeze(cx, moved, &[r as i64]);
    // Zero rows and columns where index did not reach (smaller than the input elsewhere).
    let ends: Vec<i64> = (0..r).map(|k| if k == dim { 0 } else { xs[k] - is[k] }).collect();
    if ends.iter().all(|e| *e == 0) {
        return placed;
    }
    let mut pads = vec![0; r];
    pads.extend(ends);
    let pads = cx.const_i64s(&pads);
    cx.node("Pad", &[placed, pads], vec![])
}

pub(super) const DOCS: &[OpDoc] = &[
    OpDoc { name: "scatter", methods: "`scatter`" },
    OpDoc { name: "scatter_add", methods: "`scatter_add`" },
];

impl Tensor {
    /// `self` with `src[p]` written at `p` with `p[dim] := index[p]`, for every position of
    /// `index`.
    #[track_caller]
    pub fn scatter(&self, dim: i64, index: &Tensor, src: &Tensor) -> Tensor {
        record(Scatter { add: false, dim: self.norm_dim(dim) }, &[self, index, src])
    }

    /// `self` with `src[p]` added at `p` with `p[dim] := index[p]`, for every position of
    /// `index` (repeated positions add up).
    #[track_caller]
    pub fn scatter_add(&self, dim: i64, index: &Tensor, src: &Tensor) -> Tensor {
        record(Scatter { add: true, dim: self.norm_dim(dim) }, &[self, index, src])
    }
}
