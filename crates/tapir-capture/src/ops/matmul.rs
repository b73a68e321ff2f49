//! Matrix product with numpy broadcasting over batch dimensions.
//!
//! ONNX: MatMul (opset 13: https://onnx.ai/onnx/operators/onnx__MatMul.html).

use super::{SymDims, SymInt, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Emit, LowerError, Outputs};

/// Inputs: `[a, b]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Matmul {
    /// `bmm`: both 3-D with one batch size (torch checks it; the lowering is the same).
    pub batched: bool,
}

impl OpDef for Matmul {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        let (a, b) = (inputs.first()?, inputs.get(1)?);
        Some(vec![matmul_shape(a, b)?])
    }
    fn name(&self) -> &'static str {
        if self.batched {
            "bmm"
        } else {
            "matmul"
        }
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        if self.batched {
            t[0].f_bmm(t[1])
        } else {
            t[0].f_matmul(t[1])
        }
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let out = cx.output_meta(0).dtype;
        let mut a = emit::input_as(cx, 0, out);
        let mut b = emit::input_as(cx, 1, out);
        // A 1-D operand is a row (left) or a column (right) whose axis the result drops, as in
        // numpy; written out explicitly, since not every runtime takes 1-D MatMul operands.
        let (a1, b1) = (cx.input_meta(0).rank() == 1, cx.input_meta(1).rank() == 1);
        if a1 {
            a = emit::unsqueeze(cx, a, &[0]);
        }
        if b1 {
            b = emit::unsqueeze(cx, b, &[1]);
        }
        let mut y = cx.node("MatMul", &[a, b], vec![]);
        let rank = cx.output_meta(0).rank() as i64 + a1 as i64 + b1 as i64;
        let dropped: Vec<i64> = [(a1, rank - 2), (b1, rank - 1)].iter().filter(|d| d.0).map(|d| d.1).collect();
        if !dropped.is_empty() {
            y = emit::squeeze(cx, y, &dropped);
        }
        emit::one(y)
    }
}

/// torch's matmul shape: 1-D operands as a row (left) or column (right) whose axis is dropped,
/// batch dimensions broadcast; the inner sizes must agree (a guard when dynamic).
pub fn matmul_shape(a: &[SymInt], b: &[SymInt]) -> Option<SymDims> {
    let (ra, rb) = (a.len(), b.len());
    if ra == 0 || rb == 0 {
        return None;
    }
    let inner_a = a[ra - 1];
    let inner_b = if rb == 1 { b[0] } else { b[rb - 2] };
    inner_a.same_as(inner_b, "matmul inner size");
    let (batch_a, batch_b) = (&a[..ra.saturating_sub(2)], &b[..rb.saturating_sub(2)]);
    let mut out = super::shape::broadcast_dims(&[batch_a, batch_b]);
    if ra >= 2 {
        out.push(a[ra - 2]);
    }
    if rb >= 2 {
        out.push(b[rb - 1]);
    }
    Some(out)
}

pub(super) const DOCS: &[OpDoc] =
    &[OpDoc { name: "matmul", methods: "`matmul`" }, OpDoc { name: "bmm", methods: "`bmm`" }];

impl Tensor {
    /// Matrix product, as `torch.matmul`.
    #[track_caller]
    pub fn matmul(&self, other: &Tensor) -> Tensor {
        record(Matmul { batched: false }, &[self, other])
    }

    /// Batched matrix product of `[B, N, M]` and `[B, M, P]`.
    #[track_caller]
    pub fn bmm(&self, other: &Tensor) -> Tensor {
        record(Matmul { batched: true }, &[self, other])
    }
}
