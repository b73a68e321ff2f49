//! batch_norm in inference mode: normalize with running statistics, then scale and shift.
//!
//! ONNX: BatchNormalization (inference form: https://onnx.ai/onnx/operators/onnx__BatchNormalization.html).
//! Training mode (batch statistics, running-stat updates) is refused inside a trace.

use super::OpDoc;
use crate::replay::replay1;
use crate::session::{record1, record_literal, refuse_in_trace};
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, Emit, LowerError, Op, Outputs, SourceLocation};

/// Inputs: `[x, weight, bias, running_mean, running_var]`.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchNorm {
    pub eps: f64,
    pub momentum: f64,
}

impl Op for BatchNorm {
    replay1!(self, t, out => t[0].f_batch_norm(Some(t[1]), Some(t[2]), Some(t[3]), Some(t[4]), false, self.momentum, self.eps, false));
    tapir_graph::op_name!("batch_norm");
    fn describe(&self) -> String {
        format!("eps={}", self.eps)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let ins: Vec<_> = (0..5).map(|i| cx.input(i)).collect();
        let attrs =
            vec![("epsilon", Attr::Float(self.eps as f32)), ("momentum", Attr::Float(1.0 - self.momentum as f32))];
        emit::one(cx.node("BatchNormalization", &ins, attrs))
    }
}

pub const DOC: OpDoc = OpDoc { name: "batch_norm", methods: "`batch_norm` (inference)", onnx: "BatchNormalization" };

/// `t`, or a literal of `shape` filled with `fill` (an absent affine weight or bias).
#[track_caller]
pub(crate) fn or_filled(t: Option<&Tensor>, shape: &[i64], like: &Tensor, fill: f64, op: &'static str) -> Tensor {
    match t {
        Some(t) => t.shallow_clone(),
        None => {
            let location = SourceLocation::caller();
            match tch::Tensor::f_full(shape, fill, (like.kind(), like.device())) {
                Ok(v) => record_literal(v, op, location),
                Err(e) => crate::session::failed(std::sync::Arc::new(crate::CaptureError::Op {
                    op,
                    location,
                    message: crate::session::torch_message(&e),
                })),
            }
        }
    }
}

impl Tensor {
    /// Batch normalization over dimension 1 of `[N, C, ...]`. With `training = true` it uses
    /// batch statistics and updates the running ones (eager only: refused inside a trace).
    #[allow(clippy::too_many_arguments)]
    #[track_caller]
    pub fn batch_norm(
        &self,
        weight: Option<&Tensor>,
        bias: Option<&Tensor>,
        running_mean: &Tensor,
        running_var: &Tensor,
        training: bool,
        momentum: f64,
        eps: f64,
    ) -> Tensor {
        let location = SourceLocation::caller();
        if training {
            let reason = "batch_norm in training mode uses batch statistics and updates the running ones; trace with training = false (eval mode)";
            if let Some(refused) = refuse_in_trace("batch_norm", location, reason) {
                return refused;
            }
        }
        let c = self.size().get(1).copied().unwrap_or(1);
        let w = or_filled(weight, &[c], self, 1.0, "batch_norm");
        let b = or_filled(bias, &[c], self, 0.0, "batch_norm");
        let op = || BatchNorm { eps, momentum };
        record1(op, &[self, &w, &b, running_mean, running_var], location, |t| {
            t[0].f_batch_norm(Some(t[1]), Some(t[2]), Some(t[3]), Some(t[4]), training, momentum, eps, false)
        })
    }
}
