//! conv1d and conv2d with stride, padding, dilation, groups and an optional bias.
//!
//! ONNX: Conv (opset 11+ semantics; https://onnx.ai/onnx/operators/onnx__Conv.html) with
//! symmetric `pads` (all begins, then all ends), `strides`, `dilations`, `group`, and the kernel
//! shape from the weight.

use super::OpDoc;
use crate::replay::replay1;
use crate::session::record1;
use crate::tensor::Tensor;
use tapir_graph::{Attr, Emit, LowerError, Op, Outputs, SourceLocation};

/// Inputs: `[x, weight]` or `[x, weight, bias]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Conv {
    pub stride: Vec<i64>,
    pub padding: Vec<i64>,
    pub dilation: Vec<i64>,
    pub groups: i64,
}

impl Op for Conv {
    replay1!(self, t, out => if self.stride.len() == 1 { t[0].f_conv1d(t[1], t.get(2).copied(), self.stride.as_slice(), self.padding.as_slice(), self.dilation.as_slice(), self.groups) } else { t[0].f_conv2d(t[1], t.get(2).copied(), self.stride.as_slice(), self.padding.as_slice(), self.dilation.as_slice(), self.groups) });
    tapir_graph::op_name!("conv");
    fn describe(&self) -> String {
        format!(
            "stride={:?}, padding={:?}, dilation={:?}, groups={}",
            self.stride, self.padding, self.dilation, self.groups
        )
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let attrs = conv_attrs(cx, &self.stride, &self.padding, &self.dilation, self.groups);
        super::lowering::spatial(cx, self.stride.len(), |cx, ins| cx.node("Conv", ins, attrs))
    }
}

/// The attributes ONNX `Conv` and `ConvTranspose` share: the kernel shape from the weight (input
/// 1), strides, symmetric pads (all begins, then all ends), dilations, group.
pub(crate) fn conv_attrs(
    cx: &dyn Emit,
    stride: &[i64],
    padding: &[i64],
    dilation: &[i64],
    groups: i64,
) -> Vec<(&'static str, Attr)> {
    vec![
        ("kernel_shape", Attr::Ints(cx.input_meta(1).shape[2..].to_vec())),
        ("strides", Attr::Ints(stride.to_vec())),
        ("pads", Attr::Ints(padding.iter().chain(padding).copied().collect())),
        ("dilations", Attr::Ints(dilation.to_vec())),
        ("group", Attr::Int(groups)),
    ]
}

pub const DOC: OpDoc = OpDoc { name: "conv", methods: "`conv1d`, `conv2d`", onnx: "Conv" };

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
        padding: &[i64],
        dilation: &[i64],
        groups: i64,
    ) -> Tensor {
        let location = SourceLocation::caller();
        let (stride, padding, dilation) = (expand(stride, n), expand(padding, n), expand(dilation, n));
        let op = || Conv { stride: stride.clone(), padding: padding.clone(), dilation: dilation.clone(), groups };
        let eager = |t: &[&tch::Tensor]| {
            let b = t.get(2).copied();
            if n == 1 {
                t[0].f_conv1d(t[1], b, &stride, &padding, &dilation, groups)
            } else {
                t[0].f_conv2d(t[1], b, &stride, &padding, &dilation, groups)
            }
        };
        match bias {
            Some(b) => record1(op, &[self, weight, b], location, eager),
            None => record1(op, &[self, weight], location, eager),
        }
    }

    /// 1-D convolution over `[N, C, L]`; `stride`, `padding`, `dilation` have 1 entry.
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
        self.conv_nd(1, weight, bias, stride, padding, dilation, groups)
    }

    /// 2-D convolution over `[N, C, H, W]`; `stride`, `padding`, `dilation` have 1 or 2 entries.
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
        self.conv_nd(2, weight, bias, stride, padding, dilation, groups)
    }
}
