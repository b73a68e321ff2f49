//! repeat: tile a tensor (`torch.Tensor.repeat`; extra repeat counts add leading dimensions).
//!
//! ONNX: Tile with the repeats as a constant; a Reshape first adds the leading dimensions.

use super::OpDoc;
use crate::replay::replay1;
use crate::session::record1;
use crate::tensor::Tensor;
use tapir_graph::{emit, Emit, LowerError, Op, Outputs, SourceLocation};

#[derive(Debug, Clone, PartialEq)]
pub struct Repeat {
    pub repeats: Vec<i64>,
}

impl Op for Repeat {
    replay1!(self, t, out => t[0].f_repeat(self.repeats.as_slice()));
    tapir_graph::op_name!("repeat");
    fn describe(&self) -> String {
        format!("repeats={:?}", self.repeats)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let mut x = cx.input(0);
        let shape = cx.input_meta(0).shape.clone();
        if self.repeats.len() > shape.len() {
            let mut padded = vec![1; self.repeats.len() - shape.len()];
            padded.extend_from_slice(&shape);
            x = emit::reshape(cx, x, &padded);
        }
        let r = cx.const_i64s(&self.repeats);
        emit::one(cx.node("Tile", &[x, r], vec![]))
    }
}

pub const DOC: OpDoc = OpDoc { name: "repeat", methods: "`repeat`", onnx: "Tile (Reshape first for new dims)" };

impl Tensor {
    /// Repeats the tensor `repeats[i]` times along dimension `i`.
    #[track_caller]
    pub fn repeat(&self, repeats: &[i64]) -> Tensor {
        let op = || Repeat { repeats: repeats.to_vec() };
        record1(op, &[self], SourceLocation::caller(), |t| t[0].f_repeat(repeats))
    }
}
