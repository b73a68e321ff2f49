//! to_kind: convert the element type.
//!
//! ONNX: Cast with `to` (https://onnx.ai/onnx/operators/onnx__Cast.html). A cast to the same kind
//! records nothing.

use super::{SymDims, OpDef, OpDoc};
use crate::define::record;
use crate::kind::dtype_of;
use crate::tensor::Tensor;
use tapir_graph::{emit, Emit, LowerError, Outputs};

#[derive(Debug, Clone, PartialEq)]
pub struct Cast {
    pub kind: tch::Kind,
}

impl OpDef for Cast {
    type Output = tch::Tensor;
    fn dtypes(&self, _: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::one(super::dtype::of_kind(self.kind)?)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        super::shape::same(inputs)
    }
    fn name(&self) -> &'static str {
        "to_kind"
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        t[0].f_to_kind(self.kind)
    }
    fn describe(&self) -> String {
        format!("kind={:?}", self.kind)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let to = cx.output_meta(0).dtype;
        emit::one(emit::input_as(cx, 0, to))
    }
}

pub(super) const DOCS: &[OpDoc] =
    &[OpDoc { name: "to_kind", methods: "`to_kind`; `contiguous`, `to_device` (no node)" }];

impl Tensor {
    /// The same values as `kind`.
    #[track_caller]
    pub fn to_kind(&self, kind: tch::Kind) -> Tensor {
        if self.error().is_none() && self.kind() == kind && dtype_of(kind).is_some() {
            return self.shallow_clone();
        }
        record(Cast { kind }, &[self])
    }

    /// The same values on `device` (tch's `to_device`); records nothing (ONNX has no devices):
    /// a traced value stays the same value of the graph.
    #[track_caller]
    pub fn to_device(&self, device: tch::Device) -> Tensor {
        if self.error().is_some() || self.device() == device {
            return self.shallow_clone();
        }
        match self.inner.f_to_device(device) {
            Ok(t) => Tensor::from_state(t, self.state.clone()),
            Err(e) => super::bad_argument("to_device", crate::session::torch_message(&e)),
        }
    }

    /// A contiguous tensor with the same values; records nothing (ONNX has no layouts).
    pub fn contiguous(&self) -> Tensor {
        match self.inner.f_contiguous() {
            Ok(t) if self.error().is_none() => Tensor::from_state(t, self.state.clone()),
            _ => self.shallow_clone(),
        }
    }
}
