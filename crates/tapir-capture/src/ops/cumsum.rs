//! cumsum: running sums along a dimension, in the input's dtype (integers and bools as int64,
//! as torch), or in `dtype` when given.
//!
//! ONNX: CumSum (https://onnx.ai/onnx/operators/onnx__CumSum.html, opset 11+) with the axis as a
//! constant input; the input is cast to the output dtype first.

use super::{SymDims, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, DType, Emit, LowerError, Outputs};

/// Inputs: `[x]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Cumsum {
    pub dim: i64,
    pub dtype: Option<tch::Kind>,
}

impl OpDef for Cumsum {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::one(match self.dtype {
            Some(k) => super::dtype::of_kind(k)?,
            None => super::dtype::accumulated(inputs.first()?.dtype),
        })
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        super::shape::same(inputs)
    }
    fn name(&self) -> &'static str {
        "cumsum"
    }
    fn describe(&self) -> String {
        format!("dim={}", self.dim)
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        t[0].f_cumsum(self.dim, self.dtype)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let out = cx.output_meta(0).dtype;
        let from = cx.input_meta(0).dtype;
        // Bools count in int32, cast to int64 after (tract cannot sum a bool cast to int64),
        // exact while the count fits: below 2^31 entries.
        let compute = if from == DType::Bool && cx.input_meta(0).numel() < (1 << 31) { DType::I32 } else { out };
        // CumSum (like torch's cumsum of a 0-d tensor over dim 0) runs on a [1] view of a 0-d input.
        let scalar = cx.input_meta(0).rank() == 0;
        let mut x = emit::input_as(cx, 0, compute);
        if scalar {
            x = emit::reshape(cx, x, &[1]);
        }
        let axis = cx.const_scalar_i64(DType::I64, self.dim);
        let mut y = cx.node("CumSum", &[x, axis], vec![]);
        if scalar {
            y = emit::reshape(cx, y, &[]);
        }
        emit::one(emit::cast(cx, y, compute, out))
    }
}

pub(super) const DOCS: &[OpDoc] = &[OpDoc { name: "cumsum", methods: "`cumsum`" }];

impl Tensor {
    /// Running sums along `dim`, computed in `dtype` when given.
    #[track_caller]
    pub fn cumsum(&self, dim: i64, dtype: impl Into<Option<tch::Kind>>) -> Tensor {
        let dim = if self.dim() == 0 && matches!(dim, 0 | -1) { 0 } else { self.norm_dim(dim) };
        record(Cumsum { dim, dtype: dtype.into() }, &[self])
    }
}
