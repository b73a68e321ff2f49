//! conv_transpose2d (a.k.a. deconvolution) with stride, padding, output padding, dilation,
//! groups and an optional bias.
//!
//! ONNX: ConvTranspose (https://onnx.ai/onnx/operators/onnx__ConvTranspose.html) with symmetric
//! `pads`, `output_padding`, `strides`, `dilations`, `group`; the weight is `[in, out / groups,
//! kH, kW]` in both.

use super::OpDoc;
use crate::replay::replay1;
use crate::session::record1;
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, Emit, LowerError, Op, Outputs, SourceLocation};

/// Inputs: `[x, weight]` or `[x, weight, bias]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvTranspose2d {
    pub stride: Vec<i64>,
    pub padding: Vec<i64>,
    pub output_padding: Vec<i64>,
    pub dilation: Vec<i64>,
    pub groups: i64,
}

impl Op for ConvTranspose2d {
    replay1!(self, t, out => t[0].f_conv_transpose2d(t[1], t.get(2).copied(), self.stride.as_slice(), self.padding.as_slice(), self.output_padding.as_slice(), self.groups, self.dilation.as_slice()));
    tapir_graph::op_name!("conv_transpose2d");
    fn describe(&self) -> String {
        format!(
            "stride={:?}, padding={:?}, output_padding={:?}, dilation={:?}, groups={}",
            self.stride, self.padding, self.output_padding, self.dilation, self.groups
        )
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let ins: Vec<_> = (0..cx.num_inputs()).map(|i| cx.input(i)).collect();
        let mut attrs = super::conv::conv_attrs(cx, &self.stride, &self.padding, &self.dilation, self.groups);
        attrs.push(("output_padding", Attr::Ints(self.output_padding.clone())));
        emit::one(cx.node("ConvTranspose", &ins, attrs))
    }
}

pub const DOC: OpDoc = OpDoc { name: "conv_transpose2d", methods: "`conv_transpose2d`", onnx: "ConvTranspose" };

fn pair(v: &[i64]) -> Vec<i64> {
    if v.len() == 1 {
        vec![v[0], v[0]]
    } else {
        v.to_vec()
    }
}

impl Tensor {
    /// 2-D transposed convolution over `[N, C, H, W]`; `weight` is `[C, out / groups, kH, kW]`.
    #[allow(clippy::too_many_arguments)]
    #[track_caller]
    pub fn conv_transpose2d(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        stride: &[i64],
        padding: &[i64],
        output_padding: &[i64],
        dilation: &[i64],
        groups: i64,
    ) -> Tensor {
        let (s, p, o, d) = (pair(stride), pair(padding), pair(output_padding), pair(dilation));
        let op = || ConvTranspose2d {
            stride: s.clone(),
            padding: p.clone(),
            output_padding: o.clone(),
            dilation: d.clone(),
            groups,
        };
        let eager = |t: &[&tch::Tensor]| t[0].f_conv_transpose2d(t[1], t.get(2).copied(), &s, &p, &o, groups, &d);
        let location = SourceLocation::caller();
        match bias {
            Some(b) => record1(op, &[self, weight, b], location, eager),
            None => record1(op, &[self, weight], location, eager),
        }
    }
}
