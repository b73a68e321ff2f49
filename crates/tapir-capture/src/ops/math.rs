//! Elementwise functions without parameters: trigonometric and hyperbolic functions, erf,
//! rounding (floor, ceil, round, trunc), sign, log1p, expm1, log2, and the activations tch
//! offers without arguments (relu6, hardtanh, hardsigmoid, softplus, selu, celu, mish, with
//! torch's default parameters). Integer inputs to the float functions are promoted as torch
//! does (the result dtype is the traced one; inputs are cast to it first).
//!
//! ONNX (all in opset 13 with the semantics used here: https://onnx.ai/onnx/operators/): Sin,
//! Cos, Tan, Asin, Acos, Atan, Sinh, Cosh, Erf, Floor, Ceil, Round (half to even, as torch),
//! Sign (torch's sign of NaN is 0: IsNaN, Where). No Trunc: Floor or Ceil by sign. log1p is `Log(1 + x)`, expm1 `Exp(x) - 1`, log2
//! `Log(x) / ln 2`. The rounding ops are the identity on integers (ONNX's take floats only), and
//! sign is the identity on bools. relu6 and hardtanh are Clip to [0, 6] and [-1, 1]; hardsigmoid
//! is HardSigmoid(1/6, 1/2); softplus is `x` above torch's threshold 20, Softplus below; selu is
//! Selu (ONNX's default constants are torch's); celu (alpha 1) is `max(0, x) + min(0, exp(x) -
//! 1)` (ONNX's Celu takes float32 only); mish is Mish from opset 18, `x * tanh(softplus(x))`
//! below. ONNX Runtime has float32 Softplus and Mish only, so other dtypes get `log(1 + exp(x))`.
//! log10 is `Log(x) / ln 10`, exp2 `Pow(2, x)`, square `Mul(x, x)`, log_sigmoid torch's stable
//! `min(x, 0) - log(1 + exp(-|x|))`, hardshrink and softshrink (lambda 0.5, tch's) a Where on
//! `|x| <= 0.5` (not ONNX's Shrink, which zeroes NaN).

use super::{SymDims, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, DType, Emit, LowerError, Outputs, Sym};

/// Declares every function once: its variant, op name and method, eager tch call.
macro_rules! math_fns {
    ($(($f:ident, $name:literal, $method:ident, $eager:ident)),* $(,)?) => {
        /// Which function.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum MathFn { $($f),* }

        impl MathFn {
            fn name(self) -> &'static str {
                match self { $(MathFn::$f => $name),* }
            }
            fn eager(self, t: &tch::Tensor) -> Result<tch::Tensor, tch::TchError> {
                match self { $(MathFn::$f => t.$eager()),* }
            }
            /// The result's dtype: the input's for rounding, sign and clamping functions
            /// (integers stay integers; square takes bools to int64), a float otherwise.
            fn dtype(self, x: DType) -> DType {
                match self {
                    MathFn::Floor | MathFn::Ceil | MathFn::Round | MathFn::Trunc | MathFn::Sign
                    | MathFn::Relu6 | MathFn::Hardtanh => x,
                    MathFn::Square if x == DType::Bool => DType::I64,
                    MathFn::Square => x,
                    _ => super::dtype::float_of(x),
                }
            }
        }

        /// One catalog row per function.
        pub(super) const DOCS: &[OpDoc] = &[$(OpDoc { name: $name, methods: concat!("`", $name, "`") }),*];

        impl Tensor {
            $(
                #[doc = concat!("Elementwise `", $name, "`, as torch's (integers promote to float where torch's does).")]
                #[track_caller]
                pub fn $method(&self) -> Tensor {
                    record(Math { f: MathFn::$f }, &[self])
                }
            )*
        }
    };
}

