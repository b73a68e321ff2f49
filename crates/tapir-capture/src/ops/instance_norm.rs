//! instance_norm: normalize each channel of each sample over its spatial dimensions, then scale
//! and shift per channel (inference with input statistics, torch's default for InstanceNorm
//! without running stats).
//!
//! ONNX: InstanceNormalization (https://onnx.ai/onnx/operators/onnx__InstanceNormalization.html)
//! with scale and bias (ones and zeros when absent). Running statistics (`use_input_stats =
//! false`) are refused: torch then normalizes like batch_norm, which is what to call instead.

use super::{SymDims, bad_argument, or_filled, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, Emit, LowerError, Outputs};

/// Inputs: `[x, weight, bias]`.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceNorm {
    pub eps: f64,
}

impl OpDef for InstanceNorm {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        super::shape::same(inputs)
    }
    fn name(&self) -> &'static str {
        "instance_norm"
    }
    fn describe(&self) -> String {
        format!("eps={}", self.eps)
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        t[0].f_instance_norm(Some(t[1]), Some(t[2]), None::<&tch::Tensor>, None::<&tch::Tensor>, true, 0.1, self.eps, false)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let (x, w, b) = (cx.input(0), cx.input(1), cx.input(2));
        emit::one(cx.node("InstanceNormalization", &[x, w, b], vec![("epsilon", Attr::Float(self.eps as f32))]))
    }
}

pub(super) const DOCS: &[OpDoc] = &[OpDoc { name: "instance_norm", methods: "`instance_norm`" }];

impl Tensor {
    /// Instance normalization of `[N, C, ...]` with per-channel affine (tch's signature; only
    /// `use_input_stats = true`, the inference form of InstanceNorm without running stats).
    #[allow(clippy::too_many_arguments)]
    #[track_caller]
    pub fn instance_norm(
        &self,
        weight: Option<&Tensor>,
        bias: Option<&Tensor>,
        running_mean: Option<&Tensor>,
        running_var: Option<&Tensor>,
        use_input_stats: bool,
        momentum: f64,
        eps: f64,
        cudnn_enabled: bool,
    ) -> Tensor {
        let _ = (running_mean, running_var, momentum, cudnn_enabled);
        if !use_input_stats {
            let why = "use_input_stats = false normalizes with running statistics: call batch_norm with them";
            return bad_argument("instance_norm", why.to_owned());
        }
        let c = self.size_unchecked().get(1).copied().unwrap_or(1);
        let w = or_filled(weight, &[c], self, 1.0, "instance_norm");
        let b = or_filled(bias, &[c], self, 0.0, "instance_norm");
        record(InstanceNorm { eps }, &[self, &w, &b])
    }
}
