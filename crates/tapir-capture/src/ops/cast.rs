//! to_kind: convert the element type.
//!
//! ONNX: Cast with `to` (https://onnx.ai/onnx/operators/onnx__Cast.html). A cast to the same kind
//! records nothing.

use super::OpDoc;
use crate::kind::dtype_of;
use crate::replay::replay1;
use crate::session::record1;
use crate::tensor::Tensor;
use tapir_graph::{emit, Emit, LowerError, Op, Outputs, SourceLocation};

#[derive(Debug, Clone, PartialEq)]
pub struct Cast;

impl Op for Cast {
    replay1!(self, t, out => t[0].f_to_kind(crate::kind::kind_of(out[0].dtype)));
    tapir_graph::op_name!("to_kind");
    fn describe(&self) -> String {
        String::new()
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let to = cx.output_meta(0).dtype;
        emit::one(emit::input_as(cx, 0, to))
    }
}

pub const DOC: OpDoc = OpDoc { name: "to_kind", methods: "`to_kind`, `contiguous` (no node)", onnx: "Cast" };

impl Tensor {
    /// The same values as `kind`.
    #[track_caller]
    pub fn to_kind(&self, kind: tch::Kind) -> Tensor {
        if self.error().is_none() && self.kind() == kind && dtype_of(kind).is_some() {
            return self.shallow_clone();
        }
        record1(|| Cast, &[self], SourceLocation::caller(), |t| t[0].f_to_kind(kind))
    }

    /// A contiguous tensor with the same values; records nothing (ONNX has no layouts).
    pub fn contiguous(&self) -> Tensor {
        match self.inner.f_contiguous() {
            Ok(t) if self.error().is_none() => Tensor::from_state(t, self.state.clone()),
            _ => self.shallow_clone(),
        }
    }
}
