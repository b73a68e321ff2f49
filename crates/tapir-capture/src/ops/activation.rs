//! Parameterized and composite activations: leaky_relu, elu, silu, hardswish.
//!
//! ONNX: LeakyRelu (alpha), Elu (alpha), silu as `x * Sigmoid(x)`, HardSwish from opset 14 and
//! `x * HardSigmoid(x; alpha=1/6, beta=0.5)` at opset 13
//! (https://onnx.ai/onnx/operators/onnx__HardSwish.html).

use super::{SymDims, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, Emit, LowerError, Outputs};

#[derive(Debug, Clone, PartialEq)]
pub struct LeakyRelu {
    pub negative_slope: f64,
}

impl OpDef for LeakyRelu {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        super::shape::same(inputs)
    }
    fn name(&self) -> &'static str {
        "leaky_relu"
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        // x > 0 ? x : x * slope, computed as ONNX does: max(x, 0) + min(x, 0) * slope.
        t[0].f_clamp_min(0.0)?.f_add(&t[0].f_clamp_max(0.0)?.f_mul_scalar(self.negative_slope)?)
    }
    fn describe(&self) -> String {
        format!("negative_slope={}", self.negative_slope)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let x = cx.input(0);
        emit::one(cx.node("LeakyRelu", &[x], vec![("alpha", Attr::Float(self.negative_slope as f32))]))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Elu {
    pub alpha: f64,
}

impl OpDef for Elu {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        super::shape::same(inputs)
    }
    fn name(&self) -> &'static str {
        "elu"
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        if self.alpha == 1.0 {
            return t[0].f_elu();
        }
        let neg = t[0].f_clamp_max(0.0)?.f_expm1()?.f_mul_scalar(self.alpha)?;
        t[0].f_clamp_min(0.0)?.f_add(&neg)
    }
    fn describe(&self) -> String {
        format!("alpha={}", self.alpha)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let x = cx.input(0);
        emit::one(cx.node("Elu", &[x], vec![("alpha", Attr::Float(self.alpha as f32))]))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Silu;

impl OpDef for Silu {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        super::shape::same(inputs)
    }
    fn name(&self) -> &'static str {
        "silu"
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        t[0].f_silu()
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let x = cx.input(0);
        let s = cx.node("Sigmoid", &[x], vec![]);
        emit::one(cx.node("Mul", &[x, s], vec![]))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Hardswish;

impl OpDef for Hardswish {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        super::shape::same(inputs)
    }
    fn name(&self) -> &'static str {
        "hardswish"
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        t[0].f_hardswish()
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let x = cx.input(0);
        if cx.opset() >= 14 {
            return emit::one(cx.node("HardSwish", &[x], vec![]));
        }
        let attrs = vec![("alpha", Attr::Float(1.0 / 6.0)), ("beta", Attr::Float(0.5))];
        let hs = cx.node("HardSigmoid", &[x], attrs);
        emit::one(cx.node("Mul", &[x, hs], vec![]))
    }
}

pub(super) const DOCS: &[OpDoc] = &[
    OpDoc { name: "leaky_relu", methods: "`leaky_relu`, `leaky_relu_with_slope`" },
    OpDoc { name: "elu", methods: "`elu`, `elu_with_alpha`" },
    OpDoc { name: "silu", methods: "`silu`" },
    OpDoc { name: "hardswish", methods: "`hardswish`" },
];

impl Tensor {
    /// `x` where positive, `0.01 * x` elsewhere (tch's `leaky_relu`, torch's default slope).
    #[track_caller]
    pub fn leaky_relu(&self) -> Tensor {
        record(LeakyRelu { negative_slope: 0.01 }, &[self])
    }

    /// `x` where positive, `negative_slope * x` elsewhere (torch's `negative_slope`, which
    /// tch's `leaky_relu` does not take).
    #[track_caller]
    pub fn leaky_relu_with_slope(&self, negative_slope: f64) -> Tensor {
        record(LeakyRelu { negative_slope }, &[self])
    }

    /// `x` where positive, `exp(x) - 1` elsewhere (tch's `elu`, alpha 1).
    #[track_caller]
    pub fn elu(&self) -> Tensor {
        record(Elu { alpha: 1.0 }, &[self])
    }

    /// `x` where positive, `alpha * (exp(x) - 1)` elsewhere (torch's `alpha`, which tch's `elu`
    /// does not take).
    #[track_caller]
    pub fn elu_with_alpha(&self, alpha: f64) -> Tensor {
        record(Elu { alpha }, &[self])
    }

    /// `x * sigmoid(x)`.
    #[track_caller]
    pub fn silu(&self) -> Tensor {
        record(Silu, &[self])
    }

    /// `x * relu6(x + 3) / 6`.
    #[track_caller]
    pub fn hardswish(&self) -> Tensor {
        record(Hardswish, &[self])
    }
}
