//! scaled_dot_product_attention: `softmax(q @ k^T * scale + mask) @ v`, with an optional
//! boolean or additive mask, a causal mask, a scale (`1 / sqrt(E)` by default) and grouped
//! query heads (`enable_gqa`: k and v have fewer heads, each shared by a group of q heads).
//!
//! ONNX: `Attention` (https://onnx.ai/onnx/operators/onnx__Attention.html) from opset 23 for
//! 4-D inputs (`[B, H, L, E]`; its additive mask, top-left causal mask, scale and grouped
//! heads are torch's; a boolean mask is passed in its additive form). Below opset 23 and for other ranks, written out: MatMul, Mul,
//! Where or Add, Softmax, MatMul, the causal mask as a constant triangle, grouped heads repeated
//! with Expand and Reshape.

use super::{lowering, OpDef, OpDoc, SymDims, SymInt};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, DType, Emit, LowerError, Outputs, Sym};

/// Inputs: `[q, k, v]` or `[q, k, v, mask]`; shapes `[.., L, E]`, `[.., S, E]`, `[.., S, Ev]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Attention {
    pub is_causal: bool,
    /// The scores' scale; `1 / sqrt(E)` when `None`.
    pub scale: Option<f64>,
    pub enable_gqa: bool,
}

impl OpDef for Attention {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        let (q, v) = (inputs.first()?, inputs.get(2)?);
        let mut out = q.clone();
        *out.last_mut()? = *v.last()?;
        Some(vec![out])
    }
    fn name(&self) -> &'static str {
        "scaled_dot_product_attention"
    }
    fn describe(&self) -> String {
        format!("is_causal={}, scale={:?}, enable_gqa={}", self.is_causal, self.scale, self.enable_gqa)
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        let mask = t.get(3).copied();
        tch::Tensor::f_scaled_dot_product_attention(
            t[0],
            t[1],
            t[2],
            mask,
            0.0,
            self.is_causal,
            self.scale,
            self.enable_gqa,
        )
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let dtype = cx.output_meta(0).dtype;
        let (qs, ks) = (cx.input_dims(0), cx.input_dims(1));
        let rank = qs.len();
        let (l, e) = (qs[rank - 2], qs[rank - 1].hint());
        let s = ks[ks.len() - 2];
        let (q, mut k, mut v) = (cx.input(0), cx.input(1), cx.input(2));
        let four_d = rank == 4 && ks.len() == 4 && cx.input_meta(2).rank() == 4;
        if cx.opset() >= 23 && four_d && dtype.is_float() {
            let scale = self.scale.unwrap_or(1.0 / (e as f64).sqrt());
            let attrs = vec![("is_causal", Attr::Int(self.is_causal as i64)), ("scale", Attr::Float(scale as f32))];
            let mut ins = vec![q, k, v];
            if cx.num_inputs() > 3 {
                // A boolean mask goes in as its additive form (0 where attended, -inf elsewhere):
                // the same scores, and what every runtime takes (tract's takes floats only).
                let mask = if cx.input_meta(3).dtype == DType::Bool {
                    let (m, zero, neg_inf) =
                        (cx.input(3), cx.const_scalar(dtype, 0.0), cx.const_scalar(dtype, f64::NEG_INFINITY));
                    cx.node("Where", &[m, zero, neg_inf], vec![])
                } else {
                    emit::input_as(cx, 3, dtype)
                };
                ins.push(mask);
            }
            return emit::one(cx.node("Attention", &ins, attrs));
        }
        if self.enable_gqa && rank >= 3 && ks.len() == rank && qs[rank - 3].hint() != ks[rank - 3].hint() {
            let groups = qs[rank - 3].hint() / ks[rank - 3].hint().max(1);
            k = repeat_heads(cx, k, &ks, groups);
            let vs = cx.input_dims(2);
            v = repeat_heads(cx, v, &vs, groups);
        }
        let mut perm: Vec<i64> = (0..ks.len() as i64).collect();
        perm.swap(ks.len() - 2, ks.len() - 1);
        let kt = cx.node("Transpose", &[k], vec![("perm", Attr::Ints(perm))]);
        let scores = cx.node("MatMul", &[q, kt], vec![]);
        let scale = cx.const_scalar(dtype, self.scale.unwrap_or(1.0 / (e as f64).sqrt()));
        let mut scores = cx.node("Mul", &[scores, scale], vec![]);
        let neg_inf = cx.const_scalar(dtype, f64::NEG_INFINITY);
        if self.is_causal {
            let keep = lowering::triangle_mask(cx, l, s, 0, false);
            scores = cx.node("Where", &[keep, scores, neg_inf], vec![]);
        }
        if cx.num_inputs() > 3 {
            let mask = cx.input(3);
            scores = if cx.input_meta(3).dtype == DType::Bool {
                cx.node("Where", &[mask, scores, neg_inf], vec![])
            } else {
                let mask = emit::input_as(cx, 3, dtype);
                cx.node("Add", &[scores, mask], vec![])
            };
        }
        let weights = cx.node("Softmax", &[scores], vec![("axis", Attr::Int(-1))]);
        emit::one(cx.node("MatMul", &[weights, v], vec![]))
    }
}

/// `[.., H, S, E]` with each head repeated `groups` times in place: `[.., H * groups, S, E]`.
fn repeat_heads(cx: &mut dyn Emit, x: Sym, shape: &[SymInt], groups: i64) -> Sym {
    let r = shape.len();
    let x = emit::unsqueeze(cx, x, &[r as i64 - 2]);
    let mut expanded = shape[..r - 2].to_vec();
    expanded.push(SymInt::from(groups));
    expanded.extend_from_slice(&shape[r - 2..]);
    let target = cx.dims_tensor(&expanded);
    let x = cx.node("Expand", &[x, target], vec![]);
    let mut out = shape.to_vec();
    out[r - 3] = out[r - 3] * groups;
    emit::reshape_dims(cx, x, &out)
}

pub(super) const DOCS: &[OpDoc] =
    &[OpDoc { name: "scaled_dot_product_attention", methods: "`Tensor::scaled_dot_product_attention`" }];

impl Tensor {
    /// Attention of `query` over `key`/`value` (tch's signature). `attn_mask` is boolean (true:
    /// attend) or added to the scores; `dropout_p` must be 0 inside a trace (dropout is random).
    #[allow(clippy::too_many_arguments)]
    #[track_caller]
    pub fn scaled_dot_product_attention<T: std::borrow::Borrow<Tensor>>(
        query: &Tensor,
        key: &Tensor,
        value: &Tensor,
        attn_mask: Option<T>,
        dropout_p: f64,
        is_causal: bool,
        scale: impl Into<Option<f64>>,
        enable_gqa: bool,
    ) -> Tensor {
        if dropout_p != 0.0 {
            let reason = format!("dropout_p = {dropout_p} is random; trace with dropout_p = 0 (eval mode)");
            let location = tapir_graph::SourceLocation::caller();
            if let Some(refused) = crate::session::refuse_in_trace("scaled_dot_product_attention", location, &reason) {
                return refused;
            }
            return super::bad_argument("scaled_dot_product_attention", "dropout is not supported".to_owned());
        }
        let op = Attention { is_causal, scale: scale.into(), enable_gqa };
        match &attn_mask {
            Some(m) => record(op, &[query, key, value, m.borrow()]),
            None => record(op, &[query, key, value]),
        }
    }
}
