//! expand: broadcast size-1 dimensions (and new leading ones) to a larger shape.
//!
//! ONNX: Expand to the output shape (opset 13), computed where a size is dynamic.

use super::{SymDims, IntList, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Emit, LowerError, Outputs};

#[derive(Debug, Clone, PartialEq)]
pub struct Expand {
    /// The requested size (`-1` keeps a dimension).
    pub size: SymDims,
}

impl OpDef for Expand {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        let x = inputs.first()?;
        let lead = self.size.len().checked_sub(x.len())?;
        let out = self
            .size
            .iter()
            .enumerate()
            .map(|(i, &s)| if s.as_static() == Some(-1) { x[i - lead] } else { s })
            .collect::<SymDims>();
        let shapes = [x.as_slice(), out.as_slice()];
        super::shape::broadcast_dims(&shapes);
        Some(vec![out])
    }
    fn name(&self) -> &'static str {
        "expand"
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        t[0].f_expand(tapir_graph::sym::values(&self.size).as_slice(), false)
    }
    fn describe(&self) -> String {
        format!("size={:?}", self.size)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let shape = cx.output_dims(0);
        let x = cx.input(0);
        let s = cx.dims_tensor(&shape);
        emit::one(cx.node("Expand", &[x, s], vec![]))
    }
}

pub(super) const DOCS: &[OpDoc] = &[OpDoc { name: "expand", methods: "`expand`" }];

impl Tensor {
    /// Broadcasts to `size` (`-1` keeps a dimension); `implicit` is tch's flag, without effect
    /// on the values.
    #[track_caller]
    pub fn expand(&self, size: impl IntList, implicit: bool) -> Tensor {
        let _ = implicit;
        record(Expand { size: size.to_sym_dims() }, &[self])
    }
}
