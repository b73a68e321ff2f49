//! cat: join tensors along an existing dimension.
//!
//! ONNX: Concat with `axis` (https://onnx.ai/onnx/operators/onnx__Concat.html); inputs are cast
//! to the promoted output dtype first.

use super::{SymDims, SymInt, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, Emit, LowerError, Outputs};

#[derive(Debug, Clone, PartialEq)]
pub struct Cat {
    pub dim: i64,
}

impl OpDef for Cat {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::promoted(inputs, None)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        let rank = inputs.iter().map(|s| s.len()).max()?;
        let kept: Vec<&SymDims> = inputs.iter().filter(|s| rank == 1 || s.as_slice() != [SymInt::from(0)]).collect();
        let first = *kept.first()?;
        let d = super::shape::axis(self.dim, rank)?;
        let mut out = first.clone();
        out[d] = kept.iter().fold(SymInt::from(0), |a, s| a + s[d]);
        for s in &kept[1..] {
            for (k, &b) in s.iter().enumerate() {
                if k != d {
                    out[k] = out[k].unify(b, "cat");
                }
            }
        }
        Some(vec![out])
    }
    fn name(&self) -> &'static str {
        "cat"
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        tch::Tensor::f_cat(t, self.dim)
    }
    fn describe(&self) -> String {
        format!("dim={}", self.dim)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let out = cx.output_meta(0).dtype;
        let rank = cx.output_meta(0).rank();
        // torch skips legacy empty tensors (shape [0]) among inputs of another rank; ONNX's
        // Concat wants one rank, so they are left out.
        let kept: Vec<usize> =
            (0..cx.num_inputs()).filter(|&i| rank == 1 || cx.input_meta(i).shape.as_slice() != [0]).collect();
        let ins: Vec<_> = kept.into_iter().map(|i| emit::input_as(cx, i, out)).collect();
        emit::one(cx.node("Concat", &ins, vec![("axis", Attr::Int(self.dim))]))
    }
}

pub(super) const DOCS: &[OpDoc] = &[OpDoc { name: "cat", methods: "`Tensor::cat`" }];

impl Tensor {
    /// Concatenates `tensors` along `dim`.
    #[track_caller]
    pub fn cat<T: std::borrow::Borrow<Tensor>>(tensors: &[T], dim: i64) -> Tensor {
        let tensors: smallvec::SmallVec<[&Tensor; 4]> = tensors.iter().map(|t| t.borrow()).collect();
        record(Cat { dim: tensors.first().map_or(dim, |t| t.norm_dim(dim)) }, &tensors)
    }
}
