//! full (zeros, ones) with a size that depends on a dynamic dimension: a tensor of one value
//! whose shape is computed in the graph. With static sizes these methods record a constant
//! instead (see `factory`).
//!
//! ONNX: Expand of the value (a constant of the output dtype, exact for int64) to the shape.

use super::{lowering, OpDef, OpDoc, SymDims};
use crate::tensor::Scalar;
use tapir_graph::{emit, Emit, LowerError, Outputs};

/// No inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct Full {
    pub size: SymDims,
    pub value: Scalar,
    pub kind: tch::Kind,
    pub device: tch::Device,
}

impl OpDef for Full {
    type Output = tch::Tensor;
    fn dtypes(&self, _: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::one(super::dtype::of_kind(self.kind)?)
    }
    fn shape(&self, _: &[SymDims]) -> Option<Vec<SymDims>> {
        Some(vec![self.size.clone()])
    }
    fn name(&self) -> &'static str {
        "full"
    }
    fn describe(&self) -> String {
        format!("size={:?}, value={}", self.size, self.value)
    }
    fn eager(&self, _: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        let size = tapir_graph::sym::values(&self.size);
        tch::Tensor::f_full(size.as_slice(), self.value.to_tch_scalar(), (self.kind, self.device))
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let dtype = cx.output_meta(0).dtype;
        let value = lowering::scalar(cx, dtype, self.value);
        let shape = cx.dims_tensor(&self.size);
        emit::one(cx.node("Expand", &[value, shape], vec![]))
    }
}

pub(super) const DOCS: &[OpDoc] =
    &[OpDoc { name: "full", methods: "`Tensor::zeros`, `ones`, `full` with a dynamic size" }];
