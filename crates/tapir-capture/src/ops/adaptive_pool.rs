//! adaptive_avg_pool1d and adaptive_max_pool2d: pooling to a fixed output size (the max with
//! the indices of the maxima in each input plane, as tch returns them).
//!
//! ONNX: AveragePool / MaxPool with kernel = stride = input / output, when the input size is a
//! multiple of the output size (other sizes have no static ONNX form yet and are refused at
//! lowering). MaxPool's indices index the whole
//! input, torch's each plane: they are taken modulo the plane size.

use super::{SymDims, SymInt, lowering, Dims, IntList, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{Attr, Emit, LowerError, Outputs};

/// Inputs: `[x]`.
#[derive(Debug, Clone, PartialEq)]
pub struct AdaptivePool {
    /// adaptive_max_pool2d (values and indices); adaptive_avg_pool1d otherwise.
    pub max: bool,
    pub output_size: Dims,
}

impl OpDef for AdaptivePool {
    type Output = Vec<tch::Tensor>;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        let x = inputs.first()?.dtype;
        Some(if self.max { smallvec::smallvec![x, tapir_graph::DType::I64] } else { smallvec::smallvec![x] })
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        let x = inputs.first()?;
        let n = self.output_size.len();
        let mut out: SymDims = x[..x.len() - n].iter().copied().collect();
        out.extend(self.output_size.iter().map(|&s| SymInt::from(s)));
        Some(vec![out; self.num_outputs()])
    }
    fn name(&self) -> &'static str {
        if self.max {
            "adaptive_max_pool2d"
        } else {
            "adaptive_avg_pool1d"
        }
    }
    fn num_outputs(&self) -> usize {
        1 + self.max as usize
    }
    fn describe(&self) -> String {
        format!("output_size={:?}", self.output_size)
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<Vec<tch::Tensor>, tch::TchError> {
        if self.max {
            let (v, i) = t[0].f_adaptive_max_pool2d(self.output_size.as_slice())?;
            Ok(vec![v, i])
        } else {
            Ok(vec![t[0].f_adaptive_avg_pool1d(self.output_size.as_slice())?])
        }
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let meta = cx.input_meta(0).clone();
        let n = self.output_size.len();
        // The eager rule accepted the input: `n` spatial dims after one or two leading ones.
        let spatial = &meta.shape[meta.rank() - n..];
        let mut kernel = vec![];
        for (size, out) in spatial.iter().zip(&self.output_size) {
            if *out <= 0 || size % out != 0 {
                let why = format!("input size {spatial:?} is not a multiple of output size {:?}", self.output_size);
                return Err(LowerError::new(self.name(), cx.opset(), why));
            }
            kernel.push(size / out);
        }
        let attrs = vec![("kernel_shape", Attr::Ints(kernel.clone())), ("strides", Attr::Ints(kernel))];
        if !self.max {
            return lowering::spatial(cx, n, |cx, ins| cx.node("AveragePool", &ins[..1], attrs));
        }
        lowering::max_pool_with_indices(cx, n, attrs)
    }
}

pub(super) const DOCS: &[OpDoc] = &[
    OpDoc { name: "adaptive_avg_pool1d", methods: "`adaptive_avg_pool1d`" },
    OpDoc { name: "adaptive_max_pool2d", methods: "`adaptive_max_pool2d`" },
];

impl Tensor {
    /// Average pooling of `[N, C, L]` or `[C, L]` to length `output_size`.
    #[track_caller]
    pub fn adaptive_avg_pool1d(&self, output_size: impl IntList) -> Tensor {
        let op = AdaptivePool { max: false, output_size: output_size.to_dims() };
        record(op, &[self]).into_iter().next().unwrap_or_default()
    }

    /// Max pooling of `[N, C, H, W]` or `[C, H, W]` to `output_size`, with the index of each
    /// maximum in its input plane (`h * W + w`).
    #[track_caller]
    pub fn adaptive_max_pool2d(&self, output_size: impl IntList) -> (Tensor, Tensor) {
        let op = AdaptivePool { max: true, output_size: output_size.to_dims() };
        let mut outs = record(op, &[self]).into_iter();
        (outs.next().unwrap_or_default(), outs.next().unwrap_or_default())
    }
}
