//! max_pool2d over `[N, C, H, W]` or `[C, H, W]`, optionally with the indices of the maxima
//! (`max_pool2d_with_indices`).
//!
//! ONNX: MaxPool with kernel_shape, strides, pads, dilations, ceil_mode (opset 12+ semantics);
//! its second output indexes the whole input (`((n * C + c) * H + h) * W + w`) where torch's
//! indexes each plane (`h * W + w`), so the indices are taken modulo `H * W`. Integer tensors are
//! pooled in float64 (ONNX's MaxPool takes floats and 8-bit integers only).

use super::OpDoc;
use crate::session::{record1, record2};
use crate::tensor::Tensor;
use tapir_graph::{emit, smallvec, Attr, DType, Emit, LowerError, Op, Outputs, SourceLocation};

#[derive(Debug, Clone, PartialEq)]
pub struct MaxPool2d {
    pub kernel: Vec<i64>,
    pub stride: Vec<i64>,
    pub padding: Vec<i64>,
    pub dilation: Vec<i64>,
    pub ceil_mode: bool,
    /// Also output the indices of the maxima (per plane, as torch).
    pub indices: bool,
}

impl Op for MaxPool2d {
    tapir_graph::op_name!("max_pool2d");
    fn eval(&self, inputs: &[&dyn std::any::Any], _: &[tapir_graph::TensorMeta]) -> crate::replay::EvalResult {
        let (k, s, p, d) = (&self.kernel, &self.stride, &self.padding, &self.dilation);
        crate::replay::run(inputs, |t| {
            if self.indices {
                let (v, i) = t[0].f_max_pool2d_with_indices(
                    k.as_slice(),
                    s.as_slice(),
                    p.as_slice(),
                    d.as_slice(),
                    self.ceil_mode,
                )?;
                Ok(vec![v, i])
            } else {
                Ok(vec![t[0].f_max_pool2d(k.as_slice(), s.as_slice(), p.as_slice(), d.as_slice(), self.ceil_mode)?])
            }
        })
    }
    fn describe(&self) -> String {
        format!(
            "kernel={:?}, stride={:?}, padding={:?}, dilation={:?}, ceil_mode={}{}",
            self.kernel,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil_mode,
            if self.indices { ", indices" } else { "" }
        )
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let pads: Vec<i64> = self.padding.iter().chain(&self.padding).copied().collect();
        let attrs = vec![
            ("kernel_shape", Attr::Ints(self.kernel.clone())),
            ("strides", Attr::Ints(self.stride.clone())),
            ("pads", Attr::Ints(pads)),
            ("dilations", Attr::Ints(self.dilation.clone())),
            ("ceil_mode", Attr::Int(self.ceil_mode as i64)),
        ];
        if !self.indices {
            return super::lowering::spatial(cx, 2, |cx, ins| cx.node("MaxPool", &ins[..1], attrs));
        }
        let x = cx.input_meta(0);
        // The eager call accepted the input, so it is [N, C, H, W] or [C, H, W].
        let plane: i64 = x.shape.iter().rev().take(2).product();
        let unbatched = x.rank() == 3;
        let out = cx.output_meta(0).dtype;
        let compute = if out.is_float() { out } else { DType::F64 };
        let mut x = emit::input_as(cx, 0, compute);
        if unbatched {
            x = emit::unsqueeze(cx, x, &[0]);
        }
        let outs = cx.node_n("MaxPool", &[x], attrs, 2);
        let (mut values, mut indices) = (outs[0], outs[1]);
        let plane = cx.const_scalar(DType::I64, plane as f64);
        indices = cx.node("Mod", &[indices, plane], vec![]);
        if unbatched {
            values = emit::squeeze(cx, values, &[0]);
            indices = emit::squeeze(cx, indices, &[0]);
        }
        Ok(smallvec![emit::cast(cx, values, compute, out), indices])
    }
}

pub const DOC: OpDoc = OpDoc {
    name: "max_pool2d",
    methods: "`max_pool2d`, `max_pool2d_with_indices`",
    onnx: "MaxPool (indices: its second output, Mod by the plane size)",
};

pub(crate) fn pair(v: &[i64], default: &[i64]) -> Vec<i64> {
    match v.len() {
        0 => default.to_vec(),
        1 => vec![v[0], v[0]],
        _ => v.to_vec(),
    }
}

impl MaxPool2d {
    /// The op for torch's arguments: one entry stands for both dimensions, an empty stride means
    /// the kernel size.
    fn new(kernel: &[i64], stride: &[i64], padding: &[i64], dilation: &[i64], ceil_mode: bool, indices: bool) -> Self {
        let kernel = pair(kernel, &[1, 1]);
        let stride = pair(stride, &kernel);
        MaxPool2d {
            stride,
            padding: pair(padding, &[0, 0]),
            dilation: pair(dilation, &[1, 1]),
            kernel,
            ceil_mode,
            indices,
        }
    }
}

impl Tensor {
    /// 2-D max pooling; an empty `stride` means the kernel size, as in torch.
    #[track_caller]
    pub fn max_pool2d(
        &self,
        kernel: &[i64],
        stride: &[i64],
        padding: &[i64],
        dilation: &[i64],
        ceil_mode: bool,
    ) -> Tensor {
        let op = MaxPool2d::new(kernel, stride, padding, dilation, ceil_mode, false);
        let (k, s, p, d) = (&op.kernel, &op.stride, &op.padding, &op.dilation);
        record1(|| op.clone(), &[self], SourceLocation::caller(), |t| t[0].f_max_pool2d(k, s, p, d, ceil_mode))
    }

    /// [`Tensor::max_pool2d`] that also returns, for each maximum, its index in its input plane
    /// (`h * W + w`), as tch's `max_pool2d_with_indices`.
    #[track_caller]
    pub fn max_pool2d_with_indices(
        &self,
        kernel: &[i64],
        stride: &[i64],
        padding: &[i64],
        dilation: &[i64],
        ceil_mode: bool,
    ) -> (Tensor, Tensor) {
        let op = MaxPool2d::new(kernel, stride, padding, dilation, ceil_mode, true);
        let (k, s, p, d) = (&op.kernel, &op.stride, &op.padding, &op.dilation);
        record2(
            || op.clone(),
            &[self],
            SourceLocation::caller(),
            |t| t[0].f_max_pool2d_with_indices(k, s, p, d, ceil_mode),
        )
    }
}
