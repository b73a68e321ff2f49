//! layer_norm over the trailing `normalized_shape` dimensions.
//!
//! ONNX: LayerNormalization from opset 17 (https://onnx.ai/onnx/operators/onnx__LayerNormalization.html).
//! Below 17 it is decomposed: `(x - mean) / sqrt(var + eps) * weight + bias` with ReduceMean
//! over the normalized axes (biased variance, as torch).

use super::{SymDims, lowering, or_filled, Dims, IntList, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, Emit, LowerError, Outputs};

/// Inputs: `[x, weight, bias]`.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerNorm {
    /// The trailing dimensions normalized.
    pub normalized_shape: Dims,
    pub eps: f64,
}

impl OpDef for LayerNorm {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        super::shape::same(inputs)
    }
    fn name(&self) -> &'static str {
        "layer_norm"
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        t[0].f_layer_norm(self.normalized_shape.as_slice(), Some(t[1]), Some(t[2]), self.eps, false)
    }
    fn describe(&self) -> String {
        format!("normalized_shape={:?}, eps={}", self.normalized_shape, self.eps)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let (x, w, b) = (cx.input(0), cx.input(1), cx.input(2));
        let rank = cx.input_meta(0).rank() as i64;
        let first = rank - self.normalized_shape.len() as i64;
        if cx.opset() >= 17 {
            let attrs = vec![("axis", Attr::Int(first)), ("epsilon", Attr::Float(self.eps as f32))];
            return emit::one(cx.node("LayerNormalization", &[x, w, b], attrs));
        }
        let dtype = cx.input_meta(0).dtype;
        let axes: Vec<i64> = (first..rank).collect();
        let normed = lowering::normalize(cx, x, &axes, self.eps, dtype);
        let scaled = cx.node("Mul", &[normed, w], vec![]);
        emit::one(cx.node("Add", &[scaled, b], vec![]))
    }
}

pub(super) const DOCS: &[OpDoc] = &[OpDoc { name: "layer_norm", methods: "`layer_norm`" }];

impl Tensor {
    /// Layer normalization over the trailing dimensions given by `normalized_shape` (tch's
    /// signature; `cudnn_enable` does not change values).
    #[track_caller]
    pub fn layer_norm<T: std::borrow::Borrow<Tensor>>(
        &self,
        normalized_shape: impl IntList,
        weight: Option<T>,
        bias: Option<T>,
        eps: f64,
        cudnn_enable: bool,
    ) -> Tensor {
        let _ = cudnn_enable;
        let normalized_shape = normalized_shape.to_dims();
        let w = or_filled(weight, &normalized_shape, self, 1.0, "layer_norm");
        let b = or_filled(bias, &normalized_shape, self, 0.0, "layer_norm");
        record(LayerNorm { normalized_shape, eps }, &[self, &w, &b])
    }
}
