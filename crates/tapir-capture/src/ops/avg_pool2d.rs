//! avg_pool2d over `[N, C, H, W]` or `[C, H, W]`.
//!
//! ONNX: AveragePool with kernel_shape, strides, pads, ceil_mode, count_include_pad. torch's
//! `divisor_override` d is the window sum (a depthwise Conv with a kernel of ones) over d; with
//! ceil_mode the last windows may overhang the padded input, so that case is refused at lowering.

use super::lowering::{self, per_dim};
use super::{SymDims, Dims, IntList, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{Attr, DType, Emit, LowerError, Outputs};

#[derive(Debug, Clone, PartialEq)]
pub struct AvgPool2d {
    pub kernel: Dims,
    pub stride: Dims,
    pub padding: Dims,
    pub ceil_mode: bool,
    pub count_include_pad: bool,
    pub divisor_override: Option<i64>,
}

impl OpDef for AvgPool2d {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        super::shape::pool(inputs, &self.kernel, &self.stride, &self.padding, &[], self.ceil_mode, 1)
    }
    fn name(&self) -> &'static str {
        "avg_pool2d"
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        let (k, s, p) = (self.kernel.as_slice(), self.stride.as_slice(), self.padding.as_slice());
        t[0].f_avg_pool2d(k, s, p, self.ceil_mode, self.count_include_pad, self.divisor_override)
    }
    fn describe(&self) -> String {
        format!(
            "kernel={:?}, stride={:?}, padding={:?}, ceil_mode={}, count_include_pad={}",
            self.kernel, self.stride, self.padding, self.ceil_mode, self.count_include_pad
        )
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let pads: Vec<i64> = self.padding.iter().chain(&self.padding).copied().collect();
        let Some(d) = self.divisor_override else {
            let attrs = vec![
                ("kernel_shape", Attr::Ints(self.kernel.to_vec())),
                ("strides", Attr::Ints(self.stride.to_vec())),
                ("pads", Attr::Ints(pads)),
                ("ceil_mode", Attr::Int(self.ceil_mode as i64)),
                ("count_include_pad", Attr::Int(self.count_include_pad as i64)),
            ];
            return lowering::spatial(cx, 2, |cx, ins| cx.node("AveragePool", &ins[..1], attrs));
        };
        // divisor_override d: the window sum over d. The sum is a depthwise Conv with a kernel of
        // ones (zero padding adds nothing, as in torch); Conv has no ceil_mode, whose last windows
        // may overhang the padded input, so that case is refused.
        if self.ceil_mode || d == 0 {
            return Err(LowerError::new(
                "avg_pool2d",
                cx.opset(),
                format!("divisor_override={d} with ceil_mode={} has no ONNX equivalent", self.ceil_mode),
            ));
        }
        // The eager call accepted the input, so it is [N, C, H, W] or [C, H, W].
        let x = &cx.input_meta(0).shape;
        let channels = x.len().checked_sub(3).and_then(|c| x.get(c)).copied().unwrap_or(1);
        let attrs = vec![
            ("kernel_shape", Attr::Ints(self.kernel.to_vec())),
            ("strides", Attr::Ints(self.stride.to_vec())),
            ("pads", Attr::Ints(pads)),
            ("group", Attr::Int(channels)),
        ];
        let ones_shape = [channels, 1, self.kernel[0], self.kernel[1]];
        let out = cx.output_meta(0).dtype;
        let compute = if out.is_float() { out } else { DType::F64 };
        lowering::spatial(cx, 2, |cx, ins| {
            let one = cx.const_scalar(compute, 1.0);
            let shape = cx.const_i64s(&ones_shape);
            let ones = cx.node("Expand", &[one, shape], vec![]);
            let sum = cx.node("Conv", &[ins[0], ones], attrs);
            let d = cx.const_scalar(compute, d as f64);
            cx.node("Div", &[sum, d], vec![])
        })
    }
}

pub(super) const DOCS: &[OpDoc] = &[OpDoc { name: "avg_pool2d", methods: "`avg_pool2d`" }];

impl Tensor {
    /// 2-D average pooling (tch's signature); an empty `stride` means the kernel size, as in
    /// torch.
    #[track_caller]
    pub fn avg_pool2d(
        &self,
        kernel_size: impl IntList,
        stride: impl IntList,
        padding: impl IntList,
        ceil_mode: bool,
        count_include_pad: bool,
        divisor_override: impl Into<Option<i64>>,
    ) -> Tensor {
        let kernel = per_dim(&kernel_size.to_dims(), 2, &[1, 1]);
        let op = AvgPool2d {
            stride: per_dim(&stride.to_dims(), 2, &kernel),
            padding: per_dim(&padding.to_dims(), 2, &[0, 0]),
            kernel,
            ceil_mode,
            count_include_pad,
            divisor_override: divisor_override.into(),
        };
        record(op, &[self])
    }

    /// Average pooling with a square `ksize` window and stride (tch's `avg_pool2d_default`).
    #[track_caller]
    pub fn avg_pool2d_default(&self, ksize: i64) -> Tensor {
        self.avg_pool2d([ksize, ksize], [ksize, ksize], [0, 0], false, true, None)
    }
}
