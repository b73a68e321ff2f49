//! Reshape, view, flatten: a new shape for the same elements in row-major order.
//!
//! ONNX: Reshape to the output shape (opset 13; no `allowzero`), so `-1` in the request is
//! already resolved: a constant, or computed from the inputs' shapes where a size is dynamic.

use super::{SymDims, SymInt, IntList, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Emit, LowerError, Outputs};

#[derive(Debug, Clone, PartialEq)]
pub struct Reshape {
    /// The requested shape (one entry may be `-1`); sizes that depend on a dynamic dimension
    /// are computed in the exported graph.
    pub shape: SymDims,
}

impl OpDef for Reshape {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        let numel = super::shape::numel(inputs.first()?);
        Some(vec![super::shape::infer_size(&self.shape, numel)])
    }
    fn name(&self) -> &'static str {
        "reshape"
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        t[0].f_reshape(tapir_graph::sym::values(&self.shape).as_slice())
    }
    fn describe(&self) -> String {
        format!("shape={:?}", self.shape)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let x = cx.input(0);
        emit::one(emit::reshape_to_output(cx, x, 0))
    }
}

pub(super) const DOCS: &[OpDoc] =
    &[OpDoc { name: "reshape", methods: "`reshape`, `view`, `flatten`, `unflatten`" }];

impl Tensor {
    /// A tensor with the same data and shape `shape` (one entry may be `-1`).
    #[track_caller]
    pub fn reshape(&self, shape: impl IntList) -> Tensor {
        record(Reshape { shape: shape.to_sym_dims() }, &[self])
    }

    /// Same as [`Tensor::reshape`] (tapir does not distinguish views).
    #[track_caller]
    pub fn view(&self, shape: impl IntList) -> Tensor {
        self.reshape(shape)
    }

    /// Splits dimension `dim` into `sizes` (one entry may be `-1`), torch's `unflatten`.
    #[track_caller]
    pub fn unflatten(&self, dim: i64, sizes: impl IntList) -> Tensor {
        let size = self.sym_size();
        let d = self.norm_dim(dim);
        if d < 0 || d as usize >= size.len() {
            return super::bad_argument("reshape", format!("unflatten({dim}) of a {}-d tensor: dimension out of range", size.len()));
        }
        let mut shape: SymDims = size[..d as usize].iter().copied().collect();
        shape.extend(sizes.to_sym_dims());
        shape.extend_from_slice(&size[d as usize + 1..]);
        self.reshape(shape)
    }

    /// `[N, ...]` as `[N, rest]` (tch's `flat_view`).
    #[track_caller]
    pub fn flat_view(&self) -> Tensor {
        let n = self.sym_size().first().copied().unwrap_or(SymInt::from(1));
        self.view((n, -1))
    }

    /// Flattens dimensions `start_dim..=end_dim` into one.
    #[track_caller]
    pub fn flatten(&self, start_dim: i64, end_dim: i64) -> Tensor {
        let size = self.sym_size();
        let rank = size.len() as i64;
        let (s, e) = (self.norm_dim(start_dim), self.norm_dim(end_dim));
        // A 0-d tensor flattens to one element, as in torch.
        if rank == 0 && matches!(start_dim, 0 | -1) && matches!(end_dim, 0 | -1) {
            return self.reshape([1]);
        }
        if s < 0 || e >= rank || s > e {
            let message = format!("flatten({start_dim}, {end_dim}) of a {rank}-d tensor: dimensions out of range");
            return super::bad_argument("reshape", message);
        }
        let (s, e) = (s as usize, e as usize);
        let mut shape: SymDims = size[..s].iter().copied().collect();
        shape.push(super::shape::numel(&size[s..=e]));
        shape.extend_from_slice(&size[e + 1..]);
        self.reshape(shape)
    }
}
