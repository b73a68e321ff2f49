//! split and chunk: cut a tensor into pieces along one dimension.
//!
//! ONNX: Split with the piece sizes as an input (opset 13+; sizes are taken from the observed
//! outputs, so `split` by size and `chunk` by count lower alike).

use super::{SymDims, SymInt, IntList, Dims, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{Attr, Emit, LowerError, Outputs};

/// How the pieces are cut (torch's three calls).
#[derive(Debug, Clone, PartialEq)]
pub enum SplitBy {
    /// Pieces of this size, the last possibly smaller (`split`).
    Size(i64),
    /// Pieces of these sizes (`split_with_sizes`).
    Sizes(Dims),
    /// This many pieces of near-equal size (`chunk`).
    Chunks(i64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    pub dim: i64,
    pub by: SplitBy,
    /// How many pieces the call gives (for the outputs of a failed call).
    pub pieces: usize,
}

impl OpDef for Split {
    type Output = Vec<tch::Tensor>;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        let x = inputs.first()?;
        let d = super::shape::axis(self.dim, x.len())?;
        let len = x[d];
        let n = self.pieces as i64;
        let sizes: Vec<SymInt> = match &self.by {
            SplitBy::Sizes(sizes) => {
                let total = sizes.iter().fold(SymInt::from(0), |a, &s| a + s);
                total.same_as(len, "split sizes");
                sizes.iter().map(|&s| SymInt::from(s)).collect()
            }
            by => {
                let piece = match by {
                    SplitBy::Size(s) => SymInt::from(*s),
                    _ => (len + (n - 1)) / n,
                };
                if !len.is_static() {
                    // The number of pieces is the traced one: `piece * (n - 1) < len <= piece * n`.
                    let _ = len > piece * (n - 1);
                    let _ = len <= piece * n;
                }
                (0..n).map(|k| if k + 1 < n { piece } else { len - piece * (n - 1) }).collect()
            }
        };
        Some(
            sizes
                .into_iter()
                .map(|s| {
                    let mut out = x.clone();
                    out[d] = s;
                    out
                })
                .collect(),
        )
    }
    fn name(&self) -> &'static str {
        "split"
    }
    fn num_outputs(&self) -> usize {
        self.pieces
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<Vec<tch::Tensor>, tch::TchError> {
        match &self.by {
            SplitBy::Size(size) => t[0].f_split(*size, self.dim),
            SplitBy::Sizes(sizes) => t[0].f_split_with_sizes(sizes.as_slice(), self.dim),
            SplitBy::Chunks(chunks) => t[0].f_chunk(*chunks, self.dim),
        }
    }
    fn describe(&self) -> String {
        format!("dim={}, {:?}", self.dim, self.by)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        // The pieces' sizes are the observed outputs', so every way of cutting lowers alike.
        let dim = self.dim as usize;
        let sizes: Vec<SymInt> = (0..cx.num_outputs()).map(|k| cx.output_dims(k)[dim]).collect();
        let x = cx.input(0);
        let s = cx.dims_tensor(&sizes);
        Ok(cx.node_n("Split", &[x, s], vec![("axis", Attr::Int(self.dim))], sizes.len()))
    }
}

pub(super) const DOCS: &[OpDoc] = &[OpDoc { name: "split", methods: "`split`, `split_with_sizes`, `chunk`" }];

impl Tensor {
    /// Pieces of `split_size` along `dim` (the last may be smaller).
    #[track_caller]
    pub fn split(&self, split_size: i64, dim: i64) -> Vec<Tensor> {
        let dim = self.norm_dim(dim);
        let len = self.size_unchecked().get(dim as usize).copied().unwrap_or(1);
        let pieces = ((len + split_size - 1) / split_size.max(1)).max(1) as usize;
        record(Split { dim, by: SplitBy::Size(split_size), pieces }, &[self])
    }

    /// Pieces of the given sizes along `dim`.
    #[track_caller]
    pub fn split_with_sizes(&self, sizes: impl IntList, dim: i64) -> Vec<Tensor> {
        let sizes = sizes.to_dims();
        let pieces = sizes.len();
        record(Split { dim: self.norm_dim(dim), by: SplitBy::Sizes(sizes), pieces }, &[self])
    }

    /// `chunks` pieces of near-equal size along `dim` (torch's rule: size `ceil(n / chunks)`).
    #[track_caller]
    pub fn chunk(&self, chunks: i64, dim: i64) -> Vec<Tensor> {
        let dim = self.norm_dim(dim);
        let len = self.size_unchecked().get(dim as usize).copied().unwrap_or(1);
        let size = ((len + chunks - 1) / chunks.max(1)).max(1);
        let pieces = if chunks <= 0 { 1 } else { ((len + size - 1) / size).max(1) as usize };
        record(Split { dim, by: SplitBy::Chunks(chunks), pieces }, &[self])
    }
}
