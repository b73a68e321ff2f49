//! softmax and log_softmax along one dimension.
//!
//! ONNX: Softmax / LogSoftmax with `axis`; from opset 13 they normalize along that single axis,
//! as torch does (https://onnx.ai/onnx/operators/onnx__Softmax.html).

use super::{SymDims, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, Emit, LowerError, Outputs};

#[derive(Debug, Clone, PartialEq)]
pub struct Softmax {
    pub dim: i64,
    pub log: bool,
    /// torch's `dtype`: the input is cast to it first.
    pub dtype: Option<tch::Kind>,
}

impl OpDef for Softmax {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::one(match self.dtype {
            Some(k) => super::dtype::of_kind(k)?,
            None => inputs.first()?.dtype,
        })
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        super::shape::same(inputs)
    }
    fn name(&self) -> &'static str {
        if self.log {
            "log_softmax"
        } else {
            "softmax"
        }
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        if self.log {
            t[0].f_log_softmax(self.dim, self.dtype)
        } else {
            t[0].f_softmax(self.dim, self.dtype)
        }
    }
    fn describe(&self) -> String {
        format!("dim={}", self.dim)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let (from, out) = (cx.input_meta(0).dtype, cx.output_meta(0).dtype);
        let op_type = if self.log { "LogSoftmax" } else { "Softmax" };
        emit::rank0_as_rank1(cx, |cx, x| {
            let x = emit::cast(cx, x, from, out);
            emit::one(cx.node(op_type, &[x], vec![("axis", Attr::Int(self.dim))]))
        })
    }
}

pub(super) const DOCS: &[OpDoc] = &[
    OpDoc { name: "softmax", methods: "`softmax`" },
    OpDoc { name: "log_softmax", methods: "`log_softmax`" },
];

impl Tensor {
    /// Softmax along `dim`, computed in `dtype` when given (tch's signature: `softmax(-1,
    /// Kind::Float)` or `softmax(-1, None)`); the input is cast to it first, as torch does.
    #[track_caller]
    pub fn softmax(&self, dim: i64, dtype: impl Into<Option<tch::Kind>>) -> Tensor {
        record(Softmax { dim: self.norm_dim(dim), log: false, dtype: dtype.into() }, &[self])
    }

    /// Log-softmax along `dim`, computed in `dtype` when given (as [`Tensor::softmax`]).
    #[track_caller]
    pub fn log_softmax(&self, dim: i64, dtype: impl Into<Option<tch::Kind>>) -> Tensor {
        record(Softmax { dim: self.norm_dim(dim), log: true, dtype: dtype.into() }, &[self])
    }
}
