//! topk, sort and argsort along a dimension.
//!
//! ONNX: TopK (https://onnx.ai/onnx/operators/onnx__TopK.html; `largest`, `sorted` from opset
//! 11) with K = the requested count, or the whole dimension for sort and argsort. Equal values
//! come out in index order, as torch's stable CPU sort gives them. Bools sort as uint8.

use super::{SymDims, SymInt, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, smallvec, Attr, DType, Emit, LowerError, Outputs};

/// Which call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKind {
    /// `topk(k, ..)`: values and indices of the k largest (or smallest).
    TopK { k: i64 },
    /// `sort`: values and indices.
    Sort,
    /// `argsort`: indices only.
    ArgSort,
}

/// Inputs: `[x]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sort {
    pub kind: SortKind,
    /// A non-negative dimension.
    pub dim: i64,
    /// Largest first (topk's `largest`, sort's `descending`).
    pub descending: bool,
}

impl OpDef for Sort {
    /// Values then indices; indices only for argsort.
    type Output = Vec<tch::Tensor>;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        let x = inputs.first()?.dtype;
        Some(if self.kind == SortKind::ArgSort { smallvec::smallvec![tapir_graph::DType::I64] } else { smallvec::smallvec![x, tapir_graph::DType::I64] })
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        let mut x = inputs.first()?.clone();
        if let SortKind::TopK { k } = self.kind {
            let d = super::shape::axis(self.dim, x.len().max(1))?;
            if let Some(s) = x.get_mut(d) {
                *s = SymInt::from(k);
            }
        }
        Some(vec![x; self.num_outputs()])
    }
    fn name(&self) -> &'static str {
        match self.kind {
            SortKind::TopK { .. } => "topk",
            SortKind::Sort => "sort",
            SortKind::ArgSort => "argsort",
        }
    }
    fn num_outputs(&self) -> usize {
        if self.kind == SortKind::ArgSort {
            1
        } else {
            2
        }
    }
    fn describe(&self) -> String {
        format!("{:?}, dim={}, descending={}", self.kind, self.dim, self.descending)
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<Vec<tch::Tensor>, tch::TchError> {
        let (values, indices) = match self.kind {
            SortKind::TopK { k } => t[0].f_topk(k, self.dim, self.descending, true)?,
            SortKind::Sort | SortKind::ArgSort => t[0].f_sort_stable(true, self.dim, self.descending)?,
        };
        Ok(if self.kind == SortKind::ArgSort { vec![indices] } else { vec![values, indices] })
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let dtype = cx.input_meta(0).dtype;
        let compute = if dtype == DType::Bool { DType::U8 } else { dtype };
        // A full sort takes the whole axis: its length, computed where it is dynamic.
        let k = match self.kind {
            SortKind::TopK { k } => SymInt::from(k),
            _ => cx.input_dims(0).get(self.dim as usize).copied().unwrap_or(SymInt::from(1)),
        };
        let kind = self.kind;
        let attrs = vec![
            ("axis", Attr::Int(self.dim)),
            ("largest", Attr::Int(self.descending as i64)),
            ("sorted", Attr::Int(1)),
        ];
        emit::rank0_as_rank1(cx, |cx, x| {
            let x = emit::cast(cx, x, dtype, compute);
            let k = cx.dims_tensor(&[k]);
            let outs = cx.node_n("TopK", &[x, k], attrs, 2);
            if kind == SortKind::ArgSort {
                return Ok(smallvec![outs[1]]);
            }
            Ok(smallvec![emit::cast(cx, outs[0], compute, dtype), outs[1]])
        })
    }
}

pub(super) const DOCS: &[OpDoc] = &[
    OpDoc { name: "topk", methods: "`topk`" },
    OpDoc { name: "sort", methods: "`sort`" },
    OpDoc { name: "argsort", methods: "`argsort`" },
];

impl Tensor {
    /// The `k` largest (`largest`) or smallest entries along `dim` and their indices, in order.
    /// `sorted` is tch's flag; the result is always sorted.
    #[track_caller]
    pub fn topk(&self, k: i64, dim: i64, largest: bool, sorted: bool) -> (Tensor, Tensor) {
        let _ = sorted;
        let op = Sort { kind: SortKind::TopK { k }, dim: self.norm_dim(dim), descending: largest };
        let mut outs = record(op, &[self]).into_iter();
        (outs.next().unwrap_or_default(), outs.next().unwrap_or_default())
    }

    /// The entries sorted along `dim` and their original indices (equal entries keep their
    /// order).
    #[track_caller]
    pub fn sort(&self, dim: i64, descending: bool) -> (Tensor, Tensor) {
        let op = Sort { kind: SortKind::Sort, dim: self.norm_dim(dim), descending };
        let mut outs = record(op, &[self]).into_iter();
        (outs.next().unwrap_or_default(), outs.next().unwrap_or_default())
    }

    /// The indices that sort `self` along `dim` (equal entries keep their order).
    #[track_caller]
    pub fn argsort(&self, dim: i64, descending: bool) -> Tensor {
        let op = Sort { kind: SortKind::ArgSort, dim: self.norm_dim(dim), descending };
        record(op, &[self]).into_iter().next().unwrap_or_default()
    }
}
