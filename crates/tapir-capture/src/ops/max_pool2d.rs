//! max_pool2d over `[N, C, H, W]`.
//!
//! ONNX: MaxPool with kernel_shape, strides, pads, dilations, ceil_mode (opset 12+ semantics).

use super::OpDoc;
use crate::replay::replay1;
use crate::session::record1;
use crate::tensor::Tensor;
use tapir_graph::{Attr, Emit, LowerError, Op, Outputs, SourceLocation};

#[derive(Debug, Clone, PartialEq)]
pub struct MaxPool2d {
    pub kernel: Vec<i64>,
    pub stride: Vec<i64>,
    pub padding: Vec<i64>,
    pub dilation: Vec<i64>,
    pub ceil_mode: bool,
}

impl Op for MaxPool2d {
    replay1!(self, t, out => t[0].f_max_pool2d(self.kernel.as_slice(), self.stride.as_slice(), self.padding.as_slice(), self.dilation.as_slice(), self.ceil_mode));
    tapir_graph::op_name!("max_pool2d");
    fn describe(&self) -> String {
        format!(
            "kernel={:?}, stride={:?}, padding={:?}, dilation={:?}, ceil_mode={}",
            self.kernel, self.stride, self.padding, self.dilation, self.ceil_mode
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
        super::lowering::spatial(cx, 2, |cx, ins| cx.node("MaxPool", &ins[..1], attrs))
    }
}

pub const DOC: OpDoc = OpDoc { name: "max_pool2d", methods: "`max_pool2d`", onnx: "MaxPool" };

pub(crate) fn pair(v: &[i64], default: &[i64]) -> Vec<i64> {
    match v.len() {
        0 => default.to_vec(),
        1 => vec![v[0], v[0]],
        _ => v.to_vec(),
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
        let k = pair(kernel, &[1, 1]);
        let (s, p, d) = (pair(stride, &k), pair(padding, &[0, 0]), pair(dilation, &[1, 1]));
        let op =
            || MaxPool2d { kernel: k.clone(), stride: s.clone(), padding: p.clone(), dilation: d.clone(), ceil_mode };
        record1(op, &[self], SourceLocation::caller(), |t| t[0].f_max_pool2d(&k, &s, &p, &d, ceil_mode))
    }
}
