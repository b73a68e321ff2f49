//! rms_norm: `x / sqrt(mean(x^2) + eps) * weight` over the trailing `normalized_shape`
//! dimensions (torch.nn.functional.rms_norm); `eps` defaults to the dtype's machine epsilon.
//!
//! ONNX: RMSNormalization (https://onnx.ai/onnx/operators/onnx__RMSNormalization.html) from
//! opset 23 (a scale of ones when there is no weight); below, written out: Mul, ReduceMean,
//! Add, Sqrt, Div, Mul.

use super::{SymDims, lowering, Dims, IntList, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, DType, Emit, LowerError, Outputs};

/// Inputs: `[x]` or `[x, weight]`.
#[derive(Debug, Clone, PartialEq)]
pub struct RmsNorm {
    pub normalized_shape: Dims,
    pub eps: Option<f64>,
}

impl OpDef for RmsNorm {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        super::shape::same(inputs)
    }
    fn name(&self) -> &'static str {
        "rms_norm"
    }
    fn describe(&self) -> String {
        format!("normalized_shape={:?}, eps={:?}", self.normalized_shape, self.eps)
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        t[0].f_rms_norm(self.normalized_shape.as_slice(), t.get(1).copied(), self.eps)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let dtype = cx.output_meta(0).dtype;
        let rank = cx.input_meta(0).rank() as i64;
        let axes: Vec<i64> = (rank - self.normalized_shape.len() as i64..rank).collect();
        let eps = self.eps.unwrap_or(match dtype {
            DType::F64 => f64::EPSILON,
            DType::F16 => 0.0009765625,
            DType::BF16 => 0.0078125,
            _ => f32::EPSILON as f64,
        });
        let x = emit::input_as(cx, 0, dtype);
        if cx.opset() >= 23 && dtype.is_float() {
            let scale = if cx.num_inputs() > 1 {
                emit::input_as(cx, 1, dtype)
            } else {
                let one = cx.const_scalar(dtype, 1.0);
                let shape = cx.const_i64s(&self.normalized_shape);
                cx.node("Expand", &[one, shape], vec![])
            };
            let first = rank - self.normalized_shape.len() as i64;
            let attrs = vec![("axis", Attr::Int(first)), ("epsilon", Attr::Float(eps as f32))];
            return emit::one(cx.node("RMSNormalization", &[x, scale], attrs));
        }
        let sq = cx.node("Mul", &[x, x], vec![]);
        let ms = lowering::reduce(cx, "ReduceMean", sq, &axes, true);
        let eps = cx.const_scalar(dtype, eps);
        let ms = cx.node("Add", &[ms, eps], vec![]);
        let rms = cx.node("Sqrt", &[ms], vec![]);
        let mut y = cx.node("Div", &[x, rms], vec![]);
        if cx.num_inputs() > 1 {
            let w = emit::input_as(cx, 1, dtype);
            y = cx.node("Mul", &[y, w], vec![]);
        }
        emit::one(y)
    }
}

pub(super) const DOCS: &[OpDoc] = &[OpDoc { name: "rms_norm", methods: "`rms_norm`" }];

impl Tensor {
    /// RMS normalization over the trailing `normalized_shape` dimensions, scaled by `weight`.
    #[track_caller]
    pub fn rms_norm<T: std::borrow::Borrow<Tensor>>(
        &self,
        normalized_shape: impl IntList,
        weight: Option<T>,
        eps: impl Into<Option<f64>>,
    ) -> Tensor {
        let op = RmsNorm { normalized_shape: normalized_shape.to_dims(), eps: eps.into() };
        match &weight {
            Some(w) => record(op, &[self, w.borrow()]),
            None => record(op, &[self]),
        }
    }
}
