//! squeeze: drop size-1 dimensions (one, or all).
//!
//! ONNX: Squeeze with axes as an input (opset 13+). A dimension that is not of size 1 is left
//! alone, as torch does; squeezing nothing records an identity.

use super::OpDoc;
use crate::replay::replay1;
use crate::session::record1;
use crate::tensor::Tensor;
use tapir_graph::{emit, Emit, LowerError, Op, Outputs, SourceLocation};

#[derive(Debug, Clone, PartialEq)]
pub struct Squeeze {
    /// Axes actually removed (all of size 1).
    pub axes: Vec<i64>,
}

impl Op for Squeeze {
    replay1!(self, t, out => t[0].f_reshape(out[0].shape.as_slice()));
    tapir_graph::op_name!("squeeze");
    fn describe(&self) -> String {
        format!("axes={:?}", self.axes)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let x = cx.input(0);
        if self.axes.is_empty() {
            return emit::one(x);
        }
        let axes = cx.const_i64s(&self.axes);
        emit::one(cx.node("Squeeze", &[x, axes], vec![]))
    }
}

pub const DOC: OpDoc = OpDoc { name: "squeeze", methods: "`squeeze`, `squeeze_dim`, `squeeze_dims`", onnx: "Squeeze" };

impl Tensor {
    /// Removes every dimension of size 1.
    #[track_caller]
    pub fn squeeze(&self) -> Tensor {
        let op = || {
            let size = self.size();
            Squeeze { axes: (0..size.len() as i64).filter(|d| size[*d as usize] == 1).collect() }
        };
        record1(op, &[self], SourceLocation::caller(), |t| t[0].f_squeeze())
    }

    /// Removes dimension `dim` if it has size 1.
    #[track_caller]
    pub fn squeeze_dim(&self, dim: i64) -> Tensor {
        let op = || {
            let d = self.norm_dim(dim);
            Squeeze { axes: if self.size().get(d as usize) == Some(&1) { vec![d] } else { vec![] } }
        };
        record1(op, &[self], SourceLocation::caller(), |t| t[0].f_squeeze_dim(dim))
    }

    /// Removes each of the dimensions `dims` that has size 1 (tch's `squeeze_dims`).
    #[track_caller]
    pub fn squeeze_dims(&self, dims: &[i64]) -> Tensor {
        let op = || {
            let size = self.size();
            let mut axes: Vec<i64> =
                dims.iter().map(|d| self.norm_dim(*d)).filter(|d| size.get(*d as usize) == Some(&1)).collect();
            axes.sort_unstable();
            axes.dedup();
            Squeeze { axes }
        };
        record1(op, &[self], SourceLocation::caller(), |t| t[0].f_squeeze_dims(dims))
    }
}
