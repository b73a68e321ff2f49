//! max_pool1d and avg_pool1d over `[N, C, L]` or `[C, L]`; an empty stride means the kernel size.
//!
//! ONNX: MaxPool / AveragePool with one spatial axis (kernel_shape, strides, pads, dilations for
//! max, ceil_mode, count_include_pad for average); unbatched inputs get a batch axis, integers
//! are pooled in float64 (`lowering::spatial`).

use super::lowering::{self, per_dim};
use super::{SymDims, Dims, IntList, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{Attr, Emit, LowerError, Outputs};

/// Inputs: `[x]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Pool1d {
    /// max_pool1d; avg_pool1d otherwise.
    pub max: bool,
    pub kernel: Dims,
    pub stride: Dims,
    pub padding: Dims,
    /// max only.
    pub dilation: Dims,
    pub ceil_mode: bool,
    /// avg only.
    pub count_include_pad: bool,
}

impl OpDef for Pool1d {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        // Average pooling has no dilation.
        let dilation: &[i64] = if self.max { &self.dilation } else { &[] };
        super::shape::pool(inputs, &self.kernel, &self.stride, &self.padding, dilation, self.ceil_mode, 1)
    }
    fn name(&self) -> &'static str {
        if self.max {
            "max_pool1d"
        } else {
            "avg_pool1d"
        }
    }
    fn describe(&self) -> String {
        format!(
            "kernel={:?}, stride={:?}, padding={:?}, dilation={:?}, ceil_mode={}",
            self.kernel, self.stride, self.padding, self.dilation, self.ceil_mode
        )
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        let (k, s, p) = (self.kernel.as_slice(), self.stride.as_slice(), self.padding.as_slice());
        if self.max {
            t[0].f_max_pool1d(k, s, p, self.dilation.as_slice(), self.ceil_mode)
        } else {
            t[0].f_avg_pool1d(k, s, p, self.ceil_mode, self.count_include_pad)
        }
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let pads: Vec<i64> = self.padding.iter().chain(&self.padding).copied().collect();
        let mut attrs = vec![
            ("kernel_shape", Attr::Ints(self.kernel.to_vec())),
            ("strides", Attr::Ints(self.stride.to_vec())),
            ("pads", Attr::Ints(pads)),
            ("ceil_mode", Attr::Int(self.ceil_mode as i64)),
        ];
        let op_type = if self.max {
            attrs.push(("dilations", Attr::Ints(self.dilation.to_vec())));
            "MaxPool"
        } else {
            attrs.push(("count_include_pad", Attr::Int(self.count_include_pad as i64)));
            "AveragePool"
        };
        lowering::spatial(cx, 1, |cx, ins| cx.node(op_type, &ins[..1], attrs))
    }
}

pub(super) const DOCS: &[OpDoc] = &[
    OpDoc { name: "max_pool1d", methods: "`max_pool1d`" },
    OpDoc { name: "avg_pool1d", methods: "`avg_pool1d`" },
];

impl Tensor {
    /// 1-D max pooling; an empty `stride` means the kernel size, as in torch.
    #[track_caller]
    pub fn max_pool1d(
        &self,
        kernel: impl IntList,
        stride: impl IntList,
        padding: impl IntList,
        dilation: impl IntList,
        ceil_mode: bool,
    ) -> Tensor {
        let kernel = per_dim(&kernel.to_dims(), 1, &[1]);
        let op = Pool1d {
            stride: per_dim(&stride.to_dims(), 1, &kernel),
            padding: per_dim(&padding.to_dims(), 1, &[0]),
            dilation: per_dim(&dilation.to_dims(), 1, &[1]),
            kernel,
            max: true,
            ceil_mode,
            count_include_pad: false,
        };
        record(op, &[self])
    }

    /// 1-D average pooling; an empty `stride` means the kernel size, as in torch.
    #[track_caller]
    pub fn avg_pool1d(
        &self,
        kernel: impl IntList,
        stride: impl IntList,
        padding: impl IntList,
        ceil_mode: bool,
        count_include_pad: bool,
    ) -> Tensor {
        let kernel = per_dim(&kernel.to_dims(), 1, &[1]);
        let op = Pool1d {
            stride: per_dim(&stride.to_dims(), 1, &kernel),
            padding: per_dim(&padding.to_dims(), 1, &[0]),
            dilation: smallvec::smallvec![1],
            kernel,
            max: false,
            ceil_mode,
            count_include_pad,
        };
        record(op, &[self])
    }
}
