//! arange with an end that depends on a dynamic dimension (`arange(t)` position ids): the
//! range is computed in the graph. With a static end `Tensor::arange` records a constant
//! instead (see `factory`).
//!
//! ONNX: Range (opset 11) from 0 to the end, computed from the inputs' shapes, cast to the
//! output dtype.

use super::{OpDef, OpDoc, SymDims, SymInt};
use tapir_graph::{emit, DType, Emit, LowerError, Outputs};

/// No inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct Arange {
    pub end: SymInt,
    pub kind: tch::Kind,
    pub device: tch::Device,
}

impl OpDef for Arange {
    type Output = tch::Tensor;
    fn dtypes(&self, _: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::one(super::dtype::of_kind(self.kind)?)
    }
    fn shape(&self, _: &[SymDims]) -> Option<Vec<SymDims>> {
        Some(vec![smallvec::smallvec![self.end]])
    }
    fn name(&self) -> &'static str {
        "arange"
    }
    fn describe(&self) -> String {
        format!("end={:?}", self.end)
    }
    fn eager(&self, _: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        tch::Tensor::f_arange(self.end.get(), (self.kind, self.device))
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let dtype = cx.output_meta(0).dtype;
        let end = cx.dims_tensor(&[self.end]);
        let end = emit::squeeze(cx, end, &[0]);
        let (start, step) = (cx.const_scalar_i64(DType::I64, 0), cx.const_scalar_i64(DType::I64, 1));
        let range = cx.node("Range", &[start, end, step], vec![]);
        emit::one(emit::cast(cx, range, DType::I64, dtype))
    }
}

pub(super) const DOCS: &[OpDoc] = &[OpDoc { name: "arange", methods: "`Tensor::arange` with a dynamic end" }];
