//! any and all: whether some (every) entry is non-zero, over all dimensions or some.
//!
//! ONNX has no logical reductions: the input as bool, then int32, ReduceMax (any) or ReduceMin
//! (all), back to bool. Over no entries any is false and all is true, as in torch.

use super::{SymDims, lowering, Dims, IntList, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, DType, Emit, LowerError, Outputs};

/// Inputs: `[x]`.
#[derive(Debug, Clone, PartialEq)]
pub struct AnyAll {
    /// all; any otherwise.
    pub all: bool,
    /// Non-negative, sorted dimensions; empty only for a 0-d input.
    pub dims: Dims,
    pub keepdim: bool,
}

impl OpDef for AnyAll {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        // torch keeps uint8 for backward compatibility; every other dtype gives bool.
        let x = inputs.first()?.dtype;
        super::dtype::one(if x == tapir_graph::DType::U8 { x } else { tapir_graph::DType::Bool })
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        super::shape::reduced(inputs, &self.dims, self.keepdim, 1)
    }
    fn name(&self) -> &'static str {
        if self.all {
            "all"
        } else {
            "any"
        }
    }
    fn describe(&self) -> String {
        format!("dims={:?}, keepdim={}", self.dims, self.keepdim)
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        // torch reads an empty dims list as "no dimension": a 0-d input reduces with any()/all().
        if self.dims.is_empty() {
            return if self.all { t[0].f_all() } else { t[0].f_any() };
        }
        let dims = Some(self.dims.as_slice());
        if self.all {
            t[0].f_all_dims(dims, self.keepdim)
        } else {
            t[0].f_any_dims(dims, self.keepdim)
        }
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let meta = cx.input_meta(0).clone();
        let out = cx.output_meta(0).clone();
        if meta.numel() == 0 {
            let value = cx.const_scalar(DType::Bool, self.all as i64 as f64);
            let shape = cx.const_i64s(&out.shape);
            return emit::one(cx.node("Expand", &[value, shape], vec![]));
        }
        let dims: Dims = if self.dims.is_empty() { (0..meta.rank() as i64).collect() } else { self.dims.clone() };
        let reduce = if self.all { "ReduceMin" } else { "ReduceMax" };
        emit::rank0_as_rank1(cx, |cx, x| {
            let b = emit::cast(cx, x, meta.dtype, DType::Bool);
            let i = emit::cast(cx, b, DType::Bool, DType::I32);
            let dims: Dims = if meta.rank() == 0 { smallvec::smallvec![0] } else { dims };
            let r = lowering::reduce(cx, reduce, i, &dims, self.keepdim);
            emit::one(emit::cast(cx, r, DType::I32, DType::Bool))
        })
    }
}

pub(super) const DOCS: &[OpDoc] = &[
    OpDoc { name: "any", methods: "`any`, `any_dim`, `any_dims`" },
    OpDoc { name: "all", methods: "`all`, `all_dim`, `all_dims`" },
];

impl Tensor {
    #[track_caller]
    fn any_all(&self, all: bool, dims: &[i64], keepdim: bool) -> Tensor {
        let mut dims: Dims = if dims.is_empty() {
            (0..self.dim() as i64).collect()
        } else {
            dims.iter().map(|d| self.norm_dim(*d)).collect()
        };
        dims.sort_unstable();
        record(AnyAll { all, dims, keepdim }, &[self])
    }

    /// Whether any entry is non-zero (a 0-d bool).
    #[track_caller]
    pub fn any(&self) -> Tensor {
        self.any_all(false, &[], false)
    }

    /// Whether any entry along `dim` is non-zero.
    #[track_caller]
    pub fn any_dim(&self, dim: i64, keepdim: bool) -> Tensor {
        self.any_all(false, &[dim], keepdim)
    }

    /// Whether any entry along `dims` is non-zero.
    #[track_caller]
    pub fn any_dims(&self, dims: impl IntList, keepdim: bool) -> Tensor {
        self.any_all(false, &dims.to_dims(), keepdim)
    }

    /// Whether every entry is non-zero (a 0-d bool).
    #[track_caller]
    pub fn all(&self) -> Tensor {
        self.any_all(true, &[], false)
    }

    /// Whether every entry along `dim` is non-zero.
    #[track_caller]
    pub fn all_dim(&self, dim: i64, keepdim: bool) -> Tensor {
        self.any_all(true, &[dim], keepdim)
    }

    /// Whether every entry along `dims` is non-zero.
    #[track_caller]
    pub fn all_dims(&self, dims: impl IntList, keepdim: bool) -> Tensor {
        self.any_all(true, &dims.to_dims(), keepdim)
    }
}
