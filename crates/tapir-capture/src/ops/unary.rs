//! Elementwise unary ops that map one-to-one (or nearly) onto ONNX: neg, sqrt, rsqrt, exp, log,
//! abs, reciprocal, relu, sigmoid, tanh. All exist in opset 13 with unchanged semantics since
//! (https://onnx.ai/onnx/operators/). rsqrt is `Reciprocal(Sqrt(x))`.

use super::OpDoc;
use crate::replay::replay1;
use crate::session::record1;
use crate::tensor::Tensor;
use tapir_graph::{emit, Emit, LowerError, Op, Outputs, SourceLocation, Sym};

fn direct(op_type: &'static str) -> impl Fn(&mut dyn Emit, Sym) -> Sym {
    move |cx, x| cx.node(op_type, &[x], vec![])
}

macro_rules! unary_op {
    ($ty:ident, $doc:ident, $name:literal, $onnx:literal, $method:ident, $eager:ident, $lower:expr) => {
        #[derive(Debug, Clone, PartialEq)]
        pub struct $ty;

        impl Op for $ty {
            replay1!(self, t, out => t[0].$eager());
            tapir_graph::op_name!($name);
            fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
                let out = cx.output_meta(0).dtype;
                let x = emit::input_as(cx, 0, out);
                let lower: &dyn Fn(&mut dyn Emit, Sym) -> Sym = &$lower;
                emit::one(lower(cx, x))
            }
        }

        pub const $doc: OpDoc =
            OpDoc { name: $name, methods: concat!("`", stringify!($method), "`"), onnx: $onnx };

        impl Tensor {
            #[doc = concat!("Elementwise `", $name, "`.")]
            #[track_caller]
            pub fn $method(&self) -> Tensor {
                record1(|| $ty, &[self], SourceLocation::caller(), |t| t[0].$eager())
            }
        }
    };
}

unary_op!(Neg, NEG, "neg", "Neg", neg, f_neg, direct("Neg"));
unary_op!(Sqrt, SQRT, "sqrt", "Sqrt", sqrt, f_sqrt, direct("Sqrt"));
unary_op!(Rsqrt, RSQRT, "rsqrt", "Sqrt, Reciprocal", rsqrt, f_rsqrt, |cx: &mut dyn Emit, x| {
    let s = cx.node("Sqrt", &[x], vec![]);
    cx.node("Reciprocal", &[s], vec![])
});
unary_op!(Exp, EXP, "exp", "Exp", exp, f_exp, direct("Exp"));
unary_op!(Log, LOG, "log", "Log", log, f_log, direct("Log"));
unary_op!(Abs, ABS, "abs", "Abs", abs, f_abs, direct("Abs"));
unary_op!(Reciprocal, RECIPROCAL, "reciprocal", "Reciprocal", reciprocal, f_reciprocal, direct("Reciprocal"));
unary_op!(Relu, RELU, "relu", "Relu (floats); Max with 0 (integers)", relu, f_relu, |cx: &mut dyn Emit, x| {
    // ONNX Runtime implements Relu for floats only.
    let dtype = cx.output_meta(0).dtype;
    if dtype.is_float() {
        return cx.node("Relu", &[x], vec![]);
    }
    let zero = cx.const_scalar(dtype, 0.0);
    cx.node("Max", &[x, zero], vec![])
});
unary_op!(Sigmoid, SIGMOID, "sigmoid", "Sigmoid", sigmoid, f_sigmoid, direct("Sigmoid"));
unary_op!(Tanh, TANH, "tanh", "Tanh", tanh, f_tanh, direct("Tanh"));
