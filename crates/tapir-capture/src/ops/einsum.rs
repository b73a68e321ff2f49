//! einsum: sums of products named by an equation (`"bij,bjk->bik"`).
//!
//! ONNX: Einsum (https://onnx.ai/onnx/operators/onnx__Einsum.html, opset 12+) with the same
//! equation; operands are cast to the output dtype first.

use super::{OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, Emit, LowerError, Outputs};

/// Inputs: the operands.
#[derive(Debug, Clone, PartialEq)]
pub struct Einsum {
    pub equation: String,
}

impl OpDef for Einsum {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::promoted(inputs, None)
    }
    fn name(&self) -> &'static str {
        "einsum"
    }
    fn describe(&self) -> String {
        format!("{:?}", self.equation)
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        tch::Tensor::f_einsum(&self.equation, t, None::<&[i64]>)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let out = cx.output_meta(0).dtype;
        let ins: Vec<_> = (0..cx.num_inputs()).map(|i| emit::input_as(cx, i, out)).collect();
        // ONNX's equations take no spaces.
        let equation: String = self.equation.chars().filter(|c| !c.is_whitespace()).collect();
        emit::one(cx.node("Einsum", &ins, vec![("equation", Attr::String(equation))]))
    }
}

pub(super) const DOCS: &[OpDoc] = &[OpDoc { name: "einsum", methods: "`Tensor::einsum`" }];

impl Tensor {
    /// Einstein summation over `tensors` by `equation` (tch's `einsum`; `path` is its
    /// contraction-order hint, without effect on the values).
    #[track_caller]
    pub fn einsum<T: std::borrow::Borrow<Tensor>>(equation: &str, tensors: &[T], path: Option<&[i64]>) -> Tensor {
        let _ = path;
        let tensors: smallvec::SmallVec<[&Tensor; 4]> = tensors.iter().map(|t| t.borrow()).collect();
        record(Einsum { equation: equation.to_owned() }, &tensors)
    }
}
