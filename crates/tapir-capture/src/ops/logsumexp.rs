//! logsumexp: `log(sum(exp(x)))` over dimensions, computed stably (torch.logsumexp).
//!
//! ONNX: `max + log(sum(exp(x - max)))` with ReduceMax and ReduceSum (ONNX's ReduceLogSumExp
//! overflows for large inputs), the max replaced by 0 where it is infinite, so a row of -inf
//! gives -inf as in torch, not NaN.

use super::{SymDims, lowering, Dims, IntList, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Emit, LowerError, Outputs};

/// Inputs: `[x]`.
#[derive(Debug, Clone, PartialEq)]
pub struct LogSumExp {
    /// Non-negative, sorted dimensions; empty only for a 0-d input.
    pub dims: Dims,
    pub keepdim: bool,
}

impl OpDef for LogSumExp {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::one(super::dtype::float_of(inputs.first()?.dtype))
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        super::shape::reduced(inputs, &self.dims, self.keepdim, 1)
    }
    fn name(&self) -> &'static str {
        "logsumexp"
    }
    fn describe(&self) -> String {
        format!("dims={:?}, keepdim={}", self.dims, self.keepdim)
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        let dims: &[i64] = if self.dims.is_empty() { &[0] } else { &self.dims };
        t[0].f_logsumexp(dims, self.keepdim)
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let (from, dtype) = (cx.input_meta(0).dtype, cx.output_meta(0).dtype);
        let scalar = cx.input_meta(0).rank() == 0;
        let dims: Dims = if scalar { smallvec::smallvec![0] } else { self.dims.clone() };
        let keepdim = self.keepdim;
        if cx.input_meta(0).numel() == 0 {
            // Over no entries the sum is 0 and its log -inf, as in torch.
            let out = cx.output_meta(0).shape.clone();
            let value = cx.const_scalar(dtype, f64::NEG_INFINITY);
            let shape = cx.const_i64s(&out);
            return emit::one(cx.node("Expand", &[value, shape], vec![]));
        }
        emit::rank0_as_rank1(cx, |cx, x| {
            let x = emit::cast(cx, x, from, dtype);
            let max = lowering::reduce(cx, "ReduceMax", x, &dims, true);
            let infinite = cx.node("IsInf", &[max], vec![]);
            let zero = cx.const_scalar(dtype, 0.0);
            let max = cx.node("Where", &[infinite, zero, max], vec![]);
            let shifted = cx.node("Sub", &[x, max], vec![]);
            let e = cx.node("Exp", &[shifted], vec![]);
            let sum = lowering::reduce(cx, "ReduceSum", e, &dims, true);
            let log = cx.node("Log", &[sum], vec![]);
            let y = cx.node("Add", &[log, max], vec![]);
            emit::one(if keepdim || scalar { y } else { emit::squeeze(cx, y, &dims) })
        })
    }
}

pub(super) const DOCS: &[OpDoc] = &[OpDoc { name: "logsumexp", methods: "`logsumexp`" }];

impl Tensor {
    /// `log(sum(exp(self)))` over `dims`, computed stably.
    #[track_caller]
    pub fn logsumexp(&self, dims: impl IntList, keepdim: bool) -> Tensor {
        let mut dims: Dims = dims.to_dims().iter().map(|d| if self.dim() == 0 { 0 } else { self.norm_dim(*d) }).collect();
        dims.sort_unstable();
        if self.dim() == 0 {
            dims.clear();
        }
        record(LogSumExp { dims, keepdim }, &[self])
    }
}
