//! group_norm: normalize `[N, C, ...]` over groups of channels, then scale and shift per channel.
//!
//! ONNX: decomposed at every opset (GroupNormalization-18 scales per group, not per channel, and
//! was replaced in opset 21): Reshape to `[N, G, -1]`, ReduceMean for mean and (biased) variance,
//! normalize, Reshape back, then Mul/Add with the per-channel weight and bias broadcast as
//! `[C, 1, ...]`.

use super::{lowering, or_filled, OpDef, OpDoc, SymDims, SymInt};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Emit, LowerError, Outputs};

/// Inputs: `[x, weight, bias]`.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupNorm {
    pub num_groups: i64,
    pub eps: f64,
}

impl OpDef for GroupNorm {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        super::shape::same(inputs)
    }
    fn name(&self) -> &'static str {
        "group_norm"
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        t[0].f_group_norm(self.num_groups, Some(t[1]), Some(t[2]), self.eps, false)
    }
    fn describe(&self) -> String {
        format!("groups={}, eps={}", self.num_groups, self.eps)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let shape = cx.input_dims(0);
        let dtype = cx.input_meta(0).dtype;
        let (x, w, b) = (cx.input(0), cx.input(1), cx.input(2));
        let grouped = emit::reshape_dims(cx, x, &[shape[0], SymInt::from(self.num_groups), SymInt::from(-1)]);
        let normed = lowering::normalize(cx, grouped, &[2], self.eps, dtype);
        let normed = emit::reshape_dims(cx, normed, &shape);
        let mut per_channel = vec![shape[1]];
        per_channel.extend(std::iter::repeat_n(SymInt::from(1), shape.len() - 2));
        let w = emit::reshape_dims(cx, w, &per_channel);
        let b = emit::reshape_dims(cx, b, &per_channel);
        let scaled = cx.node("Mul", &[normed, w], vec![]);
        emit::one(cx.node("Add", &[scaled, b], vec![]))
    }
}

pub(super) const DOCS: &[OpDoc] = &[OpDoc { name: "group_norm", methods: "`group_norm`" }];

impl Tensor {
    /// Group normalization of `[N, C, ...]` with `num_groups` groups and per-channel affine.
    #[track_caller]
    pub fn group_norm<T: std::borrow::Borrow<Tensor>>(
        &self,
        num_groups: i64,
        weight: Option<T>,
        bias: Option<T>,
        eps: f64,
        cudnn_enabled: bool,
    ) -> Tensor {
        let _ = cudnn_enabled;
        let c = self.size_unchecked().get(1).copied().unwrap_or(1);
        let w = or_filled(weight, &[c], self, 1.0, "group_norm");
        let b = or_filled(bias, &[c], self, 0.0, "group_norm");
        record(GroupNorm { num_groups, eps }, &[self, &w, &b])
    }
}
