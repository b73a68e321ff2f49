//! avg_pool2d over `[N, C, H, W]`.
//!
//! ONNX: AveragePool with kernel_shape, strides, pads, ceil_mode, count_include_pad. torch's
//! `divisor_override` has no ONNX counterpart: recorded, but refused at lowering.

use super::max_pool2d::pair;
use super::OpDoc;
use crate::replay::replay1;
use crate::session::record1;
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, Emit, LowerError, Op, Outputs, SourceLocation};

#[derive(Debug, Clone, PartialEq)]
pub struct AvgPool2d {
    pub kernel: Vec<i64>,
    pub stride: Vec<i64>,
    pub padding: Vec<i64>,
    pub ceil_mode: bool,
    pub count_include_pad: bool,
    pub divisor_override: Option<i64>,
}

impl Op for AvgPool2d {
    replay1!(self, t, out => t[0].f_avg_pool2d(self.kernel.as_slice(), self.stride.as_slice(), self.padding.as_slice(), self.ceil_mode, self.count_include_pad, self.divisor_override));
    tapir_graph::op_name!("avg_pool2d");
    fn describe(&self) -> String {
        format!(
            "kernel={:?}, stride={:?}, padding={:?}, ceil_mode={}, count_include_pad={}",
            self.kernel, self.stride, self.padding, self.ceil_mode, self.count_include_pad
        )
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        if let Some(d) = self.divisor_override {
            return Err(LowerError::new(
                "avg_pool2d",
                cx.opset(),
                format!("divisor_override={d} has no ONNX AveragePool equivalent"),
            ));
        }
        let x = cx.input(0);
        let pads: Vec<i64> = self.padding.iter().chain(&self.padding).copied().collect();
        let attrs = vec![
            ("kernel_shape", Attr::Ints(self.kernel.clone())),
            ("strides", Attr::Ints(self.stride.clone())),
            ("pads", Attr::Ints(pads)),
            ("ceil_mode", Attr::Int(self.ceil_mode as i64)),
            ("count_include_pad", Attr::Int(self.count_include_pad as i64)),
        ];
        emit::one(cx.node("AveragePool", &[x], attrs))
    }
}

pub const DOC: OpDoc =
    OpDoc { name: "avg_pool2d", methods: "`avg_pool2d`", onnx: "AveragePool (no `divisor_override`)" };

impl Tensor {
    /// 2-D average pooling; an empty `stride` means the kernel size, as in torch.
    #[track_caller]
    pub fn avg_pool2d(
        &self,
        kernel: &[i64],
        stride: &[i64],
        padding: &[i64],
        ceil_mode: bool,
        count_include_pad: bool,
        divisor_override: Option<i64>,
    ) -> Tensor {
        let k = pair(kernel, &[1, 1]);
        let (s, p) = (pair(stride, &k), pair(padding, &[0, 0]));
        let op = || AvgPool2d {
            kernel: k.clone(),
            stride: s.clone(),
            padding: p.clone(),
            ceil_mode,
            count_include_pad,
            divisor_override,
        };
        record1(op, &[self], SourceLocation::caller(), |t| {
            t[0].f_avg_pool2d(&k, &s, &p, ceil_mode, count_include_pad, divisor_override)
        })
    }
}
