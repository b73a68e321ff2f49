//! glu: gated linear unit, `a * sigmoid(b)` where `a`, `b` are the two halves along `dim`.
//!
//! ONNX: Split in two along the axis, Sigmoid, Mul.

use super::{SymDims, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, Emit, LowerError, Outputs};

/// Inputs: `[x]`, even along `dim`.
#[derive(Debug, Clone, PartialEq)]
pub struct Glu {
    /// A non-negative dimension.
    pub dim: i64,
}

impl OpDef for Glu {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        let mut out = inputs.first()?.clone();
        let d = super::shape::axis(self.dim, out.len())?;
        out[d] = out[d] / 2;
        Some(vec![out])
    }
    fn name(&self) -> &'static str {
        "glu"
    }
    fn describe(&self) -> String {
        format!("dim={}", self.dim)
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        t[0].f_glu(self.dim)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let x = cx.input(0);
        let half = cx.output_meta(0).shape[self.dim as usize];
        let sizes = cx.const_i64s(&[half, half]);
        let parts = cx.node_n("Split", &[x, sizes], vec![("axis", Attr::Int(self.dim))], 2);
        let gate = cx.node("Sigmoid", &[parts[1]], vec![]);
        emit::one(cx.node("Mul", &[parts[0], gate], vec![]))
    }
}

pub(super) const DOCS: &[OpDoc] = &[OpDoc { name: "glu", methods: "`glu`" }];

impl Tensor {
    /// The first half along `dim` times the sigmoid of the second.
    #[track_caller]
    pub fn glu(&self, dim: i64) -> Tensor {
        record(Glu { dim: self.norm_dim(dim) }, &[self])
    }
}
