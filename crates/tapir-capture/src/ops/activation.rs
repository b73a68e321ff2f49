//! Parameterized and composite activations: leaky_relu, elu, silu, hardswish.
//!
//! ONNX: LeakyRelu (alpha), Elu (alpha), silu as `x * Sigmoid(x)`, HardSwish from opset 14 and
//! `x * HardSigmoid(x; alpha=1/6, beta=0.5)` at opset 13
//! (https://onnx.ai/onnx/operators/onnx__HardSwish.html).

use super::OpDoc;
use crate::replay::replay1;
use crate::session::record1;
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, Emit, LowerError, Op, Outputs, SourceLocation};

#[derive(Debug, Clone, PartialEq)]
pub struct LeakyRelu {
    pub negative_slope: f64,
}

impl Op for LeakyRelu {
    replay1!(self, t, out => t[0].f_clamp_min(0.0)?.f_add(&t[0].f_clamp_max(0.0)?.f_mul_scalar(self.negative_slope)?));
    tapir_graph::op_name!("leaky_relu");
    fn describe(&self) -> String {
        format!("negative_slope={}", self.negative_slope)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let x = cx.input(0);
        emit::one(cx.node("LeakyRelu", &[x], vec![("alpha", Attr::Float(self.negative_slope as f32))]))
    }
}

pub const LEAKY_RELU: OpDoc = OpDoc { name: "leaky_relu", methods: "`leaky_relu`", onnx: "LeakyRelu" };

#[derive(Debug, Clone, PartialEq)]
pub struct Elu {
    pub alpha: f64,
}

impl Op for Elu {
    replay1!(self, t, out => if self.alpha == 1.0 { t[0].f_elu() } else { t[0].f_clamp_min(0.0)?.f_add(&t[0].f_clamp_max(0.0)?.f_expm1()?.f_mul_scalar(self.alpha)?) });
    tapir_graph::op_name!("elu");
    fn describe(&self) -> String {
        format!("alpha={}", self.alpha)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let x = cx.input(0);
        emit::one(cx.node("Elu", &[x], vec![("alpha", Attr::Float(self.alpha as f32))]))
    }
}

pub const ELU: OpDoc = OpDoc { name: "elu", methods: "`elu`", onnx: "Elu" };

#[derive(Debug, Clone, PartialEq)]
pub struct Silu;

impl Op for Silu {
    replay1!(self, t, out => t[0].f_silu());
    tapir_graph::op_name!("silu");
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let x = cx.input(0);
        let s = cx.node("Sigmoid", &[x], vec![]);
        emit::one(cx.node("Mul", &[x, s], vec![]))
    }
}

pub const SILU: OpDoc = OpDoc { name: "silu", methods: "`silu`", onnx: "Sigmoid, Mul" };

#[derive(Debug, Clone, PartialEq)]
pub struct Hardswish;

impl Op for Hardswish {
    replay1!(self, t, out => t[0].f_hardswish());
    tapir_graph::op_name!("hardswish");
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

pub const HARDSWISH: OpDoc =
    OpDoc { name: "hardswish", methods: "`hardswish`", onnx: "HardSwish (14+); HardSigmoid, Mul (13)" };

impl Tensor {
    /// `x` where positive, `negative_slope * x` elsewhere (torch's default slope is 0.01).
    #[track_caller]
    pub fn leaky_relu(&self, negative_slope: f64) -> Tensor {
        let op = || LeakyRelu { negative_slope };
        record1(op, &[self], SourceLocation::caller(), |t| {
            // x > 0 ? x : x * slope, computed exactly: max(x,0) + min(x,0) * slope.
            t[0].f_clamp_min(0.0)?.f_add(&t[0].f_clamp_max(0.0)?.f_mul_scalar(negative_slope)?)
        })
    }

    /// `x` where positive, `alpha * (exp(x) - 1)` elsewhere.
    #[track_caller]
    pub fn elu(&self, alpha: f64) -> Tensor {
        record1(
            || Elu { alpha },
            &[self],
            SourceLocation::caller(),
            |t| {
                if alpha == 1.0 {
                    t[0].f_elu()
                } else {
                    let neg = t[0].f_clamp_max(0.0)?.f_expm1()?.f_mul_scalar(alpha)?;
                    t[0].f_clamp_min(0.0)?.f_add(&neg)
                }
            },
        )
    }

    /// `x * sigmoid(x)`.
    #[track_caller]
    pub fn silu(&self) -> Tensor {
        record1(|| Silu, &[self], SourceLocation::caller(), |t| t[0].f_silu())
    }

    /// `x * relu6(x + 3) / 6`.
    #[track_caller]
    pub fn hardswish(&self) -> Tensor {
        record1(|| Hardswish, &[self], SourceLocation::caller(), |t| t[0].f_hardswish())
    }
}
