//! softmax and log_softmax along one dimension.
//!
//! ONNX: Softmax / LogSoftmax with `axis`; from opset 13 they normalize along that single axis,
//! as torch does (https://onnx.ai/onnx/operators/onnx__Softmax.html).

use super::OpDoc;
use crate::replay::replay1;
use crate::session::record1;
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, Emit, LowerError, Op, Outputs, SourceLocation};

#[derive(Debug, Clone, PartialEq)]
pub struct Softmax {
    pub dim: i64,
    pub log: bool,
}

impl Op for Softmax {
    replay1!(self, t, out => if self.log { t[0].f_log_softmax(self.dim, None) } else { t[0].f_softmax(self.dim, None) });
    fn name(&self) -> &'static str {
        if self.log {
            "log_softmax"
        } else {
            "softmax"
        }
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
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

pub const SOFTMAX: OpDoc = OpDoc { name: "softmax", methods: "`softmax` (with `dtype`: Cast first)", onnx: "Softmax" };
pub const LOG_SOFTMAX: OpDoc = OpDoc { name: "log_softmax", methods: "`log_softmax`", onnx: "LogSoftmax" };

impl Tensor {
    /// Softmax along `dim`, computed in `dtype` when given (tch's signature: `softmax(-1,
    /// Kind::Float)` or `softmax(-1, None)`); the input is cast to it first, as torch does.
    #[track_caller]
    pub fn softmax(&self, dim: i64, dtype: impl Into<Option<tch::Kind>>) -> Tensor {
        let x = self.cast_for(dtype.into());
        let op = || Softmax { dim: x.norm_dim(dim), log: false };
        record1(op, &[&*x], SourceLocation::caller(), |t| t[0].f_softmax(dim, None))
    }

    /// Log-softmax along `dim`, computed in `dtype` when given (as [`Tensor::softmax`]).
    #[track_caller]
    pub fn log_softmax(&self, dim: i64, dtype: impl Into<Option<tch::Kind>>) -> Tensor {
        let x = self.cast_for(dtype.into());
        let op = || Softmax { dim: x.norm_dim(dim), log: true };
        record1(op, &[&*x], SourceLocation::caller(), |t| t[0].f_log_softmax(dim, None))
    }

    /// `self` in `dtype` (a recorded cast) when one is given and differs; `self`, borrowed,
    /// otherwise (the common call costs nothing).
    #[track_caller]
    pub(crate) fn cast_for(&self, dtype: Option<tch::Kind>) -> std::borrow::Cow<'_, Tensor> {
        match dtype {
            Some(kind) if kind != self.kind() => std::borrow::Cow::Owned(self.to_kind(kind)),
            _ => std::borrow::Cow::Borrowed(self),
        }
    }
}
