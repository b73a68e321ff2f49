//! stack: join tensors along a new dimension.
//!
//! ONNX: Unsqueeze each input at `dim`, then Concat along it.

use super::{SymDims, SymInt, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, Emit, LowerError, Outputs};

#[derive(Debug, Clone, PartialEq)]
pub struct Stack {
    /// Position of the new dimension in the output (non-negative).
    pub dim: i64,
}

impl OpDef for Stack {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::promoted(inputs, None)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        let mut out = inputs.first()?.clone();
        let d = super::shape::axis(self.dim, out.len() + 1)?;
        out.insert(d, SymInt::from(inputs.len()));
        Some(vec![out])
    }
    fn name(&self) -> &'static str {
        "stack"
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        tch::Tensor::f_stack(t, self.dim)
    }
    fn describe(&self) -> String {
        format!("dim={}", self.dim)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let out = cx.output_meta(0).dtype;
        let mut ins = Vec::with_capacity(cx.num_inputs());
        for i in 0..cx.num_inputs() {
            let x = emit::input_as(cx, i, out);
            ins.push(emit::unsqueeze(cx, x, &[self.dim]));
        }
        emit::one(cx.node("Concat", &ins, vec![("axis", Attr::Int(self.dim))]))
    }
}

pub(super) const DOCS: &[OpDoc] = &[OpDoc { name: "stack", methods: "`Tensor::stack`" }];

impl Tensor {
    /// Stacks `tensors` (all of one shape) along a new dimension `dim`.
    #[track_caller]
    pub fn stack<T: std::borrow::Borrow<Tensor>>(tensors: &[T], dim: i64) -> Tensor {
        let tensors: smallvec::SmallVec<[&Tensor; 4]> = tensors.iter().map(|t| t.borrow()).collect();
        let rank = tensors.first().map_or(0, |t| t.dim()) as i64;
        record(Stack { dim: if dim < 0 { dim + rank + 1 } else { dim } }, &tensors)
    }
}
