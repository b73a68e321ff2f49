//! Lowering helpers shared by several ops. Each states the ONNX form it emits; ops call these
//! instead of each other's files.

use super::Dims;
use crate::tensor::Scalar;
use tapir_graph::SymInt;
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

/// A constant of `dtype` holding the Rust number `value`, exact for every int64 when both are
/// integers (a float path would round above 2^53).
pub fn scalar(cx: &mut dyn Emit, dtype: DType, value: Scalar) -> Sym {
    match value {
        Scalar::Int(v) if !dtype.is_float() && dtype != DType::Bool => cx.const_scalar_i64(dtype, v),
        other => cx.const_scalar(dtype, other.as_f64()),
    }
}

/// A per-dimension argument for `n` spatial dimensions, as torch reads it: one entry stands
/// for every dimension, none for `default`.
pub fn per_dim(v: &[i64], n: usize, default: &[i64]) -> Dims {
    match v.len() {
        0 => default.iter().copied().collect(),
        1 => std::iter::repeat_n(v[0], n).collect(),
        _ => v.iter().copied().collect(),
    }
}

/// The attributes ONNX `Conv` and `ConvTranspose` share: the kernel shape from the weight (input
/// 1), strides, pads (all begins, then all ends), dilations, group.
pub fn conv_attrs(
    cx: &dyn Emit,
    stride: &[i64],
    padding: &[i64],
    padding_end: &[i64],
    dilation: &[i64],
    groups: i64,
) -> Vec<(&'static str, Attr)> {
    let kernel = cx.input_meta(1).shape.get(2..).unwrap_or(&[]).to_vec();
    vec![
        ("kernel_shape", Attr::Ints(kernel)),
        ("strides", Attr::Ints(stride.to_vec())),
        ("pads", Attr::Ints(padding.iter().chain(padding_end).copied().collect())),
        ("dilations", Attr::Ints(dilation.to_vec())),
        ("group", Attr::Int(groups)),
    ]
}

/// A bool `[rows, cols]` mask that is true where `col - row <= diagonal` (`upper`: where
/// `col - row >= diagonal`): torch's tril/triu keep-mask, and the causal mask with diagonal 0.
pub fn triangle_mask(cx: &mut dyn Emit, rows: SymInt, cols: SymInt, diagonal: i64, upper: bool) -> Sym {
    let r = range(cx, rows);
    let r = emit::unsqueeze(cx, r, &[1]);
    let c = range(cx, cols);
    let c = emit::unsqueeze(cx, c, &[0]);
    let offset = cx.node("Sub", &[c, r], vec![]);
    let d = cx.const_scalar_i64(DType::I64, diagonal);
    if upper {
        cx.node("GreaterOrEqual", &[offset, d], vec![])
    } else {
        cx.node("LessOrEqual", &[offset, d], vec![])
    }
}

/// `0..n` as a 1-D int64 tensor: a constant when `n` is static, a `Range` computed from the
/// inputs' shapes otherwise.
pub fn range(cx: &mut dyn Emit, n: SymInt) -> Sym {
    if let Some(n) = n.as_static() {
        let values: Vec<i64> = (0..n).collect();
        return cx.const_i64s(&values);
    }
    let end = cx.dims_tensor(&[n]);
    let end = emit::squeeze(cx, end, &[0]);
    let (start, step) = (cx.const_scalar_i64(DType::I64, 0), cx.const_scalar_i64(DType::I64, 1));
    cx.node("Range", &[start, end, step], vec![])
}

/// `Where(mask, x, other)` for any dtype of `x` (`other` already of it): bools select as int32,
/// which every runtime takes.
pub fn select(cx: &mut dyn Emit, mask: Sym, x: Sym, other: Sym, dtype: DType) -> Sym {
    if dtype != DType::Bool {
        return cx.node("Where", &[mask, x, other], vec![]);
    }
    let (x, other) = (emit::cast(cx, x, dtype, DType::I32), emit::cast(cx, other, dtype, DType::I32));
    let r = cx.node("Where", &[mask, x, other], vec![]);
    emit::cast(cx, r, DType::I32, dtype)
}

/// MaxPool over `spatial` dims of input 0 with its indices as torch gives them: each max's index
/// within its own plane (`h * W + w`), where ONNX's second output indexes the whole input, so
/// it is taken modulo the plane size. Unbatched inputs and integer dtypes as in [`spatial`].
pub fn max_pool_with_indices(
    cx: &mut dyn Emit,
    spatial: usize,
    attrs: Vec<(&'static str, Attr)>,
) -> Result<Outputs, LowerError> {
    let meta = cx.input_meta(0);
    // The eager rule accepted the input: `spatial` dims after one or two leading ones.
    let plane: i64 = meta.shape.iter().rev().take(spatial).product();
    let unbatched = meta.rank() == spatial + 1;
    let out = cx.output_meta(0).dtype;
    let compute = if out.is_float() { out } else { DType::F64 };
    let mut x = emit::input_as(cx, 0, compute);
    if unbatched {
        x = emit::unsqueeze(cx, x, &[0]);
    }
    let outs = cx.node_n("MaxPool", &[x], attrs, 2);
    let (mut values, mut indices) = (outs[0], outs[1]);
    let plane = cx.const_scalar_i64(DType::I64, plane);
    indices = cx.node("Mod", &[indices, plane], vec![]);
    if unbatched {
        values = emit::squeeze(cx, values, &[0]);
        indices = emit::squeeze(cx, indices, &[0]);
    }
    Ok(smallvec::smallvec![emit::cast(cx, values, compute, out), indices])
}
