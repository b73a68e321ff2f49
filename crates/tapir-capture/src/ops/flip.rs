//! flip: reverse the order of entries along some dimensions.
//!
//! ONNX has no Flip: a Gather per flipped axis with the indices `n - 1, ..., 0`. (Slice with
//! step -1 is the other form; tract's optimizer fails on it behind a Reshape.)

use super::{SymDims, Dims, IntList, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, DType, Emit, LowerError, Outputs};

/// Inputs: `[x]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Flip {
    /// Non-negative dimensions.
    pub dims: Dims,
}

impl OpDef for Flip {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        super::shape::same(inputs)
    }
    fn name(&self) -> &'static str {
        "flip"
    }
    fn describe(&self) -> String {
        format!("dims={:?}", self.dims)
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        t[0].f_flip(self.dims.as_slice())
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let mut x = cx.input(0);
        if cx.input_meta(0).rank() == 0 {
            return emit::one(x);
        }
        let shape = cx.input_dims(0);
        for &d in &self.dims {
            let n = shape[d as usize];
            let index = match n.as_static() {
                Some(n) => {
                    let reversed: Vec<i64> = (0..n).rev().collect();
                    cx.const_i64s(&reversed)
                }
                // A dynamic axis: `Range(n - 1, -1, -1)` computed from the input's shape.
                None => {
                    let start = cx.dims_tensor(&[n - 1]);
                    let start = emit::squeeze(cx, start, &[0]);
                    let minus_one = cx.const_scalar_i64(DType::I64, -1);
                    cx.node("Range", &[start, minus_one, minus_one], vec![])
                }
            };
            x = cx.node("Gather", &[x, index], vec![("axis", Attr::Int(d))]);
        }
        emit::one(x)
    }
}

pub(super) const DOCS: &[OpDoc] = &[OpDoc { name: "flip", methods: "`flip`, `fliplr`, `flipud`" }];

impl Tensor {
    /// Reverses the entries along each of `dims`.
    #[track_caller]
    pub fn flip(&self, dims: impl IntList) -> Tensor {
        record(Flip { dims: dims.to_dims().iter().map(|d| self.norm_dim(*d)).collect() }, &[self])
    }

    /// Reverses the columns (dimension 1).
    #[track_caller]
    pub fn fliplr(&self) -> Tensor {
        self.flip([1])
    }

    /// Reverses the rows (dimension 0).
    #[track_caller]
    pub fn flipud(&self) -> Tensor {
        self.flip([0])
    }
}
