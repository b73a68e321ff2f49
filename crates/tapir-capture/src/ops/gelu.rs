//! GELU, exact (erf) or tanh-approximated.
//!
//! ONNX: Gelu with `approximate` from opset 20 (https://onnx.ai/onnx/operators/onnx__Gelu.html).
//! Below 20 it is decomposed: exact `0.5 x (1 + erf(x / sqrt 2))`; tanh
//! `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`.

use super::{SymDims, bad_argument, OpDef, OpDoc};
use crate::define::record;
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, Emit, LowerError, Outputs};

#[derive(Debug, Clone, PartialEq)]
pub struct Gelu {
    /// torch's `approximate="tanh"`; the exact (erf) form otherwise.
    pub tanh: bool,
}

impl Gelu {
    fn approximate(&self) -> &'static str {
        if self.tanh {
            "tanh"
        } else {
            "none"
        }
    }
}

impl OpDef for Gelu {
    type Output = tch::Tensor;
    fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
        super::dtype::same(inputs)
    }
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        super::shape::same(inputs)
    }
    fn name(&self) -> &'static str {
        "gelu"
    }
    fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        t[0].f_gelu(self.approximate())
    }
    fn describe(&self) -> String {
        format!("approximate={}", self.approximate())
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let x = cx.input(0);
        let dtype = cx.input_meta(0).dtype;
        if cx.opset() >= 20 {
            let approximate = Attr::String(self.approximate().into());
            return emit::one(cx.node("Gelu", &[x], vec![("approximate", approximate)]));
        }
        let inner = if self.tanh {
            let c = cx.const_scalar(dtype, 0.044715);
            let k = cx.const_scalar(dtype, (2.0 / std::f64::consts::PI).sqrt());
            let x2 = cx.node("Mul", &[x, x], vec![]);
            let x3 = cx.node("Mul", &[x2, x], vec![]);
            let cx3 = cx.node("Mul", &[x3, c], vec![]);
            let sum = cx.node("Add", &[x, cx3], vec![]);
            let scaled = cx.node("Mul", &[sum, k], vec![]);
            cx.node("Tanh", &[scaled], vec![])
        } else {
            let r = cx.const_scalar(dtype, std::f64::consts::FRAC_1_SQRT_2);
            let scaled = cx.node("Mul", &[x, r], vec![]);
            cx.node("Erf", &[scaled], vec![])
        };
        let one = cx.const_scalar(dtype, 1.0);
        let half = cx.const_scalar(dtype, 0.5);
        let p = cx.node("Add", &[inner, one], vec![]);
        let hx = cx.node("Mul", &[x, half], vec![]);
        emit::one(cx.node("Mul", &[hx, p], vec![]))
    }
}

pub(super) const DOCS: &[OpDoc] = &[OpDoc { name: "gelu", methods: "`gelu`" }];

impl Tensor {
    /// GELU; `approximate` is `"none"` (exact) or `"tanh"`, as in torch.
    #[track_caller]
    pub fn gelu(&self, approximate: &str) -> Tensor {
        match approximate {
            "none" => record(Gelu { tanh: false }, &[self]),
            "tanh" => record(Gelu { tanh: true }, &[self]),
            other => bad_argument("gelu", format!("approximate must be \"none\" or \"tanh\", got {other:?}")),
        }
    }
}
