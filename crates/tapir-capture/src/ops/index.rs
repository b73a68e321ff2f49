//! Indexing with an integer tensor: `index_select` along a dimension, and `index` (advanced
//! indexing on the first dimension, `x[idx]` in Python).
//!
//! ONNX: Gather along the dimension (indices of any shape; negative indices allowed).

use super::{SymDims, SymInt, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, DType, Emit, LowerError, Outputs};

/// Inputs: `[x, indices]`.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexSelect {
    pub dim: i64,
    /// Recorded by `index` (advanced indexing, indices of any shape) rather than `index_select`.
    pub advanced: bool,
}

impl OpDef for IndexSelect {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        let (x, i) = (inputs.first()?, inputs.get(1)?);
        if self.advanced {
            let mut out = i.clone();
            out.extend(x.iter().skip(1).copied());
            return Some(vec![out]);
        }
        let mut out = x.clone();
        let d = super::shape::axis(self.dim, x.len().max(1))?;
        if let Some(s) = out.get_mut(d) {
            *s = *i.first().unwrap_or(&SymInt::from(1));
        }
        Some(vec![out])
    }
    fn name(&self) -> &'static str {
        "index_select"
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        if self.advanced {
            t[0].f_index(&[Some(t[1])])
        } else {
            t[0].f_index_select(self.dim, t[1])
        }
    }
    fn describe(&self) -> String {
        format!("dim={}", self.dim)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let i = emit::input_as(cx, 1, DType::I64);
        emit::rank0_as_rank1(cx, |cx, x| emit::one(cx.node("Gather", &[x, i], vec![("axis", Attr::Int(self.dim))])))
    }
}

pub(super) const DOCS: &[OpDoc] = &[OpDoc { name: "index_select", methods: "`index_select`, `index`" }];

impl Tensor {
    /// Entries at `indices` (1-D, integer) along `dim`.
    #[track_caller]
    pub fn index_select(&self, dim: i64, indices: &Tensor) -> Tensor {
        record(IndexSelect { dim: self.norm_dim(dim), advanced: false }, &[self, indices])
    }

    /// `self[indices]` (tch's signature): rows picked by an integer tensor of any shape, given
    /// as the first and only entry (more entries, or `None`, are not supported: use `i()`).
    #[track_caller]
    pub fn index<T: std::borrow::Borrow<Tensor>>(&self, indices: &[Option<T>]) -> Tensor {
        let Some(Some(first)) = indices.first().filter(|_| indices.len() == 1) else {
            let message = "index takes one index tensor for dimension 0 (others: i(), index_select)".to_owned();
            return super::bad_argument("index_select", message);
        };
        record(IndexSelect { dim: 0, advanced: true }, &[self, first.borrow()])
    }
}
