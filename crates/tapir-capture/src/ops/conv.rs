//! conv1d, conv2d and conv3d with stride, padding (numbers, or tch's `"same"` / `"valid"` through
//! `conv1d_padding` / `conv2d_padding` / `conv3d_padding`), dilation, groups and an optional bias.
//!
//! ONNX: Conv (opset 11+ semantics; https://onnx.ai/onnx/operators/onnx__Conv.html) with `pads`
//! (all begins, then all ends; `"same"` with an odd total puts the extra one at the end, as
//! torch does), `strides`, `dilations`, `group`, and the kernel shape from the weight.
//! Unbatched inputs get a batch axis; integer tensors are computed in float64.

use super::lowering::{self, conv_attrs, per_dim};
use super::{SymDims, Dims, IntList, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{Emit, LowerError, Outputs};

/// How a convolution's padding was given.
#[derive(Debug, Clone, PartialEq)]
pub enum ConvPadding {
    /// Sizes (`padding`, symmetric).
    Explicit,
    /// torch's named padding (`"same"`, `"valid"`); `padding`/`padding_end` hold its sizes.
    Named(String),
}

/// Inputs: `[x, weight]` or `[x, weight, bias]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Conv {
    pub stride: Dims,
    /// Padding at the start of each spatial dimension.
    pub padding: Dims,
    /// Padding at the end: equal to `padding` but for `"same"` with an odd total.
    pub padding_end: Dims,
    pub dilation: Dims,
    pub groups: i64,
    pub padding_given: ConvPadding,
}

impl OpDef for Conv {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        let (x, w) = (inputs.first()?, inputs.get(1)?);
        let n = self.stride.len();
        let batched = x.len() == n + 2;
        let mut out: SymDims = if batched { smallvec::smallvec![x[0]] } else { SymDims::new() };
        out.push(w[0]);
        let spatial = &x[x.len() - n..];
        for (i, &size) in spatial.iter().enumerate() {
            let pad = self.padding.get(i).copied().unwrap_or(0) + self.padding_end.get(i).copied().unwrap_or(self.padding.get(i).copied().unwrap_or(0));
            let k = w.get(2 + i)?.as_static()?;
            out.push(super::shape::window(size, k, self.stride[i], pad, self.dilation.get(i).copied().unwrap_or(1)));
        }
        Some(vec![out])
    }
    fn name(&self) -> &'static str {
        "conv"
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        let (x, w, b) = (t[0], t[1], t.get(2).copied());
        let (s, p, d, g) = (self.stride.as_slice(), self.padding.as_slice(), self.dilation.as_slice(), self.groups);
        // Unknown names and "same" with a stride are torch's own errors.
        match (&self.padding_given, self.stride.len()) {
            (ConvPadding::Explicit, 1) => x.f_conv1d(w, b, s, p, d, g),
            (ConvPadding::Explicit, 2) => x.f_conv2d(w, b, s, p, d, g),
            (ConvPadding::Explicit, _) => x.f_conv3d(w, b, s, p, d, g),
            (ConvPadding::Named(name), 1) => x.f_conv1d_padding(w, b, s, name, d, g),
            (ConvPadding::Named(name), 2) => x.f_conv2d_padding(w, b, s, name, d, g),
            (ConvPadding::Named(name), _) => x.f_conv3d_padding(w, b, s, name, d, g),
        }
    }
    fn describe(&self) -> String {
        format!(
            "stride={:?}, padding={:?}, dilation={:?}, groups={}",
            self.stride, self.padding, self.dilation, self.groups
        )
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let attrs = conv_attrs(cx, &self.stride, &self.padding, &self.padding_end, &self.dilation, self.groups);
        lowering::spatial(cx, self.stride.len(), |cx, ins| cx.node("Conv", ins, attrs))
    }
}

pub(super) const DOCS: &[OpDoc] =
    &[OpDoc { name: "conv", methods: "`conv1d`, `conv2d`, `conv3d`, `conv1d_padding`, `conv2d_padding`, `conv3d_padding`" }];

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
        let (stride, dilation) = (per_dim(stride, n, &[]), per_dim(dilation, n, &[]));
        let (padding, padding_end, padding_given) = match padding {
            Padding::Explicit(p) => (per_dim(p, n, &[]), per_dim(p, n, &[]), ConvPadding::Explicit),
            Padding::Named(name) => {
                // torch's "same": total dilation * (kernel - 1) per dimension, the odd one at the end.
                let kernel = weight.size_unchecked();
                let total: Dims = (0..n)
                    .map(|i| {
                        if name == "same" {
                            dilation.get(i).copied().unwrap_or(1) * (kernel.get(2 + i).copied().unwrap_or(1) - 1)
                        } else {
                            0
                        }
                    })
                    .collect();
                let begin = total.iter().map(|t| t / 2).collect();
                (begin, total.iter().map(|t| t - t / 2).collect(), ConvPadding::Named(name.to_owned()))
            }
        };
        let op = Conv { stride, padding, padding_end, dilation, groups, padding_given };
        match bias {
            Some(b) => record(op, &[self, weight, b]),
            None => record(op, &[self, weight]),
        }
    }
}

/// The public convolutions (tch's signatures): one by sizes and one by torch's padding name per
/// spatial rank.
macro_rules! conv_methods {
    ($($n:literal: $sized:ident, $named:ident, $what:literal;)*) => {
        impl Tensor {
            $(
                #[doc = concat!($what, "; `stride`, `padding`, `dilation` have one entry or one per spatial dimension.")]
                #[track_caller]
                pub fn $sized<T: std::borrow::Borrow<Tensor>>(
                    &self,
                    weight: &Tensor,
                    bias: Option<T>,
                    stride: impl IntList,
                    padding: impl IntList,
                    dilation: impl IntList,
                    groups: i64,
                ) -> Tensor {
                    let (s, p, d) = (stride.to_dims(), padding.to_dims(), dilation.to_dims());
                    let b = bias.as_ref().map(|b| b.borrow());
                    self.conv_nd($n, weight, b, &s, Padding::Explicit(&p), &d, groups)
                }

                #[doc = concat!(
                    "[`Tensor::", stringify!($sized), "`] with torch's named padding: `\"valid\"` (none) or ",
                    "`\"same\"` (output as large as the input; stride 1)."
                )]
                #[track_caller]
                pub fn $named<T: std::borrow::Borrow<Tensor>>(
                    &self,
                    weight: &Tensor,
                    bias: Option<T>,
                    stride: impl IntList,
                    padding: &str,
                    dilation: impl IntList,
                    groups: i64,
                ) -> Tensor {
                    let (s, d) = (stride.to_dims(), dilation.to_dims());
                    let b = bias.as_ref().map(|b| b.borrow());
                    self.conv_nd($n, weight, b, &s, Padding::Named(padding), &d, groups)
                }
            )*
        }
    };
}

conv_methods! {
    1: conv1d, conv1d_padding, "1-D convolution over `[N, C, L]` or `[C, L]`";
    2: conv2d, conv2d_padding, "2-D convolution over `[N, C, H, W]` or `[C, H, W]`";
    3: conv3d, conv3d_padding, "3-D convolution over `[N, C, D, H, W]` or `[C, D, H, W]`";
}

/// A convolution's padding: sizes, or torch's names.
#[derive(Clone, Copy)]
enum Padding<'a> {
    Explicit(&'a [i64]),
    Named(&'a str),
}
