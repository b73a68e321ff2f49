//! expand: broadcast size-1 dimensions (and new leading ones) to a larger shape.
//!
//! ONNX: Expand with the observed output shape as a constant (opset 13).

use super::{IntList, Dims, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Emit, LowerError, Outputs};

#[derive(Debug, Clone, PartialEq)]
pub struct Expand {
    /// The requested size (`-1` keeps a dimension).
    pub size: Dims,
}

impl OpDef for Expand {
    type Output = tch::Tensor;
    fn name(&self) -> &'static str {
        "expand"
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        t[0].f_expand(self.size.as_slice(), false)
    }
    fn describe(&self) -> String {
        format!("size={:?}", self.size)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let shape = cx.output_meta(0).shape.clone();
        let x = cx.input(0);
        let s = cx.const_i64s(&shape);
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
        record(Expand { size: size.to_dims() }, &[self])
    }
}
