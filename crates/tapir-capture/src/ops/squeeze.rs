//! squeeze: drop size-1 dimensions (one, or all).
//!
//! ONNX: Squeeze with axes as an input (opset 13+). A dimension that is not of size 1 is left
//! alone, as torch does; squeezing nothing records an identity.

use super::{SymDims, IntList, bad_argument, Dims, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Emit, LowerError, Outputs};

#[derive(Debug, Clone, PartialEq)]
pub struct Squeeze {
    /// Axes removed: non-negative, sorted, each of size 1.
    pub axes: Dims,
}

impl OpDef for Squeeze {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        let x = inputs.first()?;
        let rank = x.len();
        let axes: Vec<usize> = self.axes.iter().filter_map(|&a| super::shape::axis(a, rank)).collect();
        Some(vec![x.iter().enumerate().filter(|(i, _)| !axes.contains(i)).map(|(_, &d)| d).collect()])
    }
    fn name(&self) -> &'static str {
        "squeeze"
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        if self.axes.is_empty() {
            return t[0].f_alias();
        }
        t[0].f_squeeze_dims(self.axes.as_slice())
    }
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

pub(super) const DOCS: &[OpDoc] = &[OpDoc { name: "squeeze", methods: "`squeeze`, `squeeze_dim`, `squeeze_dims`" }];

impl Tensor {
    /// Removes every dimension of size 1. A dynamic dimension is kept, with the guard that it
    /// is not 1 (at 1, torch would remove it).
    #[track_caller]
    pub fn squeeze(&self) -> Tensor {
        let size = self.sym_size();
        for d in size.iter().filter(|d| !d.is_static()) {
            let _ = *d != 1;
        }
        record(Squeeze { axes: (0..size.len() as i64).filter(|d| size[*d as usize].hint() == 1).collect() }, &[self])
    }

    /// Removes dimension `dim` if it has size 1.
    #[track_caller]
    pub fn squeeze_dim(&self, dim: i64) -> Tensor {
        self.squeeze_dims([dim])
    }

    /// Removes each of the dimensions `dims` that has size 1 (tch's `squeeze_dims`); a dynamic
    /// one is kept, with the guard that it is not 1.
    #[track_caller]
    pub fn squeeze_dims(&self, dims: impl IntList) -> Tensor {
        let sym = self.sym_size();
        let size = self.size_unchecked();
        // A 0-d tensor takes dims 0 and -1, as in torch.
        let rank = size.len().max(1) as i64;
        let mut axes = Dims::new();
        for &d in dims.to_dims().iter() {
            if d < -rank || d >= rank {
                return bad_argument("squeeze", format!("dimension {d} is out of range for a {}-d tensor", size.len()));
            }
            let d = if d < 0 { d + rank } else { d };
            if let Some(s) = sym.get(d as usize).filter(|s| !s.is_static()) {
                let _ = *s != 1;
            }
            if size.get(d as usize) == Some(&1) {
                axes.push(d);
            }
        }
        axes.sort_unstable();
        axes.dedup();
        record(Squeeze { axes }, &[self])
    }
}
