//! max_pool2d over `[N, C, H, W]` or `[C, H, W]`, optionally with the indices of the maxima
//! (`max_pool2d_with_indices`).
//!
//! ONNX: MaxPool with kernel_shape, strides, pads, dilations, ceil_mode (opset 12+ semantics);
//! its second output indexes the whole input (`((n * C + c) * H + h) * W + w`) where torch's
//! indexes each plane (`h * W + w`), so the indices are taken modulo `H * W`. Integer tensors are
//! pooled in float64 (ONNX's MaxPool takes floats and 8-bit integers only).

use super::lowering::{self, per_dim};
use super::{SymDims, Dims, IntList, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{Attr, Emit, LowerError, Outputs};

#[derive(Debug, Clone, PartialEq)]
pub struct MaxPool2d {
    pub kernel: Dims,
    pub stride: Dims,
    pub padding: Dims,
    pub dilation: Dims,
    pub ceil_mode: bool,
    /// Also output the indices of the maxima (per plane, as torch).
    pub indices: bool,
}

impl OpDef for MaxPool2d {
    /// The pooled values, then the indices when `indices` is set.
    type Output = Vec<tch::Tensor>;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        let x = inputs.first()?.dtype;
        Some(if self.indices { smallvec::smallvec![x, tapir_graph::DType::I64] } else { smallvec::smallvec![x] })
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        let n = 1 + self.indices as usize;
        super::shape::pool(inputs, &self.kernel, &self.stride, &self.padding, &self.dilation, self.ceil_mode, n)
    }
    fn name(&self) -> &'static str {
        "max_pool2d"
    }
    fn num_outputs(&self) -> usize {
        1 + self.indices as usize
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<Vec<tch::Tensor>, tch::TchError> {
        let (k, s, p, d) = (self.kernel.as_slice(), self.stride.as_slice(), self.padding.as_slice(), self.dilation.as_slice());
        if self.indices {
            let (v, i) = t[0].f_max_pool2d_with_indices(k, s, p, d, self.ceil_mode)?;
            Ok(vec![v, i])
        } else {
            Ok(vec![t[0].f_max_pool2d(k, s, p, d, self.ceil_mode)?])
        }
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
            ("kernel_shape", Attr::Ints(self.kernel.to_vec())),
            ("strides", Attr::Ints(self.stride.to_vec())),
            ("pads", Attr::Ints(pads)),
            ("dilations", Attr::Ints(self.dilation.to_vec())),
            ("ceil_mode", Attr::Int(self.ceil_mode as i64)),
        ];
        if !self.indices {
            return lowering::spatial(cx, 2, |cx, ins| cx.node("MaxPool", &ins[..1], attrs));
        }
        lowering::max_pool_with_indices(cx, 2, attrs)
    }
}

pub(super) const DOCS: &[OpDoc] =
    &[OpDoc { name: "max_pool2d", methods: "`max_pool2d`, `max_pool2d_with_indices`" }];

impl MaxPool2d {
    /// The op for torch's arguments: one entry stands for both dimensions, an empty stride means
    /// the kernel size.
    fn new(kernel: &[i64], stride: &[i64], padding: &[i64], dilation: &[i64], ceil_mode: bool, indices: bool) -> Self {
        let kernel = per_dim(kernel, 2, &[1, 1]);
        MaxPool2d {
            stride: per_dim(stride, 2, &kernel),
            padding: per_dim(padding, 2, &[0, 0]),
            dilation: per_dim(dilation, 2, &[1, 1]),
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
        kernel_size: impl IntList,
        stride: impl IntList,
        padding: impl IntList,
        dilation: impl IntList,
        ceil_mode: bool,
    ) -> Tensor {
        let (k, s, p, d) = (kernel_size.to_dims(), stride.to_dims(), padding.to_dims(), dilation.to_dims());
        let op = MaxPool2d::new(&k, &s, &p, &d, ceil_mode, false);
        let mut outs = record(op, &[self]).into_iter();
        outs.next().unwrap_or_default()
    }

    /// [`Tensor::max_pool2d`] that also returns, for each maximum, its index in its input plane
    /// (`h * W + w`), as tch's `max_pool2d_with_indices`.
    #[track_caller]
    pub fn max_pool2d_with_indices(
        &self,
        kernel_size: impl IntList,
        stride: impl IntList,
        padding: impl IntList,
        dilation: impl IntList,
        ceil_mode: bool,
    ) -> (Tensor, Tensor) {
        let (k, s, p, d) = (kernel_size.to_dims(), stride.to_dims(), padding.to_dims(), dilation.to_dims());
        let op = MaxPool2d::new(&k, &s, &p, &d, ceil_mode, true);
        let mut outs = record(op, &[self]).into_iter();
        (outs.next().unwrap_or_default(), outs.next().unwrap_or_default())
    }

    /// Max pooling with a square `ksize` window and stride (tch's `max_pool2d_default`).
    #[track_caller]
    pub fn max_pool2d_default(&self, ksize: i64) -> Tensor {
        self.max_pool2d([ksize, ksize], [ksize, ksize], [0, 0], [1, 1], false)
    }
}
