//! gather: `out[i][j][k] = x[i][index[i][j][k]][k]` along `dim` (torch.gather).
//!
//! ONNX: GatherElements (https://onnx.ai/onnx/operators/onnx__GatherElements.html). torch lets
//! the index be smaller than the input in the other dimensions; the input is sliced to the
//! index's sizes there first, as GatherElements reads it position by position.

use super::{SymDims, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, DType, Emit, LowerError, Outputs};

/// Inputs: `[x, index]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Gather {
    /// A non-negative dimension.
    pub dim: i64,
}

impl OpDef for Gather {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        Some(vec![inputs.get(1)?.clone()])
    }
    fn name(&self) -> &'static str {
        "gather"
    }
    fn describe(&self) -> String {
        format!("dim={}", self.dim)
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        t[0].f_gather(self.dim, t[1], false)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let (xs, is) = (cx.input_meta(0).shape.clone(), cx.input_meta(1).shape.clone());
        let dtype = cx.input_meta(0).dtype;
        let index = emit::input_as(cx, 1, DType::I64);
        emit::rank0_as_rank1(cx, |cx, mut x| {
            // Slice the input to the index's sizes in every other dimension.
            let cut: Vec<i64> =
                (0..xs.len() as i64).filter(|&d| d != self.dim && is.get(d as usize) < xs.get(d as usize)).collect();
            if !cut.is_empty() {
                let starts = cx.const_i64s(&vec![0; cut.len()]);
                let ends: Vec<i64> = cut.iter().map(|&d| is[d as usize]).collect();
                let ends = cx.const_i64s(&ends);
                let axes = cx.const_i64s(&cut);
                x = cx.node("Slice", &[x, starts, ends, axes], vec![]);
            }
            let index = if is.is_empty() { emit::reshape(cx, index, &[1]) } else { index };
            // GatherElements has no bool form in every runtime: bools gather as uint8.
            let x = if dtype == DType::Bool { emit::cast(cx, x, dtype, DType::U8) } else { x };
            let y = cx.node("GatherElements", &[x, index], vec![("axis", Attr::Int(self.dim))]);
            emit::one(emit::cast(cx, y, if dtype == DType::Bool { DType::U8 } else { dtype }, dtype))
        })
    }
}

pub(super) const DOCS: &[OpDoc] = &[OpDoc { name: "gather", methods: "`gather`" }];

impl Tensor {
    /// Entries of `self` along `dim` at `index` (integer, same rank; other dimensions no larger
    /// than `self`'s). `sparse_grad` is tch's flag, without effect on the values.
    #[track_caller]
    pub fn gather(&self, dim: i64, index: &Tensor, sparse_grad: bool) -> Tensor {
        let _ = sparse_grad;
        record(Gather { dim: self.norm_dim(dim) }, &[self, index])
    }
}
