//! repeat: tile a tensor (`torch.Tensor.repeat`; extra repeat counts add leading dimensions).
//!
//! ONNX: Tile with the repeats as a constant; a Reshape first adds the leading dimensions.

use super::{SymDims, SymInt, IntList, Dims, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Emit, LowerError, Outputs};

#[derive(Debug, Clone, PartialEq)]
pub struct Repeat {
    pub repeats: Dims,
}

impl OpDef for Repeat {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        let x = inputs.first()?;
        let lead = self.repeats.len().checked_sub(x.len())?;
        let out = self
            .repeats
            .iter()
            .enumerate()
            .map(|(i, &r)| if i < lead { SymInt::from(r) } else { x[i - lead] * r })
            .collect();
        Some(vec![out])
    }
    fn name(&self) -> &'static str {
        "repeat"
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        t[0].f_repeat(self.repeats.as_slice())
    }
    fn describe(&self) -> String {
        format!("repeats={:?}", self.repeats)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let mut x = cx.input(0);
        let shape = cx.input_dims(0);
        if self.repeats.len() > shape.len() {
            let mut padded = vec![SymInt::from(1); self.repeats.len() - shape.len()];
            padded.extend_from_slice(&shape);
            x = emit::reshape_dims(cx, x, &padded);
        }
        let r = cx.const_i64s(&self.repeats);
        emit::one(cx.node("Tile", &[x, r], vec![]))
    }
}

pub(super) const DOCS: &[OpDoc] = &[OpDoc { name: "repeat", methods: "`repeat`" }];

impl Tensor {
    /// Repeats the tensor `repeats[i]` times along dimension `i`.
    #[track_caller]
    pub fn repeat(&self, repeats: impl IntList) -> Tensor {
        record(Repeat { repeats: repeats.to_dims() }, &[self])
    }
}
