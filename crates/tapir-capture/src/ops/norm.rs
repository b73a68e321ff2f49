//! norm: the vector p-norm over dimensions, p = 1, 2 or infinity (torch.linalg.vector_norm,
//! tch's `norm_scalaropt_dim`).
//!
//! ONNX: ReduceL1 (p = 1), ReduceL2 (p = 2), ReduceMax of Abs (p = inf); axes as an input from
//! opset 18. Integer inputs are refused by torch itself.

use super::{SymDims, bad_argument, lowering, Dims, IntList, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Emit, LowerError, Outputs};

/// Which norm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NormOrd {
    L1,
    L2,
    Inf,
}

/// Inputs: `[x]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Norm {
    pub ord: NormOrd,
    /// Non-negative, sorted dimensions; every dimension when empty.
    pub dims: Dims,
    pub keepdim: bool,
}

impl NormOrd {
    fn p(self) -> f64 {
        match self {
            NormOrd::L1 => 1.0,
            NormOrd::L2 => 2.0,
            NormOrd::Inf => f64::INFINITY,
        }
    }
}

impl OpDef for Norm {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        super::shape::reduced(inputs, &self.dims, self.keepdim, 1)
    }
    fn name(&self) -> &'static str {
        "norm"
    }
    fn describe(&self) -> String {
        format!("p={}, dims={:?}, keepdim={}", self.ord.p(), self.dims, self.keepdim)
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        let dims: Dims = if self.dims.is_empty() { (0..t[0].dim() as i64).collect() } else { self.dims.clone() };
        t[0].f_norm_scalaropt_dim(self.ord.p(), dims.as_slice(), self.keepdim)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let rank = cx.input_meta(0).rank();
        let dims: Dims = if self.dims.is_empty() { (0..rank as i64).collect() } else { self.dims.clone() };
        let (ord, keepdim) = (self.ord, self.keepdim);
        emit::rank0_as_rank1(cx, |cx, x| {
            let dims: Dims = if rank == 0 { smallvec::smallvec![0] } else { dims };
            let y = match ord {
                NormOrd::L1 => lowering::reduce(cx, "ReduceL1", x, &dims, keepdim),
                NormOrd::L2 => lowering::reduce(cx, "ReduceL2", x, &dims, keepdim),
                NormOrd::Inf => {
                    let a = cx.node("Abs", &[x], vec![]);
                    lowering::reduce(cx, "ReduceMax", a, &dims, keepdim)
                }
            };
            emit::one(y)
        })
    }
}

pub(super) const DOCS: &[OpDoc] = &[OpDoc { name: "norm", methods: "`norm`, `norm_scalaropt_dim`, `linalg_vector_norm`" }];

impl Tensor {
    /// The 2-norm of all entries.
    #[track_caller]
    pub fn norm(&self) -> Tensor {
        record(Norm { ord: NormOrd::L2, dims: Dims::new(), keepdim: false }, &[self])
    }

    /// The `p`-norm (1, 2 or `f64::INFINITY`) over `dims` (every dimension when empty).
    #[track_caller]
    pub fn norm_scalaropt_dim(&self, p: f64, dims: impl IntList, keepdim: bool) -> Tensor {
        let ord = match p {
            1.0 => NormOrd::L1,
            2.0 => NormOrd::L2,
            p if p == f64::INFINITY => NormOrd::Inf,
            other => return bad_argument("norm", format!("p = {other} is not supported: 1, 2 or infinity")),
        };
        let mut dims: Dims = dims.to_dims().iter().map(|d| self.norm_dim(*d)).collect();
        dims.sort_unstable();
        record(Norm { ord, dims, keepdim }, &[self])
    }

    /// [`Tensor::norm_scalaropt_dim`] with torch.linalg's name (`dtype` must be `None`).
    #[track_caller]
    pub fn linalg_vector_norm(&self, ord: f64, dims: impl IntList, keepdim: bool, dtype: impl Into<Option<tch::Kind>>) -> Tensor {
        if let Some(kind) = dtype.into() {
            return bad_argument("norm", format!("a dtype ({kind:?}) is not supported; cast first"));
        }
        self.norm_scalaropt_dim(ord, dims, keepdim)
    }
}
