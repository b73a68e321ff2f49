//! conv1d and conv2d with stride, padding (numbers, or tch's `"same"` / `"valid"` through
//! `conv1d_padding` / `conv2d_padding`), dilation, groups and an optional bias.
//!
//! ONNX: Conv (opset 11+ semantics; https://onnx.ai/onnx/operators/onnx__Conv.html) with `pads`
//! (all begins, then all ends; `"same"` with an odd total puts the extra one at the end, as
//! torch does), `strides`, `dilations`, `group`, and the kernel shape from the weight.
//! Unbatched inputs get a batch axis; integer tensors are computed in float64.

use super::OpDoc;
use crate::replay::replay1;
use crate::session::record1;
use crate::tensor::Tensor;
use tapir_graph::{Attr, Emit, LowerError, Op, Outputs, SourceLocation};

/// Inputs: `[x, weight]` or `[x, weight, bias]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Conv {
    pub stride: Vec<i64>,
    /// Padding at the start of each spatial dimension.
    pub padding: Vec<i64>,
    /// Padding at the end: equal to `padding` but for `"same"` with an odd total.
    pub padding_end: Vec<i64>,
    pub dilation: Vec<i64>,
    pub groups: i64,
}

impl Conv {
    /// torch's call for this convolution (`"same"` when the padding is asymmetric).
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        let (x, w, b) = (t[0], t[1], t.get(2).copied());
        let (s, p, d, g) = (self.stride.as_slice(), self.padding.as_slice(), self.dilation.as_slice(), self.groups);
        match (self.stride.len(), self.padding == self.padding_end) {
            (1, true) => x.f_conv1d(w, b, s, p, d, g),
            (1, false) => x.f_conv1d_padding(w, b, s, "same", d, g),
            (_, true) => x.f_conv2d(w, b, s, p, d, g),
            (_, false) => x.f_conv2d_padding(w, b, s, "same", d, g),
        }
    }
}

impl Op for Conv {
    replay1!(self, t, out => self.eager(t));
    tapir_graph::op_name!("conv");
    fn describe(&self) -> String {
        format!(
            "stride={:?}, padding={:?}, dilation={:?}, groups={}",
            self.stride, self.padding, self.dilation, self.groups
        )
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let attrs = conv_attrs(cx, &self.stride, &self.padding, &self.padding_end, &self.dilation, self.groups);
        super::lowering::spatial(cx, self.stride.len(), |cx, ins| cx.node("Conv", ins, attrs))
    }
}

/// The attributes ONNX `Conv` and `ConvTranspose` share: the kernel shape from the weight (input
/// 1), strides, symmetric pads (all begins, then all ends), dilations, group.
pub(crate) fn conv_attrs(
    cx: &dyn Emit,
    stride: &[i64],
    padding: &[i64],
    padding_end: &[i64],
    dilation: &[i64],
    groups: i64,
) -> Vec<(&'static str, Attr)> {
    vec![
        ("kernel_shape", Attr::Ints(cx.input_meta(1).shape[2..].to_vec())),
        ("strides", Attr::Ints(stride.to_vec())),
        ("pads", Attr::Ints(padding.iter().chain(padding_end).copied().collect())),
        ("dilations", Attr::Ints(dilation.to_vec())),
        ("group", Attr::Int(groups)),
    ]
}

pub const DOC: OpDoc =
    OpDoc { name: "conv", methods: "`conv1d`, `conv2d`, `conv1d_padding`, `conv2d_padding`", onnx: "Conv" };

fn expand(v: &[i64], n: usize) -> Vec<i64> {
    if v.len() == 1 {
        vec![v[0]; n]
    } else {
        v.to_vec()
    }
}

impl Tensor {
    #[allow(clippy::too_many_arguments)]
    #[track_caller]
    fn conv_nd(
        &self,
        n: usize,
        weight: &Tensor,
        bias: Option<&Tensor>,
        stride: &[i64],
        padding: Padding<'_>,
        dilation: &[i64],
        groups: i64,
    ) -> Tensor {
        let location = SourceLocation::caller();
        let (stride, dilation) = (expand(stride, n), expand(dilation, n));
        let named = padding;
        let (padding, padding_end) = match named {
            Padding::Explicit(p) => (expand(p, n), expand(p, n)),
            Padding::Named(name) => {
                // torch's "same": total dilation * (kernel - 1) per dimension, the odd one at the end.
                let kernel = weight.size();
                let total: Vec<i64> = (0..n)
                    .map(|i| {
                        if name == "same" {
                            dilation.get(i).copied().unwrap_or(1) * (kernel.get(2 + i).copied().unwrap_or(1) - 1)
                        } else {
                            0
                        }
                    })
                    .collect();
                (total.iter().map(|t| t / 2).collect(), total.iter().map(|t| t - t / 2).collect())
            }
        };
        let conv = Conv { stride, padding, padding_end, dilation, groups };
        let eager = |t: &[&tch::Tensor]| match named {
            // Unknown names and "same" with a stride are torch's own errors.
            Padding::Named(name) if n == 1 => {
                t[0].f_conv1d_padding(t[1], t.get(2).copied(), &conv.stride, name, &conv.dilation, groups)
            }
            Padding::Named(name) => {
                t[0].f_conv2d_padding(t[1], t.get(2).copied(), &conv.stride, name, &conv.dilation, groups)
            }
            Padding::Explicit(_) => conv.eager(t),
        };
        let op = || conv.clone();
        match bias {
            Some(b) => record1(op, &[self, weight, b], location, eager),
            None => record1(op, &[self, weight], location, eager),
        }
    }

    /// 1-D convolution over `[N, C, L]` or `[C, L]`; `stride`, `padding`, `dilation` have 1
    /// entry.
    #[track_caller]
    pub fn conv1d(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        stride: &[i64],
        padding: &[i64],
        dilation: &[i64],
        groups: i64,
    ) -> Tensor {
        self.conv_nd(1, weight, bias, stride, Padding::Explicit(padding), dilation, groups)
    }

    /// 2-D convolution over `[N, C, H, W]` or `[C, H, W]`; `stride`, `padding`, `dilation` have 1
    /// or 2 entries.
    #[track_caller]
    pub fn conv2d(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        stride: &[i64],
        padding: &[i64],
        dilation: &[i64],
        groups: i64,
    ) -> Tensor {
        self.conv_nd(2, weight, bias, stride, Padding::Explicit(padding), dilation, groups)
    }

    /// [`Tensor::conv1d`] with torch's named padding: `"valid"` (none) or `"same"` (output as
    /// long as the input; stride 1).
    #[track_caller]
    pub fn conv1d_padding(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        stride: &[i64],
        padding: &str,
        dilation: &[i64],
        groups: i64,
    ) -> Tensor {
        self.conv_nd(1, weight, bias, stride, Padding::Named(padding), dilation, groups)
    }

    /// [`Tensor::conv2d`] with torch's named padding: `"valid"` or `"same"`.
    #[track_caller]
    pub fn conv2d_padding(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        stride: &[i64],
        padding: &str,
        dilation: &[i64],
        groups: i64,
    ) -> Tensor {
        self.conv_nd(2, weight, bias, stride, Padding::Named(padding), dilation, groups)
    }
}

/// A convolution's padding: sizes, or torch's names.
#[derive(Clone, Copy)]
enum Padding<'a> {
    Explicit(&'a [i64]),
    Named(&'a str),
}
