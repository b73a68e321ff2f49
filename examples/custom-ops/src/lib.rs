#![doc = include_str!("../../../docs/custom-ops.md")]
//!
//! The three ops of this crate, tested in `tests/custom_ops.rs`:
//! - [`logsumexp`]: an op tapir does not have, lowered to standard ONNX ops;
//! - [`fast_gelu`]: lowered to ONNX Runtime's `com.microsoft::FastGelu`, a custom domain;
//! - [`gelu_without_gelu_op`]: export options replacing the built-in `gelu` lowering.

use tapir::op::{emit, lowering, Emit, LowerError, Op, OpDef, Outputs};
use tapir::{ExportOptions, Tensor};

/// `log(sum(exp(x)))` along `dim`, computed stably (torch's `logsumexp`). Inputs: `[x]`.
#[derive(Debug, Clone, PartialEq)]
pub struct LogSumExp {
    /// A non-negative dimension.
    pub dim: i64,
    pub keepdim: bool,
}

impl OpDef for LogSumExp {
    type Output = tch::Tensor;

    fn name(&self) -> &'static str {
        "logsumexp"
    }

    fn describe(&self) -> String {
        format!("dim={}, keepdim={}", self.dim, self.keepdim)
    }

    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        t[0].f_logsumexp([self.dim].as_slice(), self.keepdim)
    }

    /// `max + log(sum(exp(x - max)))`, with a max of ±inf replaced by 0 (so a row of -inf gives
    /// -inf, not NaN, as in torch).
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let dtype = cx.output_meta(0).dtype;
        if !dtype.is_float() {
            return Err(LowerError::new("logsumexp", cx.opset(), format!("{dtype} output: floats only")));
        }
        let x = emit::input_as(cx, 0, dtype);
        let max = lowering::reduce(cx, "ReduceMax", x, &[self.dim], true);
        let infinite = cx.node("IsInf", &[max], vec![]);
        let zero = cx.const_scalar(dtype, 0.0);
        let max = cx.node("Where", &[infinite, zero, max], vec![]);
        let shifted = cx.node("Sub", &[x, max], vec![]);
        let e = cx.node("Exp", &[shifted], vec![]);
        let sum = lowering::reduce(cx, "ReduceSum", e, &[self.dim], true);
        let log = cx.node("Log", &[sum], vec![]);
        let mut y = cx.node("Add", &[log, max], vec![]);
        if !self.keepdim {
            y = emit::squeeze(cx, y, &[self.dim]);
        }
        emit::one(y)
    }
}

/// `x.logsumexp(dim, keepdim)`: recorded as [`LogSumExp`] while a trace is active.
#[track_caller]
pub fn logsumexp(x: &Tensor, dim: i64, keepdim: bool) -> Tensor {
    let dim = if dim < 0 { dim + x.dim() as i64 } else { dim };
    tapir::op::record(LogSumExp { dim, keepdim }, &[x])
}

/// GELU, tanh approximation, written for ONNX Runtime as its contrib op
/// `com.microsoft::FastGelu` (one fused kernel). Runtimes without that domain cannot run it.
#[derive(Debug, Clone, PartialEq)]
pub struct FastGelu;

impl OpDef for FastGelu {
    type Output = tch::Tensor;

    fn name(&self) -> &'static str {
        "fast_gelu"
    }

    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        t[0].f_gelu("tanh")
    }

    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let x = cx.input(0);
        Ok(cx.domain_node("com.microsoft", 1, "FastGelu", &[x], vec![], 1))
    }
}

/// GELU (tanh approximation) as [`FastGelu`].
#[track_caller]
pub fn fast_gelu(x: &Tensor) -> Tensor {
    tapir::op::record(FastGelu, &[x])
}

/// Export options at `opset` for a runtime without ONNX's `Gelu` (opset 20): the built-in
/// `gelu` is written as `0.5 * x * (1 + erf(x / sqrt(2)))` (or its tanh form) at every opset.
pub fn gelu_without_gelu_op(opset: i64) -> ExportOptions {
    ExportOptions::with_opset(opset).lower_with("gelu", lower_gelu)
}

fn lower_gelu(op: &dyn Op, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
    let gelu = op
        .as_any()
        .downcast_ref::<tapir::ops::gelu::Gelu>()
        .ok_or_else(|| LowerError::new("gelu", cx.opset(), "the replacement expects tapir's Gelu"))?;
    let x = cx.input(0);
    let dtype = cx.input_meta(0).dtype;
    let c = |cx: &mut dyn Emit, v: f64| cx.const_scalar(dtype, v);
    let inner = if gelu.tanh {
        // tanh(sqrt(2 / pi) * (x + 0.044715 x^3))
        let x2 = cx.node("Mul", &[x, x], vec![]);
        let x3 = cx.node("Mul", &[x2, x], vec![]);
        let k = c(cx, 0.044715);
        let kx3 = cx.node("Mul", &[x3, k], vec![]);
        let sum = cx.node("Add", &[x, kx3], vec![]);
        let s = c(cx, (2.0 / std::f64::consts::PI).sqrt());
        let scaled = cx.node("Mul", &[sum, s], vec![]);
        cx.node("Tanh", &[scaled], vec![])
    } else {
        let r = c(cx, std::f64::consts::FRAC_1_SQRT_2);
        let scaled = cx.node("Mul", &[x, r], vec![]);
        cx.node("Erf", &[scaled], vec![])
    };
    let one = c(cx, 1.0);
    let p = cx.node("Add", &[inner, one], vec![]);
    let half = c(cx, 0.5);
    let hx = cx.node("Mul", &[x, half], vec![]);
    emit::one(cx.node("Mul", &[hx, p], vec![]))
}
