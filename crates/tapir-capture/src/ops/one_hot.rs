//! one_hot: integer class ids to int64 one-hot vectors of length `num_classes`.
//!
//! ONNX: OneHot (https://onnx.ai/onnx/operators/onnx__OneHot.html) with depth `num_classes` and
//! values `[0, 1]` as int64. torch's `num_classes = -1` (the largest id + 1) reads the data: the
//! method reads it, and records a guard.

use super::{SymDims, SymInt, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, DType, Emit, LowerError, Outputs};

/// Inputs: `[ids]` (int64).
#[derive(Debug, Clone, PartialEq)]
pub struct OneHot {
    pub num_classes: i64,
}

impl OpDef for OneHot {
    type Output = tch::Tensor;
    fn dtypes(&self, _: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::one(tapir_graph::DType::I64)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        let mut out = inputs.first()?.clone();
        out.push(SymInt::from(self.num_classes));
        Some(vec![out])
    }
    fn name(&self) -> &'static str {
        "one_hot"
    }
    fn describe(&self) -> String {
        format!("num_classes={}", self.num_classes)
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        t[0].f_one_hot(self.num_classes)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let ids = emit::input_as(cx, 0, DType::I64);
        // OneHot takes indices of rank 1 or more: a 0-d id runs as [1], then loses that axis.
        let scalar = cx.input_meta(0).rank() == 0;
        let ids = if scalar { emit::reshape(cx, ids, &[1]) } else { ids };
        let depth = cx.const_i64s(&[self.num_classes]);
        let values = cx.const_i64s(&[0, 1]);
        let y = cx.node("OneHot", &[ids, depth, values], vec![("axis", Attr::Int(-1))]);
        emit::one(if scalar { emit::reshape(cx, y, &[self.num_classes]) } else { y })
    }
}

pub(super) const DOCS: &[OpDoc] = &[OpDoc { name: "one_hot", methods: "`one_hot`" }];

impl Tensor {
    /// One-hot int64 vectors of length `num_classes` (`-1`: the largest id + 1, read from the
    /// data, a guard when traced).
    #[track_caller]
    pub fn one_hot(&self, num_classes: i64) -> Tensor {
        let n = if num_classes < 0 {
            match self.amax(Vec::<i64>::new(), false).int64_value(&[]) {
                Ok(m) => m + 1,
                Err(e) => return Tensor::from_error(e),
            }
        } else {
            num_classes
        };
        record(OneHot { num_classes: n }, &[self])
    }
}
