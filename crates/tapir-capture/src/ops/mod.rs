//! The op catalog: one file per op (elementwise families share a file of one-line rows).
//!
//! Each file holds the op's struct (its attributes), its eager tch call, its ONNX lowering for
//! every opset from [`tapir_onnx`-side] `MIN_OPSET` up, and the `#[track_caller]` method users
//! call on [`Tensor`]. Adding an op: a file here, a `mod` line and a [`CATALOG`] entry below, a
//! test row in `crates/tapir/tests/ops.rs`.

use crate::tensor::{Scalar, Tensor};

mod activation;
mod adaptive_avg_pool2d;
mod arg_reduce;
mod avg_pool2d;
mod batch_norm;
mod binary;
mod cast;
mod cat;
mod clamp;
mod compare;
mod conv;
mod conv_transpose;
mod div_mode;
mod dropout;
mod embedding;
mod expand;
mod factory;
mod gelu;
mod group_norm;
mod index;
mod layer_norm;
mod linear;
mod logical;
mod math;
mod matmul;
mod max_pool2d;
mod minmax_dim;
mod permute;
mod reduce;
mod repeat;
mod reshape;
mod rnn;
mod select;
mod slice;
mod softmax;
mod split;
mod squeeze;
mod stack;
mod unary;
mod unsqueeze;
mod where_;

pub use embedding::embedding;

/// One catalog row: an op name as recorded, the tapir methods that record it, the ONNX ops it
/// lowers to, by opset.
#[derive(Debug, Clone, Copy)]
pub struct OpDoc {
    pub name: &'static str,
    pub methods: &'static str,
    pub onnx: &'static str,
}

/// The ops before the elementwise math functions, in the order of `docs/supported-ops.md`.
const ARITHMETIC: [OpDoc; 16] = [
    // elementwise arithmetic
    binary::ADD,
    binary::SUB,
    binary::MUL,
    binary::DIV,
    div_mode::DOC,
    binary::POW,
    binary::MINIMUM,
    binary::MAXIMUM,
    unary::NEG,
    unary::SQRT,
    unary::RSQRT,
    unary::EXP,
    unary::LOG,
    unary::ABS,
    unary::RECIPROCAL,
    clamp::DOC,
];

/// The ops after them.
const REST: [OpDoc; 58] = [
    // comparisons and logic
    compare::EQ,
    compare::NE,
    compare::LT,
    compare::LE,
    compare::GT,
    compare::GE,
    logical::AND,
    logical::OR,
    logical::XOR,
    logical::NOT,
    where_::DOC,
    where_::MASKED_FILL,
    // activations
    unary::RELU,
    unary::SIGMOID,
    unary::TANH,
    activation::LEAKY_RELU,
    activation::ELU,
    activation::SILU,
    activation::HARDSWISH,
    gelu::DOC,
    softmax::SOFTMAX,
    softmax::LOG_SOFTMAX,
    // linear algebra
    matmul::DOC,
    linear::DOC,
    // shapes
    reshape::DOC,
    permute::DOC,
    squeeze::DOC,
    unsqueeze::DOC,
    cat::DOC,
    stack::DOC,
    split::DOC,
    slice::DOC,
    select::DOC,
    index::DOC,
    expand::DOC,
    repeat::DOC,
    // reductions
    reduce::SUM,
    reduce::MEAN,
    reduce::AMAX,
    reduce::AMIN,
    minmax_dim::MAX_DIM,
    minmax_dim::MIN_DIM,
    arg_reduce::ARGMAX,
    arg_reduce::ARGMIN,
    // network layers
    conv::DOC,
    conv_transpose::DOC,
    max_pool2d::DOC,
    avg_pool2d::DOC,
    adaptive_avg_pool2d::DOC,
    batch_norm::DOC,
    layer_norm::DOC,
    group_norm::DOC,
    embedding::DOC,
    dropout::DOC,
    rnn::LSTM,
    rnn::GRU,
    // types and constants
    cast::DOC,
    factory::DOC,
];

/// Every op tapir records, in the order of `docs/supported-ops.md`.
pub const CATALOG: &[OpDoc] =
    &concat::<{ ARITHMETIC.len() + math::DOCS.len() }, { ARITHMETIC.len() + math::DOCS.len() + REST.len() }>(
        &concat::<{ ARITHMETIC.len() }, { ARITHMETIC.len() + math::DOCS.len() }>(&ARITHMETIC, &math::DOCS),
        &REST,
    );

