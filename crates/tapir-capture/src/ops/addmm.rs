//! addmm and baddbmm: `beta * input + alpha * (a @ b)`, for matrices and batches of them.
//!
//! ONNX: Gemm (alpha, beta attributes) for addmm on floats; MatMul, Mul, Add otherwise (Gemm
//! takes 2-D operands only, and ONNX Runtime implements it for floats only). Inputs are cast to
//! the output dtype; torch ignores `input` when `beta` is 0 (even NaN in it), and so does the
//! lowering.

use super::{SymDims, lowering, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::{Scalar, Tensor};
use tapir_graph::{emit, Attr, Emit, LowerError, Outputs};

/// Inputs: `[input, a, b]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Addmm {
    /// baddbmm (3-D operands); addmm otherwise, whose beta and alpha are 1 (tch's signature).
    pub batched: bool,
    pub beta: Scalar,
    pub alpha: Scalar,
}

impl OpDef for Addmm {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::promoted(inputs, None)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        let (c, a, b) = (inputs.first()?, inputs.get(1)?, inputs.get(2)?);
        let product = super::matmul::matmul_shape(a, b)?;
        let shapes = [c.as_slice(), product.as_slice()];
        Some(vec![super::shape::broadcast_dims(&shapes)])
    }
    fn name(&self) -> &'static str {
        if self.batched {
            "baddbmm"
        } else {
            "addmm"
        }
    }
    fn describe(&self) -> String {
        format!("beta={}, alpha={}", self.beta, self.alpha)
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        let (beta, alpha) = (self.beta.to_tch_scalar(), self.alpha.to_tch_scalar());
        if self.batched {
            t[0].f_baddbmm(t[1], t[2], beta, alpha)
        } else {
            // tch's addmm has no alpha and beta: they are 1 here (see `Tensor::addmm`).
            let _ = (beta, alpha);
            t[0].f_addmm(t[1], t[2])
        }
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let out = cx.output_meta(0).dtype;
        let (c, a, b) = (emit::input_as(cx, 0, out), emit::input_as(cx, 1, out), emit::input_as(cx, 2, out));
        let beta_zero = self.beta.as_f64() == 0.0;
        if !self.batched && out.is_float() && !beta_zero {
            let attrs = vec![("alpha", Attr::Float(self.alpha.as_f64() as f32)), ("beta", Attr::Float(self.beta.as_f64() as f32))];
            let c = if cx.input_meta(0).rank() == 0 { emit::reshape(cx, c, &[1]) } else { c };
            return emit::one(cx.node("Gemm", &[a, b, c], attrs));
        }
        let mut ab = cx.node("MatMul", &[a, b], vec![]);
        if self.alpha.as_f64() != 1.0 {
            let alpha = lowering::scalar(cx, out, self.alpha);
            ab = cx.node("Mul", &[ab, alpha], vec![]);
        }
        if beta_zero {
            // torch ignores input when beta is 0, but its shape still broadcasts.
            let shape = cx.output_meta(0).shape.clone();
            let product_shape = cx.input_meta(1).shape.len() == shape.len();
            if product_shape {
                return emit::one(ab);
            }
            let shape = cx.const_i64s(&shape);
            return emit::one(cx.node("Expand", &[ab, shape], vec![]));
        }
        let c = if self.beta.as_f64() != 1.0 {
            let beta = lowering::scalar(cx, out, self.beta);
            cx.node("Mul", &[c, beta], vec![])
        } else {
            c
        };
        emit::one(cx.node("Add", &[c, ab], vec![]))
    }
}

pub(super) const DOCS: &[OpDoc] =
    &[OpDoc { name: "addmm", methods: "`addmm`" }, OpDoc { name: "baddbmm", methods: "`baddbmm`" }];

impl Tensor {
    /// `self + mat1 @ mat2` (tch's `addmm`).
    #[track_caller]
    pub fn addmm(&self, mat1: &Tensor, mat2: &Tensor) -> Tensor {
        record(Addmm { batched: false, beta: Scalar::Int(1), alpha: Scalar::Int(1) }, &[self, mat1, mat2])
    }

    /// `beta * self + alpha * (batch1 @ batch2)` over batches of matrices.
    #[track_caller]
    pub fn baddbmm(&self, batch1: &Tensor, batch2: &Tensor, beta: impl Into<Scalar>, alpha: impl Into<Scalar>) -> Tensor {
        record(Addmm { batched: true, beta: beta.into(), alpha: alpha.into() }, &[self, batch1, batch2])
    }
}
