//! unsqueeze: insert a size-1 dimension.
//!
//! ONNX: Unsqueeze with axes as an input (opset 13+).

use super::{SymDims, SymInt, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Emit, LowerError, Outputs};

#[derive(Debug, Clone, PartialEq)]
pub struct Unsqueeze {
    /// Position of the new dimension in the output (non-negative).
    pub dim: i64,
}

impl OpDef for Unsqueeze {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        let mut x = inputs.first()?.clone();
        let d = super::shape::axis(self.dim, x.len() + 1)?;
        x.insert(d, SymInt::from(1));
        Some(vec![x])
    }
    fn name(&self) -> &'static str {
        "unsqueeze"
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        t[0].f_unsqueeze(self.dim)
    }
    fn describe(&self) -> String {
        format!("dim={}", self.dim)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let x = cx.input(0);
        emit::one(emit::unsqueeze(cx, x, &[self.dim]))
    }
}

pub(super) const DOCS: &[OpDoc] = &[OpDoc { name: "unsqueeze", methods: "`unsqueeze`" }];

impl Tensor {
    /// Inserts a dimension of size 1 at `dim` (negative counts from the end of the result).
    #[track_caller]
    pub fn unsqueeze(&self, dim: i64) -> Tensor {
        record(Unsqueeze { dim: if dim < 0 { dim + self.dim() as i64 + 1 } else { dim } }, &[self])
    }
}
