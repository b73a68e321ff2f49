//! Elementwise binary arithmetic with broadcasting and PyTorch type promotion: add, sub, mul,
//! div (true division), pow, minimum, maximum. Rust numbers work on either side.
//!
//! ONNX: Add, Sub, Mul, Div, Pow, Min, Max (all opset 13+ for these types:
//! https://onnx.ai/onnx/operators/onnx__Add.html). ONNX requires both inputs of one type (Pow
//! aside), so inputs are cast to the output dtype first; torch's true division of integers is a
//! float division after that cast. On bools (which those ONNX ops do not take) add and maximum
//! are Or, mul and minimum And.

use super::{OpDoc, Operand};
use crate::replay::replay1;
use crate::session::{is_tracing, record1};
use crate::tensor::{Scalar, Tensor};
use tapir_graph::{emit, DType, Emit, LowerError, Op, Outputs, SourceLocation};

macro_rules! binary_op {
    ($ty:ident, $doc:ident, $name:literal, $onnx:literal, $method:ident, $eager:ident, $scalar_eager:expr) => {
        #[derive(Debug, Clone, PartialEq)]
        pub struct $ty;

        impl Op for $ty {
            replay1!(self, t, out => t[0].$eager(t[1]));
            tapir_graph::op_name!($name);
            fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
                let out = cx.output_meta(0).dtype;
                let a = emit::input_as(cx, 0, out);
                let b = emit::input_as(cx, 1, out);
                let op_type = if out == DType::Bool { bool_form($onnx) } else { $onnx };
                emit::one(cx.node(op_type, &[a, b], vec![]))
            }
        }

        pub const $doc: OpDoc = OpDoc {
            name: $name,
            methods: concat!("`", stringify!($method), "`"),
            onnx: $onnx,
        };

        impl Tensor {
            #[doc = concat!("Elementwise `", $name, "` with broadcasting; `other` is a tensor or a Rust number.")]
            #[track_caller]
            pub fn $method<'a>(&self, other: impl Into<Operand<'a>>) -> Tensor {
                let location = SourceLocation::caller();
                let scalar_eager: Option<ScalarEager> = $scalar_eager;
                match (other.into(), scalar_eager) {
                    // No trace: tch's scalar op, exactly what tch users get.
                    (Operand::Scalar(s), Some(f)) if !is_tracing() => record1(|| $ty, &[self], location, |t| f(t[0], s)),
                    (other, _) => {
                        let other = other.tensor_next_to(self);
                        record1(|| $ty, &[self, &other], location, |t| t[0].$eager(t[1]))
                    }
                }
            }
        }
    };
}

/// The ONNX op computing `op_type` on bools, which the arithmetic ops do not accept: torch's
/// bool add and maximum are logical or, mul and minimum logical and.
fn bool_form(op_type: &'static str) -> &'static str {
    match op_type {
        "Add" | "Max" => "Or",
        "Mul" | "Min" => "And",
        other => other,
    }
}

/// tch's tensor-scalar form of an op (Python-scalar typing, no 0-D tensor allocated).
type ScalarEager = fn(&tch::Tensor, Scalar) -> Result<tch::Tensor, tch::TchError>;

fn tch_scalar(s: Scalar) -> tch::Scalar {
    match s {
        Scalar::Float(v) => v.into(),
        Scalar::Int(v) => v.into(),
        Scalar::Bool(v) => (v as i64).into(),
    }
}

binary_op!(Add, ADD, "add", "Add", add, f_add, Some(|t, s| t.f_add_scalar(tch_scalar(s))));
binary_op!(Sub, SUB, "sub", "Sub", sub, f_sub, Some(|t, s| t.f_sub_scalar(tch_scalar(s))));
binary_op!(Mul, MUL, "mul", "Mul", mul, f_mul, Some(|t, s| t.f_mul_scalar(tch_scalar(s))));
binary_op!(Div, DIV, "div", "Div", div, f_div, Some(|t, s| t.f_div_scalar(tch_scalar(s))));
binary_op!(Pow, POW, "pow", "Pow", pow, f_pow, Some(|t, s| t.f_pow_tensor_scalar(tch_scalar(s))));
binary_op!(Minimum, MINIMUM, "minimum", "Min", minimum, f_minimum, None);
binary_op!(Maximum, MAXIMUM, "maximum", "Max", maximum, f_maximum, None);

/// `std::ops` for tensors and Rust numbers on either side, by value or by reference.
macro_rules! std_op {
    ($trait:ident, $fn:ident, $method:ident) => {
        impl std::ops::$trait<&Tensor> for &Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $fn(self, rhs: &Tensor) -> Tensor {
                self.$method(rhs)
            }
        }
        impl std::ops::$trait<Tensor> for Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $fn(self, rhs: Tensor) -> Tensor {
                (&self).$method(&rhs)
            }
        }
        impl std::ops::$trait<&Tensor> for Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $fn(self, rhs: &Tensor) -> Tensor {
                (&self).$method(rhs)
            }
        }
        impl std::ops::$trait<Tensor> for &Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $fn(self, rhs: Tensor) -> Tensor {
                self.$method(&rhs)
            }
        }
        std_op!(@scalar $trait, $fn, $method, f64, i64);
    };
    (@scalar $trait:ident, $fn:ident, $method:ident, $($s:ty),*) => {$(
        impl std::ops::$trait<$s> for &Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $fn(self, rhs: $s) -> Tensor {
                self.$method(rhs)
            }
        }
        impl std::ops::$trait<$s> for Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $fn(self, rhs: $s) -> Tensor {
                (&self).$method(rhs)
            }
        }
        impl std::ops::$trait<&Tensor> for $s {
            type Output = Tensor;
            #[track_caller]
            fn $fn(self, rhs: &Tensor) -> Tensor {
                let lhs = rhs.scalar_like(self.into());
                lhs.$method(rhs)
            }
        }
        impl std::ops::$trait<Tensor> for $s {
            type Output = Tensor;
            #[track_caller]
            fn $fn(self, rhs: Tensor) -> Tensor {
                let lhs = rhs.scalar_like(self.into());
                lhs.$method(&rhs)
            }
        }
    )*};
}

std_op!(Add, add, add);
std_op!(Sub, sub, sub);
std_op!(Mul, mul, mul);
std_op!(Div, div, div);

impl std::ops::Neg for &Tensor {
    type Output = Tensor;
    #[track_caller]
    fn neg(self) -> Tensor {
        Tensor::neg(self)
    }
}

impl std::ops::Neg for Tensor {
    type Output = Tensor;
    #[track_caller]
    fn neg(self) -> Tensor {
        Tensor::neg(&self)
    }
}
