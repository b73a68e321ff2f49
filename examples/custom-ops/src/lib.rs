#![doc = include_str!("../../../docs/custom-ops.md")]
//!
//! The three ops of this crate, tested in `tests/custom_ops.rs`:
//! - [`cosine_similarity`]: an op tapir does not have, lowered to standard ONNX ops;
//! - [`fast_gelu`]: lowered to ONNX Runtime's `com.microsoft::FastGelu`, a custom domain;
//! - [`gelu_without_gelu_op`]: export options replacing the built-in `gelu` lowering.

use tapir::op::{emit, lowering, Emit, LowerError, Op, OpDef, Outputs};
use tapir::{ExportOptions, Tensor};

/// The cosine similarity of `x1` and `x2` along `dim` (torch's `cosine_similarity`):
/// `sum(x1 * x2) / (max(|x1|, eps) * max(|x2|, eps))`, broadcasting the inputs. Inputs:
/// `[x1, x2]`.
#[derive(Debug, Clone, PartialEq)]
pub struct CosineSimilarity {
    /// A non-negative dimension of the broadcast shape.
    pub dim: i64,
    pub eps: f64,
}

impl OpDef for CosineSimilarity {
    type Output = tch::Tensor;

    fn name(&self) -> &'static str {
        "cosine_similarity"
    }

    fn describe(&self) -> String {
        format!("dim={}, eps={}", self.dim, self.eps)
    }

    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        tch::Tensor::f_cosine_similarity(t[0], t[1], self.dim, self.eps)
    }

    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let dtype = cx.output_meta(0).dtype;
        if !dtype.is_float() {
            return Err(LowerError::new("cosine_similarity", cx.opset(), format!("{dtype} output: floats only")));
        }
        let (a, b) = (emit::input_as(cx, 0, dtype), emit::input_as(cx, 1, dtype));
        let dims = [self.dim];
        // `lowering::reduce` writes the axes as an attribute or an input, as the opset wants.
        let ab = cx.node("Mul", &[a, b], vec![]);
        let dot = lowering::reduce(cx, "ReduceSum", ab, &dims, false);
        let eps = cx.const_scalar(dtype, self.eps);
        let mut norms = vec![];
        for x in [a, b] {
            let sq = cx.node("Mul", &[x, x], vec![]);
            let sum = lowering::reduce(cx, "ReduceSum", sq, &dims, false);
            let norm = cx.node("Sqrt", &[sum], vec![]);
            norms.push(cx.node("Max", &[norm, eps], vec![]));
        }
        let denominator = cx.node("Mul", &norms, vec![]);
        emit::one(cx.node("Div", &[dot, denominator], vec![]))
    }
}

/// The cosine similarity of `x1` and `x2` along `dim`: recorded as [`CosineSimilarity`] while
/// a trace is active.
#[track_caller]
pub fn cosine_similarity(x1: &Tensor, x2: &Tensor, dim: i64, eps: f64) -> Tensor {
    let rank = x1.dim().max(x2.dim()) as i64;
    let dim = if dim < 0 { dim + rank } else { dim };
    tapir::op::record(CosineSimilarity { dim, eps }, &[x1, x2])
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
