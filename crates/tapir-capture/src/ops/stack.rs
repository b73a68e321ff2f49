//! stack: join tensors along a new dimension.
//!
//! ONNX: Unsqueeze each input at `dim`, then Concat along it.

use super::OpDoc;
use crate::replay::replay1;
use crate::session::record1;
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, Emit, LowerError, Op, Outputs, SourceLocation};

#[derive(Debug, Clone, PartialEq)]
pub struct Stack {
    /// Position of the new dimension in the output (non-negative).
    pub dim: i64,
}

impl Op for Stack {
    replay1!(self, t, out => tch::Tensor::f_stack(t, self.dim));
    tapir_graph::op_name!("stack");
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

pub const DOC: OpDoc = OpDoc { name: "stack", methods: "`Tensor::stack`", onnx: "Unsqueeze, Concat" };

impl Tensor {
    /// Stacks `tensors` (all of one shape) along a new dimension `dim`.
    #[track_caller]
    pub fn stack(tensors: &[&Tensor], dim: i64) -> Tensor {
        let op = || {
            let rank = tensors.first().map_or(0, |t| t.dim()) as i64;
            Stack { dim: if dim < 0 { dim + rank + 1 } else { dim } }
        };
        record1(op, tensors, SourceLocation::caller(), |t| tch::Tensor::f_stack(t, dim))
    }
}
