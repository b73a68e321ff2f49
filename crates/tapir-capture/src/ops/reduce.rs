//! Reductions over dimensions (or all of them): sum, mean, amax, amin.
//!
//! ONNX: ReduceSum (axes input from 13), ReduceMean / ReduceMax / ReduceMin (axes attribute up to
//! 17, input from 18). Integer sums are widened to int64 as torch does, by casting first.

use super::{lowering, OpDoc};
use crate::replay::replay1;
use crate::session::record1;
use crate::tensor::Tensor;
use tapir_graph::{emit, DType, Emit, LowerError, Op, Outputs, SourceLocation};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReduceKind {
    Sum,
    Mean,
    Max,
    Min,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reduce {
    pub kind: ReduceKind,
    /// Non-negative axes, sorted.
    pub dims: Vec<i64>,
    pub keepdim: bool,
}

impl Op for Reduce {
    replay1!(self, t, out => match self.kind { ReduceKind::Sum => t[0].f_sum_dim_intlist(self.dims.as_slice(), self.keepdim, None), ReduceKind::Mean => t[0].f_mean_dim(self.dims.as_slice(), self.keepdim, None), ReduceKind::Max => t[0].f_amax(self.dims.as_slice(), self.keepdim), ReduceKind::Min => t[0].f_amin(self.dims.as_slice(), self.keepdim) });
    fn name(&self) -> &'static str {
        match self.kind {
            ReduceKind::Sum => "sum",
            ReduceKind::Mean => "mean",
            ReduceKind::Max => "amax",
            ReduceKind::Min => "amin",
        }
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn describe(&self) -> String {
        format!("dims={:?}, keepdim={}", self.dims, self.keepdim)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let (from, out) = (cx.input_meta(0).dtype, cx.output_meta(0).dtype);
        // ReduceMax/ReduceMin have no bool form: max is any, min is all, computed on int32.
        let compute = if out == DType::Bool { DType::I32 } else { out };
        let op_type = match self.kind {
            ReduceKind::Sum => "ReduceSum",
            ReduceKind::Mean => "ReduceMean",
            ReduceKind::Max => "ReduceMax",
            ReduceKind::Min => "ReduceMin",
        };
        // A sum or mean over an empty dimension is a constant (0, or 0/0 = NaN); runtimes differ on
        // reducing empty tensors, so it is written as one.
        if cx.input_meta(0).numel() == 0 && matches!(self.kind, ReduceKind::Sum | ReduceKind::Mean) {
            let fill = if self.kind == ReduceKind::Sum { 0.0 } else { f64::NAN };
            let value = cx.const_scalar(out, fill);
            let shape = cx.const_i64s(&cx.output_meta(0).shape.clone());
            return emit::one(cx.node("Expand", &[value, shape], vec![]));
        }
        emit::rank0_as_rank1(cx, |cx, x| {
            let x = emit::cast(cx, x, from, compute);
            let r = lowering::reduce(cx, op_type, x, &self.dims, self.keepdim);
            emit::one(emit::cast(cx, r, compute, out))
        })
    }
}

pub const SUM: OpDoc = OpDoc { name: "sum", methods: "`sum`, `sum_dims`", onnx: "ReduceSum" };
pub const MEAN: OpDoc = OpDoc { name: "mean", methods: "`mean`, `mean_dims`", onnx: "ReduceMean" };
pub const AMAX: OpDoc = OpDoc { name: "amax", methods: "`amax`", onnx: "ReduceMax" };
pub const AMIN: OpDoc = OpDoc { name: "amin", methods: "`amin`", onnx: "ReduceMin" };

impl Tensor {
    fn reduce_op(&self, kind: ReduceKind, dims: &[i64], keepdim: bool) -> Reduce {
        let mut dims: Vec<i64> = if dims.is_empty() {
            (0..self.dim() as i64).collect()
        } else {
            dims.iter().map(|d| self.norm_dim(*d)).collect()
        };
        dims.sort_unstable();
        Reduce { kind, dims, keepdim }
    }

    /// Sum of all elements (a 0-D tensor).
    #[track_caller]
    pub fn sum(&self) -> Tensor {
        let op = || self.reduce_op(ReduceKind::Sum, &[], false);
        record1(op, &[self], SourceLocation::caller(), |t| t[0].f_sum(None))
    }

    /// Sum over `dims`.
    #[track_caller]
    pub fn sum_dims(&self, dims: &[i64], keepdim: bool) -> Tensor {
        let op = || self.reduce_op(ReduceKind::Sum, dims, keepdim);
        record1(op, &[self], SourceLocation::caller(), |t| t[0].f_sum_dim_intlist(dims, keepdim, None))
    }

    /// Mean of all elements (a 0-D tensor).
    #[track_caller]
    pub fn mean(&self) -> Tensor {
        let op = || self.reduce_op(ReduceKind::Mean, &[], false);
        record1(op, &[self], SourceLocation::caller(), |t| t[0].f_mean(None))
    }

    /// Mean over `dims`.
    #[track_caller]
    pub fn mean_dims(&self, dims: &[i64], keepdim: bool) -> Tensor {
        let op = || self.reduce_op(ReduceKind::Mean, dims, keepdim);
        record1(op, &[self], SourceLocation::caller(), |t| t[0].f_mean_dim(dims, keepdim, None))
    }

    /// Maximum over `dims` (all dimensions when empty).
    #[track_caller]
    pub fn amax(&self, dims: &[i64], keepdim: bool) -> Tensor {
        let op = || self.reduce_op(ReduceKind::Max, dims, keepdim);
        record1(op, &[self], SourceLocation::caller(), |t| t[0].f_amax(dims, keepdim))
    }

    /// Minimum over `dims` (all dimensions when empty).
    #[track_caller]
    pub fn amin(&self, dims: &[i64], keepdim: bool) -> Tensor {
        let op = || self.reduce_op(ReduceKind::Min, dims, keepdim);
        record1(op, &[self], SourceLocation::caller(), |t| t[0].f_amin(dims, keepdim))
    }
}
