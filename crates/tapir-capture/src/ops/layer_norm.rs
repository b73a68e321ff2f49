//! layer_norm over the trailing `normalized_shape` dimensions.
//!
//! ONNX: LayerNormalization from opset 17 (https://onnx.ai/onnx/operators/onnx__LayerNormalization.html).
//! Below 17 it is decomposed: `(x - mean) / sqrt(var + eps) * weight + bias` with ReduceMean
//! over the normalized axes (biased variance, as torch).

use super::batch_norm::or_filled;
use super::{lowering, OpDoc};
use crate::replay::replay1;
use crate::session::record1;
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, Emit, LowerError, Op, Outputs, SourceLocation};

/// Inputs: `[x, weight, bias]`.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerNorm {
    /// Number of trailing dimensions normalized.
    pub normalized_dims: usize,
    pub eps: f64,
}

impl Op for LayerNorm {
    replay1!(self, t, out => { let shape = t[0].size(); let k = shape.len().saturating_sub(self.normalized_dims); t[0].f_layer_norm(&shape[k..], Some(t[1]), Some(t[2]), self.eps, false) });
    tapir_graph::op_name!("layer_norm");
    fn describe(&self) -> String {
        format!("dims={}, eps={}", self.normalized_dims, self.eps)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let (x, w, b) = (cx.input(0), cx.input(1), cx.input(2));
        let rank = cx.input_meta(0).rank() as i64;
        let first = rank - self.normalized_dims as i64;
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

pub const DOC: OpDoc = OpDoc {
    name: "layer_norm",
    methods: "`layer_norm`",
    onnx: "LayerNormalization (17+); ReduceMean, Sub, Mul, Add, Sqrt, Div (13-16)",
};

impl Tensor {
    /// Layer normalization over the trailing dimensions given by `normalized_shape`.
    #[track_caller]
    pub fn layer_norm(
        &self,
        normalized_shape: &[i64],
        weight: Option<&Tensor>,
        bias: Option<&Tensor>,
        eps: f64,
    ) -> Tensor {
        let location = SourceLocation::caller();
        let w = or_filled(weight, normalized_shape, self, 1.0, "layer_norm");
        let b = or_filled(bias, normalized_shape, self, 0.0, "layer_norm");
        let op = || LayerNorm { normalized_dims: normalized_shape.len(), eps };
        record1(op, &[self, &w, &b], location, |t| {
            t[0].f_layer_norm(normalized_shape, Some(t[1]), Some(t[2]), eps, false)
        })
    }
}
