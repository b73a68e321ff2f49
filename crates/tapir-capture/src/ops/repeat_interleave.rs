//! repeat_interleave with a number of repeats: each entry repeated in place along a dimension
//! (`[a, b] -> [a, a, b, b]`), or over the flattened tensor.
//!
//! ONNX: Unsqueeze after the dimension, Expand the new axis to the repeat count, Reshape to the
//! output shape. Repeats given as a tensor (a count per entry) are not supported.

use super::{SymDims, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Emit, LowerError, Outputs};

/// Inputs: `[x]`.
#[derive(Debug, Clone, PartialEq)]
pub struct RepeatInterleave {
    pub repeats: i64,
    /// A non-negative dimension; `None`: over the flattened tensor.
    pub dim: Option<i64>,
}

impl OpDef for RepeatInterleave {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        let x = inputs.first()?;
        match self.dim {
            None => Some(vec![smallvec::smallvec![super::shape::numel(x) * self.repeats]]),
            Some(d) => {
                let mut out = x.clone();
                let d = super::shape::axis(d, x.len())?;
                out[d] = out[d] * self.repeats;
                Some(vec![out])
            }
        }
    }
    fn name(&self) -> &'static str {
        "repeat_interleave"
    }
    fn describe(&self) -> String {
        format!("repeats={}, dim={:?}", self.repeats, self.dim)
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        t[0].f_repeat_interleave_self_int(self.repeats, self.dim, None)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let mut x = cx.input(0);
        let mut shape = cx.input_meta(0).shape.clone();
        let dim = match self.dim {
            Some(d) if !shape.is_empty() => d as usize,
            _ => {
                let n: i64 = shape.iter().product();
                x = emit::reshape(cx, x, &[n]);
                shape = vec![n].into();
                0
            }
        };
        let x = emit::unsqueeze(cx, x, &[dim as i64 + 1]);
        let mut expanded: Vec<i64> = shape.to_vec();
        expanded.insert(dim + 1, self.repeats);
        let target = cx.const_i64s(&expanded);
        let x = cx.node("Expand", &[x, target], vec![]);
        let out = cx.output_meta(0).shape.clone();
        emit::one(emit::reshape(cx, x, &out))
    }
}

pub(super) const DOCS: &[OpDoc] =
    &[OpDoc { name: "repeat_interleave", methods: "`repeat_interleave_self_int`, `repeat_interleave`" }];

impl Tensor {
    /// Each entry repeated `repeats` times in place along `dim` (`None`: over the flattened
    /// tensor). tch's name; `output_size` is its hint, without effect on the values.
    #[track_caller]
    pub fn repeat_interleave_self_int(
        &self,
        repeats: i64,
        dim: impl Into<Option<i64>>,
        output_size: impl Into<Option<i64>>,
    ) -> Tensor {
        let _ = output_size.into();
        record(RepeatInterleave { repeats, dim: dim.into().map(|d| self.norm_dim(d)) }, &[self])
    }

    /// [`Tensor::repeat_interleave_self_int`] without the size hint.
    #[track_caller]
    pub fn repeat_interleave(&self, repeats: i64, dim: impl Into<Option<i64>>) -> Tensor {
        record(RepeatInterleave { repeats, dim: dim.into().map(|d| self.norm_dim(d)) }, &[self])
    }
}