/// `a` followed by `b`, at compile time (`C` must be their total length).
const fn concat<const A: usize, const C: usize>(a: &[OpDoc; A], b: &[OpDoc]) -> [OpDoc; C] {
    assert!(A + b.len() == C, "catalog lengths do not add up");
    let mut out = [a[0]; C];
    let mut i = 0;
    while i < C {
        out[i] = if i < A { a[i] } else { b[i - A] };
        i += 1;
    }
    out
}

/// An operand of a binary op: a tensor or a Rust number (see [`Scalar`] for its typing).
#[derive(Debug, Clone, Copy)]
pub enum Operand<'a> {
    Tensor(&'a Tensor),
    Scalar(Scalar),
}

impl<'a> From<&'a Tensor> for Operand<'a> {
    fn from(t: &'a Tensor) -> Self {
        Operand::Tensor(t)
    }
}

macro_rules! scalar_operand {
    ($($t:ty),*) => {$(
        impl From<$t> for Operand<'_> {
            fn from(v: $t) -> Self {
                Operand::Scalar(v.into())
            }
        }
    )*};
}
scalar_operand!(f64, f32, i64, i32, bool);

impl<'a> Operand<'a> {
    /// The operand as a tensor next to `like` (scalars become literal constants).
    #[track_caller]
    pub(crate) fn tensor_next_to(self, like: &Tensor) -> std::borrow::Cow<'a, Tensor> {
        match self {
            Operand::Tensor(t) => std::borrow::Cow::Borrowed(t),
            Operand::Scalar(s) => std::borrow::Cow::Owned(like.scalar_like(s)),
        }
    }
}

/// Lowering helpers shared by several ops.
pub(crate) mod lowering {
    use tapir_graph::{emit, Attr, DType, Emit, LowerError, Outputs, Sym};

    /// Lowers a convolution or pooling. ONNX's Conv, ConvTranspose, MaxPool and AveragePool
    /// want a batch axis and floating-point types, while torch also takes an unbatched input
    /// and integer tensors: input 0 gets a batch axis when it has `spatial + 1` dimensions,
    /// integer inputs are computed in float64 (exact while every value and partial sum stays
    /// below 2^53 in magnitude), and `body`'s result is cast back and loses the batch axis.
    pub fn spatial(
        cx: &mut dyn Emit,
        spatial: usize,
        body: impl FnOnce(&mut dyn Emit, &[Sym]) -> Sym,
    ) -> Result<Outputs, LowerError> {
        let out = cx.output_meta(0).dtype;
        let compute = if out.is_float() { out } else { DType::F64 };
        let mut ins: Vec<Sym> = (0..cx.num_inputs()).map(|i| emit::input_as(cx, i, compute)).collect();
        let unbatched = cx.input_meta(0).rank() == spatial + 1;
        if unbatched {
            ins[0] = emit::unsqueeze(cx, ins[0], &[0]);
        }
        let mut y = body(cx, &ins);
        if unbatched {
            y = emit::squeeze(cx, y, &[0]);
        }
        emit::one(emit::cast(cx, y, compute, out))
    }

    /// `(x - mean) / sqrt(var + eps)` over `axes` with the biased variance (as torch's layer and
    /// group norms); returns the normalized value.
    pub fn normalize(cx: &mut dyn Emit, x: Sym, axes: &[i64], eps: f64, dtype: DType) -> Sym {
        let mean = reduce(cx, "ReduceMean", x, axes, true);
        let centered = cx.node("Sub", &[x, mean], vec![]);
        let sq = cx.node("Mul", &[centered, centered], vec![]);
        let var = reduce(cx, "ReduceMean", sq, axes, true);
        let eps = cx.const_scalar(dtype, eps);
        let var_eps = cx.node("Add", &[var, eps], vec![]);
        let std = cx.node("Sqrt", &[var_eps], vec![]);
        cx.node("Div", &[centered, std], vec![])
    }

    /// A reduction over `axes`: axes as an input for `ReduceSum` from opset 13 and for the other
    /// reductions from opset 18, as an attribute before.
    pub fn reduce(cx: &mut dyn Emit, op_type: &str, x: Sym, axes: &[i64], keepdims: bool) -> Sym {
        let axes_as_input = op_type == "ReduceSum" || cx.opset() >= 18;
        let keep = ("keepdims", Attr::Int(keepdims as i64));
        if axes_as_input {
            let a = cx.const_i64s(axes);
            cx.node(op_type, &[x, a], vec![keep])
        } else {
            cx.node(op_type, &[x], vec![("axes", Attr::Ints(axes.to_vec())), keep])
        }
    }
}
