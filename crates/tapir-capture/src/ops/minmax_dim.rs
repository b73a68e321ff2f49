//! max and min along one dimension, returning values and indices (`torch.max(x, dim)`).
//!
//! ONNX: ReduceMax/ReduceMin for the values (axes attribute up to 17, input from 18) and
//! ArgMax/ArgMin (first occurrence, as torch) for the indices.

use super::{SymDims, lowering, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, smallvec, Attr, DType, Emit, LowerError, Outputs};

#[derive(Debug, Clone, PartialEq)]
pub struct MinMaxDim {
    pub max: bool,
    pub dim: i64,
    pub keepdim: bool,
}

impl OpDef for MinMaxDim {
    /// The values, then their indices.
    type Output = (tch::Tensor, tch::Tensor);
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        Some(smallvec::smallvec![inputs.first()?.dtype, tapir_graph::DType::I64])
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        super::shape::reduced(inputs, &[self.dim], self.keepdim, 2)
    }
    fn name(&self) -> &'static str {
        if self.max {
            "max_dim"
        } else {
            "min_dim"
        }
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<(tch::Tensor, tch::Tensor), tch::TchError> {
        if self.max {
            t[0].f_max_dim(self.dim, self.keepdim)
        } else {
            t[0].f_min_dim(self.dim, self.keepdim)
        }
    }
    fn describe(&self) -> String {
        format!("dim={}, keepdim={}", self.dim, self.keepdim)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let (reduce, arg) = if self.max { ("ReduceMax", "ArgMax") } else { ("ReduceMin", "ArgMin") };
        let from = cx.input_meta(0).dtype;
        // The reductions have no bool form: bools compare as int32.
        let compute = if from == DType::Bool { DType::I32 } else { from };
        emit::rank0_as_rank1(cx, |cx, x| {
            let x = emit::cast(cx, x, from, compute);
            let values = lowering::reduce(cx, reduce, x, &[self.dim], self.keepdim);
            let values = emit::cast(cx, values, compute, from);
            let attrs = vec![("axis", Attr::Int(self.dim)), ("keepdims", Attr::Int(self.keepdim as i64))];
            let indices = cx.node(arg, &[x], attrs);
            Ok(smallvec![values, indices])
        })
    }
}

pub(super) const DOCS: &[OpDoc] =
    &[OpDoc { name: "max_dim", methods: "`max_dim`" }, OpDoc { name: "min_dim", methods: "`min_dim`" }];

impl Tensor {
    /// Maximum values along `dim` and their indices.
    #[track_caller]
    pub fn max_dim(&self, dim: i64, keepdim: bool) -> (Tensor, Tensor) {
        record(MinMaxDim { max: true, dim: self.norm_dim(dim), keepdim }, &[self])
    }

    /// Minimum values along `dim` and their indices.
    #[track_caller]
    pub fn min_dim(&self, dim: i64, keepdim: bool) -> (Tensor, Tensor) {
        record(MinMaxDim { max: false, dim: self.norm_dim(dim), keepdim }, &[self])
    }
}
