//! conv_transpose2d (a.k.a. deconvolution) with stride, padding, output padding, dilation,
//! groups and an optional bias.
//!
//! ONNX: ConvTranspose (https://onnx.ai/onnx/operators/onnx__ConvTranspose.html) with `pads`
//! (the end pads reduced by the output padding where it fits in them, `output_padding`
//! otherwise), `strides`, `dilations`, `group`; the weight is `[in, out / groups, kH, kW]` in
//! both. Unbatched `[C, H, W]` inputs get a batch axis; integer tensors are computed in float64.

use super::OpDoc;
use crate::replay::replay1;
use crate::session::record1;
use crate::tensor::Tensor;
use tapir_graph::{Attr, Emit, LowerError, Op, Outputs, SourceLocation};

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
        let mut attrs =
            super::conv::conv_attrs(cx, &self.stride, &self.padding, &self.padding, &self.dilation, self.groups);
        // output_padding extends the output at the end into the full (uncropped) result. When it
        // is within the padding, it is written as a smaller end padding: same values, and valid
        // for runtimes that only take output_padding below the stride (torch allows it below the
        // stride or the dilation).
        let within = self.output_padding.iter().zip(&self.padding).all(|(o, p)| o <= p);
        if within {
            let ends = self.padding.iter().zip(&self.output_padding).map(|(p, o)| p - o);
            let pads = self.padding.iter().copied().chain(ends).collect();
            if let Some(a) = attrs.iter_mut().find(|a| a.0 == "pads") {
                a.1 = Attr::Ints(pads);
            }
        } else {
            attrs.push(("output_padding", Attr::Ints(self.output_padding.clone())));
        }
        super::lowering::spatial(cx, 2, |cx, ins| cx.node("ConvTranspose", ins, attrs))
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
