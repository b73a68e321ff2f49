//! prelu: `x` where positive, `weight * x` elsewhere, with one weight per channel (dimension 1)
//! or one for all.
//!
//! ONNX: PRelu, the weight reshaped to `[C, 1, ..., 1]` so it broadcasts along dimension 1 as
//! torch's does.

use super::{SymDims, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Emit, LowerError, Outputs};

/// Inputs: `[x, weight]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Prelu;

impl OpDef for Prelu {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        super::shape::same(inputs)
    }
    fn name(&self) -> &'static str {
        "prelu"
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        t[0].f_prelu(t[1])
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let (x, w) = (cx.input(0), cx.input(1));
        let rank = cx.input_meta(0).rank();
        let c = cx.input_meta(1).numel();
        // torch: the channels are dimension 1; below rank 2 there is one weight for all.
        let w = if rank >= 2 {
            let mut shape = vec![c];
            shape.extend(std::iter::repeat_n(1, rank - 2));
            emit::reshape(cx, w, &shape)
        } else {
            emit::reshape(cx, w, &[])
        };
        emit::one(cx.node("PRelu", &[x, w], vec![]))
    }
}

pub(super) const DOCS: &[OpDoc] = &[OpDoc { name: "prelu", methods: "`prelu`" }];

impl Tensor {
    /// Parametric ReLU: `weight` has one entry, or one per channel (dimension 1).
    #[track_caller]
    pub fn prelu(&self, weight: &Tensor) -> Tensor {
        record(Prelu, &[self, weight])
    }
}
