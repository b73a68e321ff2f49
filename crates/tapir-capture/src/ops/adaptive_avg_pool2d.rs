//! adaptive_avg_pool2d: average pooling to a fixed output size.
//!
//! ONNX: GlobalAveragePool for a 1x1 output; AveragePool with kernel = stride = input/output
//! when the input size is a multiple of the output size; other sizes have no static ONNX form
//! and are refused at lowering.

use super::{SymDims, SymInt, lowering, IntList, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{Attr, Emit, LowerError, Outputs};

#[derive(Debug, Clone, PartialEq)]
pub struct AdaptiveAvgPool2d {
    pub output_size: [i64; 2],
}

impl OpDef for AdaptiveAvgPool2d {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        let x = inputs.first()?;
        let mut out: SymDims = x[..x.len() - 2].iter().copied().collect();
        out.extend(self.output_size.iter().map(|&s| SymInt::from(s)));
        Some(vec![out])
    }
    fn name(&self) -> &'static str {
        "adaptive_avg_pool2d"
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        t[0].f_adaptive_avg_pool2d(self.output_size)
    }
    fn describe(&self) -> String {
        format!("output_size={:?}", self.output_size)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        if self.output_size == [1, 1] {
            return lowering::spatial(cx, 2, |cx, ins| cx.node("GlobalAveragePool", &ins[..1], vec![]));
        }
        // The eager rule accepted the input: [N, C, H, W] or [C, H, W].
        let shape = &cx.input_meta(0).shape;
        let (h, w) = (shape[shape.len() - 2], shape[shape.len() - 1]);
        let [oh, ow] = self.output_size;
        if oh <= 0 || ow <= 0 || h % oh != 0 || w % ow != 0 {
            return Err(LowerError::new(
                "adaptive_avg_pool2d",
                cx.opset(),
                format!("input {h}x{w} is not a multiple of output {oh}x{ow}"),
            ));
        }
        let kernel = vec![h / oh, w / ow];
        let attrs = vec![("kernel_shape", Attr::Ints(kernel.clone())), ("strides", Attr::Ints(kernel))];
        lowering::spatial(cx, 2, |cx, ins| cx.node("AveragePool", &ins[..1], attrs))
    }
}

pub(super) const DOCS: &[OpDoc] = &[OpDoc { name: "adaptive_avg_pool2d", methods: "`adaptive_avg_pool2d`" }];

impl Tensor {
    /// Average pooling to `output_size` (`[1, 1]` is global average pooling).
    #[track_caller]
    pub fn adaptive_avg_pool2d(&self, output_size: impl IntList) -> Tensor {
        let d = output_size.to_dims();
        let output_size = match d.as_slice() {
            [n] => [*n, *n],
            [h, w] => [*h, *w],
            other => {
                let message = format!("output_size {other:?}: one or two sizes");
                return super::bad_argument("adaptive_avg_pool2d", message);
            }
        };
        record(AdaptiveAvgPool2d { output_size }, &[self])
    }
}
