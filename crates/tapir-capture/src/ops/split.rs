//! split and chunk: cut a tensor into pieces along one dimension.
//!
//! ONNX: Split with the piece sizes as an input (opset 13+; sizes are taken from the observed
//! outputs, so `split` by size and `chunk` by count lower alike).

use super::OpDoc;
use crate::session::record_n;
use crate::tensor::Tensor;
use tapir_graph::{Attr, Emit, LowerError, Op, Outputs, SourceLocation};

#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    pub dim: i64,
}

impl Op for Split {
    fn eval(&self, inputs: &[&dyn std::any::Any], out: &[tapir_graph::TensorMeta]) -> crate::replay::EvalResult {
        let sizes: Vec<i64> = out.iter().map(|m| m.shape[self.dim as usize]).collect();
        crate::replay::run(inputs, |t| t[0].f_split_with_sizes(sizes.as_slice(), self.dim))
    }
    tapir_graph::op_name!("split");
    fn describe(&self) -> String {
        format!("dim={}", self.dim)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let dim = self.dim as usize;
        let sizes: Vec<i64> = (0..cx.num_outputs()).map(|k| cx.output_meta(k).shape[dim]).collect();
        let x = cx.input(0);
        let s = cx.const_i64s(&sizes);
        Ok(cx.node_n("Split", &[x, s], vec![("axis", Attr::Int(self.dim))], sizes.len()))
    }
}

pub const DOC: OpDoc = OpDoc { name: "split", methods: "`split`, `split_with_sizes`, `chunk`", onnx: "Split" };

impl Tensor {
    /// Pieces of `split_size` along `dim` (the last may be smaller).
    #[track_caller]
    pub fn split(&self, split_size: i64, dim: i64) -> Vec<Tensor> {
        let n = || {
            let n =
                self.size().get(self.norm_dim(dim) as usize).map_or(1, |s| (s + split_size - 1) / split_size.max(1));
            n.max(1) as usize
        };
        let op = || Split { dim: self.norm_dim(dim) };
        record_n(op, &[self], SourceLocation::caller(), n, |t| t[0].f_split(split_size, dim))
    }

    /// Pieces of the given sizes along `dim`.
    #[track_caller]
    pub fn split_with_sizes(&self, sizes: &[i64], dim: i64) -> Vec<Tensor> {
        let op = || Split { dim: self.norm_dim(dim) };
        record_n(op, &[self], SourceLocation::caller(), || sizes.len(), |t| t[0].f_split_with_sizes(sizes, dim))
    }

    /// `chunks` pieces of near-equal size along `dim` (torch's rule: size `ceil(n / chunks)`).
    #[track_caller]
    pub fn chunk(&self, chunks: i64, dim: i64) -> Vec<Tensor> {
        let op = || Split { dim: self.norm_dim(dim) };
        record_n(op, &[self], SourceLocation::caller(), || chunks.max(1) as usize, |t| t[0].f_chunk(chunks, dim))
    }
}
