//! outer: the outer product of two vectors, `out[i][j] = a[i] * b[j]`.
//!
//! ONNX: Unsqueeze both to a column and a row, then Mul (inputs cast to the promoted dtype).

use super::{SymDims, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, DType, Emit, LowerError, Outputs};

/// Inputs: `[a, b]`, both 1-D.
#[derive(Debug, Clone, PartialEq)]
pub struct Outer;

impl OpDef for Outer {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::promoted(inputs, None)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        Some(vec![smallvec::smallvec![*inputs.first()?.first()?, *inputs.get(1)?.first()?]])
    }
    fn name(&self) -> &'static str {
        "outer"
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        t[0].f_outer(t[1])
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let out = cx.output_meta(0).dtype;
        let a = emit::input_as(cx, 0, out);
        let b = emit::input_as(cx, 1, out);
        let a = emit::unsqueeze(cx, a, &[1]);
        let b = emit::unsqueeze(cx, b, &[0]);
        let op_type = if out == DType::Bool { "And" } else { "Mul" };
        emit::one(cx.node(op_type, &[a, b], vec![]))
    }
}

pub(super) const DOCS: &[OpDoc] = &[OpDoc { name: "outer", methods: "`outer`, `ger`" }];

impl Tensor {
    /// The outer product with `other` (both 1-D).
    #[track_caller]
    pub fn outer(&self, other: &Tensor) -> Tensor {
        record(Outer, &[self, other])
    }

    /// Same as [`Tensor::outer`] (torch's older name).
    #[track_caller]
    pub fn ger(&self, other: &Tensor) -> Tensor {
        record(Outer, &[self, other])
    }
}
