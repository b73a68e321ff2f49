//! GELU, exact (erf) or tanh-approximated.
//!
//! ONNX: Gelu with `approximate` from opset 20 (https://onnx.ai/onnx/operators/onnx__Gelu.html).
//! Below 20 it is decomposed: exact `0.5 x (1 + erf(x / sqrt 2))`; tanh
//! `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`.

use super::OpDoc;
use crate::replay::replay1;
use crate::session::record1;
use crate::tensor::Tensor;
use tapir_graph::{emit, Attr, Emit, LowerError, Op, Outputs, SourceLocation};

#[derive(Debug, Clone, PartialEq)]
pub struct Gelu {
    pub tanh: bool,
}

impl Op for Gelu {
    replay1!(self, t, out => t[0].f_gelu(if self.tanh { "tanh" } else { "none" }));
    tapir_graph::op_name!("gelu");
    fn describe(&self) -> String {
        format!("approximate={}", if self.tanh { "tanh" } else { "none" })
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        let x = cx.input(0);
        let dtype = cx.input_meta(0).dtype;
        if cx.opset() >= 20 {
            let approximate = if self.tanh { "tanh" } else { "none" };
            return emit::one(cx.node("Gelu", &[x], vec![("approximate", Attr::String(approximate.into()))]));
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

pub const DOC: OpDoc = OpDoc { name: "gelu", methods: "`gelu`", onnx: "Gelu (20+); Erf or Tanh with Mul, Add (13-19)" };

impl Tensor {
    /// GELU; `approximate` is `"none"` (exact) or `"tanh"`, as in torch.
    #[track_caller]
    pub fn gelu(&self, approximate: &str) -> Tensor {
        let op = || Gelu { tanh: approximate == "tanh" };
        record1(op, &[self], SourceLocation::caller(), |t| t[0].f_gelu(approximate))
    }
}
