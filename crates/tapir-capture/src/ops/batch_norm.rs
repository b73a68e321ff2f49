//! batch_norm in inference mode: normalize with running statistics, then scale and shift.
//!
//! ONNX: BatchNormalization (inference form: https://onnx.ai/onnx/operators/onnx__BatchNormalization.html).
//! Training mode (batch statistics, running-stat updates) is refused inside a trace.

use super::{SymDims, or_filled, OpDef, OpDoc};
use crate::define::record;
use crate::session::refuse_in_trace;
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, Emit, LowerError, Outputs, SourceLocation};

/// Inputs: `[x, weight, bias, running_mean, running_var]`.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchNorm {
    pub eps: f64,
    pub momentum: f64,
    /// Batch statistics and running-stat updates (eager only: refused inside a trace).
    pub training: bool,
}

impl OpDef for BatchNorm {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        super::shape::same(inputs)
    }
    fn name(&self) -> &'static str {
        "batch_norm"
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        t[0].f_batch_norm(Some(t[1]), Some(t[2]), Some(t[3]), Some(t[4]), self.training, self.momentum, self.eps, false)
    }
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

pub(super) const DOCS: &[OpDoc] = &[OpDoc { name: "batch_norm", methods: "`batch_norm` (inference)" }];

impl Tensor {
    /// Batch normalization over dimension 1 of `[N, C, ...]` (tch's signature; `cudnn_enabled`
    /// does not change values). With `training = true` it uses batch statistics and updates the
    /// running ones (eager only: refused inside a trace). Running statistics are required.
    #[allow(clippy::too_many_arguments)]
    #[track_caller]
    pub fn batch_norm<T: std::borrow::Borrow<Tensor>>(
        &self,
        weight: Option<T>,
        bias: Option<T>,
        running_mean: Option<T>,
        running_var: Option<T>,
        training: bool,
        momentum: f64,
        eps: f64,
        cudnn_enabled: bool,
    ) -> Tensor {
        let _ = cudnn_enabled;
        let location = SourceLocation::caller();
        let (Some(running_mean), Some(running_var)) = (running_mean, running_var) else {
            let message = "batch_norm without running statistics is not supported: pass running_mean and running_var".to_owned();
            return super::bad_argument("batch_norm", message);
        };
        let (running_mean, running_var) = (running_mean.borrow(), running_var.borrow());
        if training {
            let reason = "batch_norm in training mode uses batch statistics and updates the running ones; trace with training = false (eval mode)";
            if let Some(refused) = refuse_in_trace("batch_norm", location, reason) {
                return refused;
            }
        }
        let c = self.size_unchecked().get(1).copied().unwrap_or(1);
        let w = or_filled(weight, &[c], self, 1.0, "batch_norm");
        let b = or_filled(bias, &[c], self, 0.0, "batch_norm");
        record(BatchNorm { eps, momentum, training }, &[self, &w, &b, running_mean, running_var])
    }
}
