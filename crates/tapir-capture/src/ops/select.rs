//! select: one index along a dimension, which disappears.
//!
//! ONNX: Gather with a 0-D index constant (drops the axis; negative indices allowed since 11).

use super::{SymDims, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, DType, Emit, LowerError, Outputs};

#[derive(Debug, Clone, PartialEq)]
pub struct Select {
    pub dim: i64,
    pub index: i64,
}

impl OpDef for Select {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        let mut x = inputs.first()?.clone();
        let d = super::shape::axis(self.dim, x.len())?;
        x.remove(d);
        Some(vec![x])
    }
    fn name(&self) -> &'static str {
        "select"
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        t[0].f_select(self.dim, self.index)
    }
    fn describe(&self) -> String {
        format!("dim={}, index={}", self.dim, self.index)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let x = cx.input(0);
        let i = cx.const_scalar_i64(DType::I64, self.index);
        emit::one(cx.node("Gather", &[x, i], vec![("axis", Attr::Int(self.dim))]))
    }
}

pub(super) const DOCS: &[OpDoc] = &[OpDoc { name: "select", methods: "`select`" }];

impl Tensor {
    /// The slice at `index` along `dim`, without that dimension.
    #[track_caller]
    pub fn select(&self, dim: i64, index: i64) -> Tensor {
        record(Select { dim: self.norm_dim(dim), index }, &[self])
    }
}