math_fns!(
    (Sin, "sin", sin, f_sin),
    (Cos, "cos", cos, f_cos),
    (Tan, "tan", tan, f_tan),
    (Asin, "asin", asin, f_asin),
    (Acos, "acos", acos, f_acos),
    (Atan, "atan", atan, f_atan),
    (Sinh, "sinh", sinh, f_sinh),
    (Cosh, "cosh", cosh, f_cosh),
    (Erf, "erf", erf, f_erf),
    (Floor, "floor", floor, f_floor),
    (Ceil, "ceil", ceil, f_ceil),
    (Round, "round", round, f_round),
    (Trunc, "trunc", trunc, f_trunc),
    (Sign, "sign", sign, f_sign),
    (Log1p, "log1p", log1p, f_log1p),
    (Expm1, "expm1", expm1, f_expm1),
    (Log2, "log2", log2, f_log2),
    (Relu6, "relu6", relu6, f_relu6),
    (Hardtanh, "hardtanh", hardtanh, f_hardtanh),
    (Hardsigmoid, "hardsigmoid", hardsigmoid, f_hardsigmoid),
    (Softplus, "softplus", softplus, f_softplus),
    (Selu, "selu", selu, f_selu),
    (Celu, "celu", celu, f_celu),
    (Mish, "mish", mish, f_mish),
    (Log10, "log10", log10, f_log10),
    (Exp2, "exp2", exp2, f_exp2),
    (Square, "square", square, f_square),
    (LogSigmoid, "log_sigmoid", log_sigmoid, f_log_sigmoid),
    (Hardshrink, "hardshrink", hardshrink, f_hardshrink),
    (Softshrink, "softshrink", softshrink, f_softshrink),
);

/// Inputs: `[x]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Math {
    pub f: MathFn,
}

impl OpDef for Math {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        let x = inputs.first()?.dtype;
        super::dtype::one(self.f.dtype(x))
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        super::shape::same(inputs)
    }
    fn name(&self) -> &'static str {
        self.f.name()
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        self.f.eager(t[0])
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let out = cx.output_meta(0).dtype;
        let x = emit::input_as(cx, 0, out);
        emit::one(lower(cx, self.f, x, out))
    }
}

/// `log(1 + exp(x))`: ONNX's Softplus for float32, written out for other dtypes (ONNX Runtime
/// implements Softplus, and Mish through it, for float32 only).
fn softplus(cx: &mut dyn Emit, x: Sym, dtype: DType) -> Sym {
    if dtype == DType::F32 {
        return cx.node("Softplus", &[x], vec![]);
    }
    let e = cx.node("Exp", &[x], vec![]);
    let one = cx.const_scalar(dtype, 1.0);
    let e1 = cx.node("Add", &[e, one], vec![]);
    cx.node("Log", &[e1], vec![])
}

