//! Elementwise unary ops that map one-to-one (or nearly) onto ONNX: neg, sqrt, rsqrt, exp, log,
//! abs, reciprocal, relu, sigmoid, tanh. All exist in opset 13 with unchanged semantics since
//! (https://onnx.ai/onnx/operators/). rsqrt is `Reciprocal(Sqrt(x))`.

use super::{SymDims, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Emit, LowerError, Outputs, Sym};

fn direct(op_type: &'static str) -> impl Fn(&mut dyn Emit, Sym) -> Sym {
    move |cx, x| cx.node(op_type, &[x], vec![])
}

macro_rules! unary_op {
    ($ty:ident, $doc:ident, $name:literal, $method:ident, $eager:ident, $lower:expr) => {
        #[derive(Debug, Clone, PartialEq)]
        pub struct $ty;

        impl OpDef for $ty {
            type Output = tch::Tensor;
            fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
                let x = inputs.first()?.dtype;
                super::dtype::one(if matches!($name, "sqrt" | "rsqrt" | "exp" | "log" | "reciprocal" | "sigmoid" | "tanh") { super::dtype::float_of(x) } else { x })
            }
            fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
                super::shape::same(inputs)
            }
            fn name(&self) -> &'static str {
                $name
            }
            fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
                t[0].$eager()
            }
            fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
                let out = cx.output_meta(0).dtype;
                let x = emit::input_as(cx, 0, out);
                let lower: &dyn Fn(&mut dyn Emit, Sym) -> Sym = &$lower;
                emit::one(lower(cx, x))
            }
        }

        const $doc: OpDoc = OpDoc { name: $name, methods: concat!("`", stringify!($method), "`") };

        impl Tensor {
            #[doc = concat!("Elementwise `", $name, "`.")]
            #[track_caller]
            pub fn $method(&self) -> Tensor {
                record($ty, &[self])
            }
        }
    };
}

unary_op!(Neg, NEG, "neg", neg, f_neg, direct("Neg"));
unary_op!(Sqrt, SQRT, "sqrt", sqrt, f_sqrt, direct("Sqrt"));
unary_op!(Rsqrt, RSQRT, "rsqrt", rsqrt, f_rsqrt, |cx: &mut dyn Emit, x| {
    let s = cx.node("Sqrt", &[x], vec![]);
    cx.node("Reciprocal", &[s], vec![])
});
unary_op!(Exp, EXP, "exp", exp, f_exp, direct("Exp"));
unary_op!(Log, LOG, "log", log, f_log, direct("Log"));
unary_op!(Abs, ABS, "abs", abs, f_abs, direct("Abs"));
unary_op!(Reciprocal, RECIPROCAL, "reciprocal", reciprocal, f_reciprocal, direct("Reciprocal"));
unary_op!(Relu, RELU, "relu", relu, f_relu, |cx: &mut dyn Emit, x| {
    // ONNX Runtime implements Relu for floats only.
    let dtype = cx.output_meta(0).dtype;
    if dtype.is_float() {
        return cx.node("Relu", &[x], vec![]);
    }
    let zero = cx.const_scalar(dtype, 0.0);
    cx.node("Max", &[x, zero], vec![])
});
unary_op!(Sigmoid, SIGMOID, "sigmoid", sigmoid, f_sigmoid, direct("Sigmoid"));
unary_op!(Tanh, TANH, "tanh", tanh, f_tanh, direct("Tanh"));

pub(super) const DOCS: &[OpDoc] = &[NEG, SQRT, RSQRT, EXP, LOG, ABS, RECIPROCAL, RELU, SIGMOID, TANH];
