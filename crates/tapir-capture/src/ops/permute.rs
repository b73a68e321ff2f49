//! permute and transpose: reorder dimensions.
//!
//! ONNX: Transpose with `perm` (https://onnx.ai/onnx/operators/onnx__Transpose.html).

use super::OpDoc;
use crate::replay::replay1;
use crate::session::record1;
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, Emit, LowerError, Op, Outputs, SourceLocation};

#[derive(Debug, Clone, PartialEq)]
pub struct Permute {
    pub perm: Vec<i64>,
}

impl Op for Permute {
    replay1!(self, t, out => t[0].f_permute(self.perm.as_slice()));
    tapir_graph::op_name!("permute");
    fn describe(&self) -> String {
        format!("perm={:?}", self.perm)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let x = cx.input(0);
        emit::one(cx.node("Transpose", &[x], vec![("perm", Attr::Ints(self.perm.clone()))]))
    }
}

pub const DOC: OpDoc = OpDoc { name: "permute", methods: "`permute`, `transpose`", onnx: "Transpose" };

impl Tensor {
    /// Reorders dimensions: output dimension `i` is input dimension `dims[i]`.
    #[track_caller]
    pub fn permute(&self, dims: &[i64]) -> Tensor {
        let op = || Permute { perm: dims.iter().map(|d| self.norm_dim(*d)).collect() };
        record1(op, &[self], SourceLocation::caller(), |t| t[0].f_permute(dims))
    }

    /// Swaps two dimensions.
    #[track_caller]
    pub fn transpose(&self, dim0: i64, dim1: i64) -> Tensor {
        let op = || {
            let (a, b) = (self.norm_dim(dim0) as usize, self.norm_dim(dim1) as usize);
            let mut perm: Vec<i64> = (0..self.dim() as i64).collect();
            if a < perm.len() && b < perm.len() {
                perm.swap(a, b);
            }
            Permute { perm }
        };
        record1(op, &[self], SourceLocation::caller(), |t| t[0].f_transpose(dim0, dim1))
    }
}
