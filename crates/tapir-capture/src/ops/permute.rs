//! permute and transpose: reorder dimensions.
//!
//! ONNX: Transpose with `perm` (https://onnx.ai/onnx/operators/onnx__Transpose.html).

use super::{SymDims, IntList, Dims, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, Emit, LowerError, Outputs};

#[derive(Debug, Clone, PartialEq)]
pub struct Permute {
    pub perm: Dims,
}

impl OpDef for Permute {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        let x = inputs.first()?;
        let perm = self.perm.iter().map(|&p| super::shape::axis(p, x.len()).map(|p| x[p])).collect::<Option<SymDims>>()?;
        Some(vec![perm])
    }
    fn name(&self) -> &'static str {
        "permute"
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        t[0].f_permute(self.perm.as_slice())
    }
    fn describe(&self) -> String {
        format!("perm={:?}", self.perm)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let x = cx.input(0);
        emit::one(cx.node("Transpose", &[x], vec![("perm", Attr::Ints(self.perm.to_vec()))]))
    }
}

pub(super) const DOCS: &[OpDoc] = &[OpDoc { name: "permute", methods: "`permute`, `transpose`, `tr`, `t`" }];

impl Tensor {
    /// Reorders dimensions: output dimension `i` is input dimension `dims[i]`.
    #[track_caller]
    pub fn permute(&self, dims: impl IntList) -> Tensor {
        record(Permute { perm: dims.to_dims().iter().map(|d| self.norm_dim(*d)).collect() }, &[self])
    }

    /// Swaps two dimensions.
    #[track_caller]
    pub fn transpose(&self, dim0: i64, dim1: i64) -> Tensor {
        let rank = self.dim() as i64;
        let (a, b) = (self.norm_dim(dim0), self.norm_dim(dim1));
        let mut perm: Dims = (0..rank).collect();
        match (usize::try_from(a), usize::try_from(b)) {
            (Ok(a), Ok(b)) if a < perm.len() && b < perm.len() => perm.swap(a, b),
            // A 0-d tensor transposes with dims 0 / -1 to itself, as in torch.
            _ if rank == 0 && matches!(dim0, 0 | -1) && matches!(dim1, 0 | -1) => {}
            _ => return super::bad_argument("permute", format!("transpose({dim0}, {dim1}) of a {rank}-d tensor: dimension out of range")),
        }
        record(Permute { perm }, &[self])
    }

    /// The transpose of a matrix (tch's `tr`, torch's `t`): dims 0 and 1 swapped; a 0-d or 1-D
    /// tensor as it is; more dimensions are torch's error.
    #[track_caller]
    pub fn tr(&self) -> Tensor {
        match self.dim() {
            0 | 1 => self.shallow_clone(),
            2 => self.transpose(0, 1),
            n => super::bad_argument("permute", format!("tr() takes a tensor of at most 2 dimensions, got {n}")),
        }
    }

    /// Same as [`Tensor::tr`] (torch's name).
    #[track_caller]
    pub fn t(&self) -> Tensor {
        self.tr()
    }
}
