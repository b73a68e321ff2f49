//! Reductions over dimensions (or all of them): sum, mean, amax, amin, prod.
//!
//! ONNX: ReduceSum (axes input from 13), ReduceMean / ReduceMax / ReduceMin / ReduceProd (axes
//! attribute up to 17, input from 18). Integer sums and products are widened to int64 as torch
//! does, by casting first.

use super::{SymDims, IntList, lowering, Dims, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, DType, Emit, LowerError, Outputs};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReduceKind {
    Sum,
    Mean,
    Max,
    Min,
    Prod,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reduce {
    pub kind: ReduceKind,
    /// Non-negative axes, sorted.
    pub dims: Dims,
    pub keepdim: bool,
    /// torch's `dtype` argument of sum and mean: the input is cast to it first.
    pub dtype: Option<tch::Kind>,
}

impl OpDef for Reduce {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        let x = inputs.first()?.dtype;
        super::dtype::one(match (self.dtype, self.kind) {
            (Some(k), _) => super::dtype::of_kind(k)?,
            (None, ReduceKind::Sum | ReduceKind::Prod) => super::dtype::accumulated(x),
            (None, _) => x,
        })
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        super::shape::reduced(inputs, &self.dims, self.keepdim, 1)
    }
    fn name(&self) -> &'static str {
        match self.kind {
            ReduceKind::Sum => "sum",
            ReduceKind::Mean => "mean",
            ReduceKind::Max => "amax",
            ReduceKind::Min => "amin",
            ReduceKind::Prod => "prod",
        }
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        let dims = self.dims.as_slice();
        match self.kind {
            ReduceKind::Sum => t[0].f_sum_dim_intlist(dims, self.keepdim, self.dtype),
            ReduceKind::Mean => t[0].f_mean_dim(dims, self.keepdim, self.dtype),
            ReduceKind::Max => t[0].f_amax(dims, self.keepdim),
            ReduceKind::Min => t[0].f_amin(dims, self.keepdim),
            // tch's prod reduces one dimension at a time (or all).
            ReduceKind::Prod => match dims {
                [d] if self.keepdim || t[0].dim() > 0 => t[0].f_prod_dim_int(*d, self.keepdim, self.dtype),
                _ => t[0].f_prod(self.dtype),
            },
        }
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
            ReduceKind::Prod => "ReduceProd",
        };
        // A sum, mean or product over an empty dimension is a constant (0, 0/0 = NaN, 1); runtimes differ on
        // reducing empty tensors, so it is written as one.
        if cx.input_meta(0).numel() == 0 && matches!(self.kind, ReduceKind::Sum | ReduceKind::Mean | ReduceKind::Prod) {
            let fill = match self.kind {
                ReduceKind::Sum => 0.0,
                ReduceKind::Prod => 1.0,
                _ => f64::NAN,
            };
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

pub(super) const DOCS: &[OpDoc] = &[
    OpDoc { name: "sum", methods: "`sum`, `sum_dim_intlist`" },
    OpDoc { name: "mean", methods: "`mean`, `mean_dim`" },
    OpDoc { name: "amax", methods: "`amax`" },
    OpDoc { name: "amin", methods: "`amin`" },
    OpDoc { name: "prod", methods: "`prod`, `prod_dim_int`" },
];

impl Tensor {
    #[track_caller]
    fn reduce(&self, kind: ReduceKind, dims: &[i64], keepdim: bool, dtype: Option<tch::Kind>) -> Tensor {
        let mut dims: Dims = if dims.is_empty() {
            (0..self.dim() as i64).collect()
        } else {
            dims.iter().map(|d| self.norm_dim(*d)).collect()
        };
        dims.sort_unstable();
        record(Reduce { kind, dims, keepdim, dtype }, &[self])
    }

    /// Sum of all elements (a 0-D tensor), computed in `dtype` when given (tch's signature).
    #[track_caller]
    pub fn sum(&self, dtype: impl Into<Option<tch::Kind>>) -> Tensor {
        self.reduce(ReduceKind::Sum, &[], false, dtype.into())
    }

    /// Sum over `dims` (all when empty), computed in `dtype` when given (tch's name).
    #[track_caller]
    pub fn sum_dim_intlist(&self, dims: impl IntList, keepdim: bool, dtype: impl Into<Option<tch::Kind>>) -> Tensor {
        self.reduce(ReduceKind::Sum, &dims.to_dims(), keepdim, dtype.into())
    }

    /// Mean of all elements (a 0-D tensor), computed in `dtype` when given (tch's signature).
    #[track_caller]
    pub fn mean(&self, dtype: impl Into<Option<tch::Kind>>) -> Tensor {
        self.reduce(ReduceKind::Mean, &[], false, dtype.into())
    }

    /// Mean over `dims` (all when empty), computed in `dtype` when given (tch's name).
    #[track_caller]
    pub fn mean_dim(&self, dims: impl IntList, keepdim: bool, dtype: impl Into<Option<tch::Kind>>) -> Tensor {
        self.reduce(ReduceKind::Mean, &dims.to_dims(), keepdim, dtype.into())
    }

    /// Product of all elements (a 0-D tensor), computed in `dtype` when given.
    #[track_caller]
    pub fn prod(&self, dtype: impl Into<Option<tch::Kind>>) -> Tensor {
        self.reduce(ReduceKind::Prod, &[], false, dtype.into())
    }

    /// Product along `dim`, computed in `dtype` when given.
    #[track_caller]
    pub fn prod_dim_int(&self, dim: i64, keepdim: bool, dtype: impl Into<Option<tch::Kind>>) -> Tensor {
        self.reduce(ReduceKind::Prod, &[dim], keepdim, dtype.into())
    }

    /// Maximum over `dims` (all dimensions when empty).
    #[track_caller]
    pub fn amax(&self, dims: impl IntList, keepdim: bool) -> Tensor {
        self.reduce(ReduceKind::Max, &dims.to_dims(), keepdim, None)
    }

    /// Minimum over `dims` (all dimensions when empty).
    #[track_caller]
    pub fn amin(&self, dims: impl IntList, keepdim: bool) -> Tensor {
        self.reduce(ReduceKind::Min, &dims.to_dims(), keepdim, None)
    }
}
