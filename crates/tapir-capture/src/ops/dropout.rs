//! dropout. In inference (`train = false`) it is the identity and records nothing; in training
//! it is random, so it is refused inside a trace (eager use outside a trace is fine).

use super::OpDoc;
use crate::replay::replay1;
use crate::session::{record1, refuse_in_trace};
use crate::tensor::Tensor;
use tapir_graph::{emit, Emit, LowerError, Op, Outputs, SourceLocation};

/// Never recorded (inference dropout records no node); kept so the catalog lists dropout.
#[derive(Debug, Clone, PartialEq)]
pub struct Dropout;

impl Op for Dropout {
    replay1!(self, t, out => Ok(t[0].shallow_clone()));
    tapir_graph::op_name!("dropout");
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        emit::one(cx.input(0))
    }
}

pub const DOC: OpDoc = OpDoc { name: "dropout", methods: "`dropout` (inference)", onnx: "(none: identity)" };

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
        record1(|| Dropout, &[self], location, |t| t[0].f_dropout(p, true))
    }
}