fn lower(cx: &mut dyn Emit, f: MathFn, x: Sym, dtype: DType) -> Sym {
    use MathFn::*;
    let rounding = matches!(f, Floor | Ceil | Round | Trunc);
    if (rounding && !dtype.is_float()) || (f == Sign && dtype == DType::Bool) {
        return x;
    }
    let node = |cx: &mut dyn Emit, op: &str, ins: &[Sym]| cx.node(op, ins, vec![]);
    match f {
        Sin => node(cx, "Sin", &[x]),
        Cos => node(cx, "Cos", &[x]),
        Tan => node(cx, "Tan", &[x]),
        Asin => node(cx, "Asin", &[x]),
        Acos => node(cx, "Acos", &[x]),
        Atan => node(cx, "Atan", &[x]),
        Sinh => node(cx, "Sinh", &[x]),
        Cosh => node(cx, "Cosh", &[x]),
        Erf => node(cx, "Erf", &[x]),
        Floor => node(cx, "Floor", &[x]),
        Ceil => node(cx, "Ceil", &[x]),
        Round => node(cx, "Round", &[x]),
        // torch's sign of NaN is 0; ONNX's is NaN.
        Sign if dtype.is_float() => {
            let s = node(cx, "Sign", &[x]);
            let nan = node(cx, "IsNaN", &[x]);
            let zero = cx.const_scalar(dtype, 0.0);
            node(cx, "Where", &[nan, zero, s])
        }
        Sign => node(cx, "Sign", &[x]),
        Trunc => {
            let (down, up) = (node(cx, "Floor", &[x]), node(cx, "Ceil", &[x]));
            let zero = cx.const_scalar(dtype, 0.0);
            let negative = node(cx, "Less", &[x, zero]);
            node(cx, "Where", &[negative, up, down])
        }
        Log1p => {
            let one = cx.const_scalar(dtype, 1.0);
            let y = node(cx, "Add", &[x, one]);
            node(cx, "Log", &[y])
        }
        Expm1 => {
            let one = cx.const_scalar(dtype, 1.0);
            let e = node(cx, "Exp", &[x]);
            node(cx, "Sub", &[e, one])
        }
        Relu6 | Hardtanh => {
            let (lo, hi) = if f == Relu6 { (0.0, 6.0) } else { (-1.0, 1.0) };
            let (lo, hi) = (cx.const_scalar(dtype, lo), cx.const_scalar(dtype, hi));
            node(cx, "Clip", &[x, lo, hi])
        }
        Hardsigmoid => {
            let attrs = vec![("alpha", Attr::Float(1.0 / 6.0)), ("beta", Attr::Float(0.5))];
            cx.node("HardSigmoid", &[x], attrs)
        }
        Softplus => {
            let soft = softplus(cx, x, dtype);
            let threshold = cx.const_scalar(dtype, 20.0);
            let linear = node(cx, "Greater", &[x, threshold]);
            node(cx, "Where", &[linear, x, soft])
        }
        Selu => node(cx, "Selu", &[x]),
        Celu => {
            let (zero, one) = (cx.const_scalar(dtype, 0.0), cx.const_scalar(dtype, 1.0));
            let e = node(cx, "Exp", &[x]);
            let em1 = node(cx, "Sub", &[e, one]);
            let neg = node(cx, "Min", &[zero, em1]);
            let pos = node(cx, "Max", &[zero, x]);
            node(cx, "Add", &[pos, neg])
        }
        Log10 => {
            let ln10 = cx.const_scalar(dtype, std::f64::consts::LN_10);
            let l = node(cx, "Log", &[x]);
            node(cx, "Div", &[l, ln10])
        }
        Exp2 => {
            let two = cx.const_scalar(dtype, 2.0);
            node(cx, "Pow", &[two, x])
        }
        Square if dtype == DType::Bool => node(cx, "And", &[x, x]),
        Square => node(cx, "Mul", &[x, x]),
        // torch's stable form: min(x, 0) - log(1 + exp(-|x|)).
        LogSigmoid => {
            let zero = cx.const_scalar(dtype, 0.0);
            let one = cx.const_scalar(dtype, 1.0);
            let m = node(cx, "Min", &[x, zero]);
            let a = node(cx, "Abs", &[x]);
            let na = node(cx, "Neg", &[a]);
            let e = node(cx, "Exp", &[na]);
            let e1 = node(cx, "Add", &[e, one]);
            let l = node(cx, "Log", &[e1]);
            node(cx, "Sub", &[m, l])
        }
        // torch's default lambda 0.5: 0 where |x| <= 0.5, x elsewhere (NaN stays NaN, which
        // the comparison the other way round would zero).
        Hardshrink => {
            let (lambda, zero) = (cx.const_scalar(dtype, 0.5), cx.const_scalar(dtype, 0.0));
            let a = node(cx, "Abs", &[x]);
            let small = node(cx, "LessOrEqual", &[a, lambda]);
            node(cx, "Where", &[small, zero, x])
        }
        // 0 where |x| <= 0.5, x - sign(x) * 0.5 elsewhere (NaN stays NaN; ONNX's Shrink zeroes it).
        Softshrink => {
            let (lambda, zero) = (cx.const_scalar(dtype, 0.5), cx.const_scalar(dtype, 0.0));
            let a = node(cx, "Abs", &[x]);
            let small = node(cx, "LessOrEqual", &[a, lambda]);
            let s = node(cx, "Sign", &[x]);
            let step = node(cx, "Mul", &[s, lambda]);
            let shrunk = node(cx, "Sub", &[x, step]);
            node(cx, "Where", &[small, zero, shrunk])
        }
        Mish if cx.opset() >= 18 && dtype == DType::F32 => node(cx, "Mish", &[x]),
        Mish => {
            let sp = softplus(cx, x, dtype);
            let t = node(cx, "Tanh", &[sp]);
            node(cx, "Mul", &[x, t])
        }
        Log2 => {
            let ln2 = cx.const_scalar(dtype, std::f64::consts::LN_2);
            let l = node(cx, "Log", &[x]);
            node(cx, "Div", &[l, ln2])
        }
    }
}
