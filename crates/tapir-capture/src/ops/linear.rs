//! `linear`: `x @ W^T + b`, for inputs of any rank >= 1.
//!
//! ONNX: Gemm with `transB=1` for 2-D inputs (https://onnx.ai/onnx/operators/onnx__Gemm.html);
//! `MatMul(x, Transpose(W))` then `Add(b)` for other ranks.

use super::{SymDims, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, Emit, LowerError, Outputs};

/// Inputs: `[x, weight]` or `[x, weight, bias]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Linear;

impl OpDef for Linear {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        let (x, w) = (inputs.first()?, inputs.get(1)?);
        let mut out = x.clone();
        let last = out.last_mut()?;
        last.same_as(*w.last()?, "in features");
        *last = *w.first()?;
        if let Some(b) = inputs.get(2) {
            let shapes = [out.as_slice(), b.as_slice()];
            return Some(vec![super::shape::broadcast_dims(&shapes)]);
        }
        Some(vec![out])
    }
    fn name(&self) -> &'static str {
        "linear"
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        t[0].f_linear(t[1], t.get(2).copied())
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let ins: Vec<_> = (0..cx.num_inputs()).map(|i| cx.input(i)).collect();
        // ONNX Runtime implements Gemm for floats only; integers take the MatMul form.
        if cx.input_meta(0).rank() == 2 && cx.output_meta(0).dtype.is_float() {
            return emit::one(cx.node("Gemm", &ins, vec![("transB", Attr::Int(1))]));
        }
        let wt = cx.node("Transpose", &[ins[1]], vec![("perm", Attr::Ints(vec![1, 0]))]);
        let y = cx.node("MatMul", &[ins[0], wt], vec![]);
        match ins.get(2) {
            Some(b) => emit::one(cx.node("Add", &[y, *b], vec![])),
            None => emit::one(y),
        }
    }
}

pub(super) const DOCS: &[OpDoc] = &[OpDoc { name: "linear", methods: "`linear`" }];

impl Tensor {
    /// `self @ weight^T + bias`, with `weight` of shape `[out, in]`, as `torch.nn.functional.linear`.
    #[track_caller]
    pub fn linear<T: std::borrow::Borrow<Tensor>>(&self, weight: &Tensor, bias: Option<T>) -> Tensor {
        match &bias {
            Some(b) => record(Linear, &[self, weight, b.borrow()]),
            None => record(Linear, &[self, weight]),
        }
    }
}
