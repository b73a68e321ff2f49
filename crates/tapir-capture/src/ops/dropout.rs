//! dropout. In inference (`train = false`) it is the identity and records nothing; in training
//! it is random, so it is refused inside a trace (eager use outside a trace is fine).

use super::{SymDims, OpDef, OpDoc};
use crate::define::record;
use crate::session::refuse_in_trace;
use crate::tensor::Tensor;
use tapir_graph::{emit, Emit, LowerError, Outputs, SourceLocation};

/// Training-mode dropout, run eagerly outside traces only (inference dropout records no node,
/// and training dropout is refused inside a trace).
#[derive(Debug, Clone, PartialEq)]
pub struct Dropout {
    pub p: f64,
}

impl OpDef for Dropout {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        super::shape::same(inputs)
    }
    fn name(&self) -> &'static str {
        "dropout"
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        t[0].f_dropout(self.p, true)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        emit::one(cx.input(0))
    }
}

pub(super) const DOCS: &[OpDoc] = &[OpDoc { name: "dropout", methods: "`dropout` (inference: no node)" }];

impl Tensor {
    /// Dropout with probability `p`; the identity when `train` is false.
    #[track_caller]
    pub fn dropout(&self, p: f64, train: bool) -> Tensor {
        if !train {
            return self.shallow_clone();
        }
        let location = SourceLocation::caller();
        let reason = "dropout in training mode is random; trace with train = false (eval mode)";
        if let Some(refused) = refuse_in_trace("dropout", location, reason) {
            return refused;
        }
        record(Dropout { p }, &[self])
    }
}
