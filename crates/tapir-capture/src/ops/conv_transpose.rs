//! conv_transpose2d (a.k.a. deconvolution) with stride, padding, output padding, dilation,
//! groups and an optional bias.
//!
//! ONNX: ConvTranspose (https://onnx.ai/onnx/operators/onnx__ConvTranspose.html) with `pads`
//! (the end pads reduced by the output padding where it fits in them, `output_padding`
//! otherwise), `strides`, `dilations`, `group`; the weight is `[in, out / groups, kH, kW]` in
//! both. Unbatched `[C, H, W]` inputs get a batch axis; integer tensors are computed in float64.

use super::lowering::{self, conv_attrs, per_dim};
use super::{SymDims, Dims, IntList, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{Attr, Emit, LowerError, Outputs};

/// Inputs: `[x, weight]` or `[x, weight, bias]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvTranspose2d {
    pub stride: Dims,
    pub padding: Dims,
    pub output_padding: Dims,
    pub dilation: Dims,
    pub groups: i64,
}

impl OpDef for ConvTranspose2d {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        let (x, w) = (inputs.first()?, inputs.get(1)?);
        let batched = x.len() == 4;
        let mut out: SymDims = if batched { smallvec::smallvec![x[0]] } else { SymDims::new() };
        out.push(w[1] * self.groups);
        let spatial = &x[x.len() - 2..];
        for (i, &size) in spatial.iter().enumerate() {
            let k = w.get(2 + i)?.as_static()?;
            let (s, p, o, d) = (self.stride[i], self.padding[i], self.output_padding[i], self.dilation[i]);
            out.push((size - 1) * s - 2 * p + d * (k - 1) + o + 1);
        }
        Some(vec![out])
    }
    fn name(&self) -> &'static str {
        "conv_transpose2d"
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        let (s, p, o, d) = (&self.stride, &self.padding, &self.output_padding, &self.dilation);
        t[0].f_conv_transpose2d(t[1], t.get(2).copied(), s.as_slice(), p.as_slice(), o.as_slice(), self.groups, d.as_slice())
    }
    fn describe(&self) -> String {
        format!(
            "stride={:?}, padding={:?}, output_padding={:?}, dilation={:?}, groups={}",
            self.stride, self.padding, self.output_padding, self.dilation, self.groups
        )
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let mut attrs =
            conv_attrs(cx, &self.stride, &self.padding, &self.padding, &self.dilation, self.groups);
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
            attrs.push(("output_padding", Attr::Ints(self.output_padding.to_vec())));
        }
        lowering::spatial(cx, 2, |cx, ins| cx.node("ConvTranspose", ins, attrs))
    }
}

pub(super) const DOCS: &[OpDoc] = &[OpDoc { name: "conv_transpose2d", methods: "`conv_transpose2d`" }];

impl Tensor {
    /// 2-D transposed convolution over `[N, C, H, W]`; `weight` is `[C, out / groups, kH, kW]`
    /// (tch's signature and argument order: groups before dilation).
    #[allow(clippy::too_many_arguments)]
    #[track_caller]
    pub fn conv_transpose2d<T: std::borrow::Borrow<Tensor>>(
        &self,
        weight: &Tensor,
        bias: Option<T>,
        stride: impl IntList,
        padding: impl IntList,
        output_padding: impl IntList,
        groups: i64,
        dilation: impl IntList,
    ) -> Tensor {
        let op = ConvTranspose2d {
            stride: per_dim(&stride.to_dims(), 2, &[]),
            padding: per_dim(&padding.to_dims(), 2, &[]),
            output_padding: per_dim(&output_padding.to_dims(), 2, &[]),
            dilation: per_dim(&dilation.to_dims(), 2, &[]),
            groups,
        };
        match &bias {
            Some(b) => record(op, &[self, weight, b.borrow()]),
            None => record(op, &[self, weight]),
        }
    }
}
