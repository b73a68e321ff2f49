//! Elementwise binary arithmetic with broadcasting and PyTorch type promotion: add, sub, mul,
//! div (true division), pow, minimum, maximum. A Rust number on the right is an attribute of the
//! op (typed as torch types a Python scalar) and becomes a constant of the output dtype, exact
//! for every int64.
//!
//! ONNX: Add, Sub, Mul, Div, Pow, Min, Max (https://onnx.ai/onnx/operators/onnx__Add.html).
//! ONNX requires both inputs of one type (Pow aside), so inputs are cast to the output dtype
//! first; torch's true division of integers is a float division after that cast. On bools
//! (which those ONNX ops do not take) add and maximum are Or, mul and minimum And.

use super::{SymDims, lowering, OpDef, OpDoc, Operand};
use crate::define::record;
use crate::tensor::{Scalar, Tensor};
use tapir_graph::{emit, DType, Emit, LowerError, Outputs};

macro_rules! binary_op {
    ($ty:ident, $doc:ident, $name:literal, $onnx:literal, $method:ident, $also:literal, $eager:ident, $scalar_eager:expr) => {
        /// Inputs: `[a, b]`, or `[a]` with `scalar` as `b`.
        #[derive(Debug, Clone, PartialEq)]
        pub struct $ty {
            pub scalar: Option<Scalar>,
        }

        impl OpDef for $ty {
            type Output = tch::Tensor;
            fn dtypes(&self, inputs: &[tapir_graph::TensorMeta]) -> Option<super::dtype::DTypes> {
                super::dtype::binary_dtype($name, inputs, self.scalar)
            }
            fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
                super::shape::broadcast(inputs)
            }
            fn name(&self) -> &'static str {
                $name
            }
            fn describe(&self) -> String {
                self.scalar.map(|s| format!("other={s}")).unwrap_or_default()
            }
            fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
                match self.scalar {
                    Some(s) => {
                        let f: fn(&tch::Tensor, Scalar) -> Result<tch::Tensor, tch::TchError> = $scalar_eager;
                        f(t[0], s)
                    }
                    None => t[0].$eager(t[1]),
                }
            }
            fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
                let out = cx.output_meta(0).dtype;
                let a = emit::input_as(cx, 0, out);
                let b = match self.scalar {
                    Some(s) => lowering::scalar(cx, out, s),
                    None => emit::input_as(cx, 1, out),
                };
                let op_type = if out == DType::Bool { bool_form($onnx) } else { $onnx };
                emit::one(cx.node(op_type, &[a, b], vec![]))
            }
        }

        const $doc: OpDoc = OpDoc { name: $name, methods: concat!("`", stringify!($method), "`", $also) };

        impl Tensor {
            #[doc = concat!("Elementwise `", $name, "` with broadcasting; `other` is a tensor or a Rust number.")]
            #[track_caller]
            pub fn $method<'a>(&self, other: impl Into<Operand<'a>>) -> Tensor {
                match other.into() {
                    Operand::Scalar(s) => record($ty { scalar: Some(s) }, &[self]),
                    Operand::Tensor(o) => record($ty { scalar: None }, &[self, o]),
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

binary_op!(Add, ADD, "add", "Add", add, ", `add_scalar`, `+`", f_add, |t, s| t.f_add_scalar(s.to_tch_scalar()));
binary_op!(Sub, SUB, "sub", "Sub", sub, ", `sub_scalar`, `-`", f_sub, |t, s| t.f_sub_scalar(s.to_tch_scalar()));
binary_op!(Mul, MUL, "mul", "Mul", mul, ", `mul_scalar`, `*`", f_mul, |t, s| t.f_mul_scalar(s.to_tch_scalar()));
binary_op!(Div, DIV, "div", "Div", div, ", `div_scalar`, `/`", f_div, |t, s| t.f_div_scalar(s.to_tch_scalar()));
binary_op!(Pow, POW, "pow", "Pow", pow, ", `pow_tensor_scalar`, `pow_tensor_`", f_pow, |t, s| t.f_pow_tensor_scalar(s.to_tch_scalar()));
binary_op!(Minimum, MINIMUM, "minimum", "Min", minimum, "", f_minimum, |t, s| t.f_minimum(&s.tensor_next_to(t)?));
binary_op!(Maximum, MAXIMUM, "maximum", "Max", maximum, "", f_maximum, |t, s| t.f_maximum(&s.tensor_next_to(t)?));

pub(super) const DOCS: &[OpDoc] = &[ADD, SUB, MUL, DIV, POW, MINIMUM, MAXIMUM];

impl Tensor {
    /// tch's name for `add` with a number.
    #[track_caller]
    pub fn add_scalar(&self, other: impl Into<Scalar>) -> Tensor {
        record(Add { scalar: Some(other.into()) }, &[self])
    }

    /// tch's name for `sub` with a number.
    #[track_caller]
    pub fn sub_scalar(&self, other: impl Into<Scalar>) -> Tensor {
        record(Sub { scalar: Some(other.into()) }, &[self])
    }

    /// tch's name for `mul` with a number.
    #[track_caller]
    pub fn mul_scalar(&self, other: impl Into<Scalar>) -> Tensor {
        record(Mul { scalar: Some(other.into()) }, &[self])
    }

    /// tch's name for `div` with a number.
    #[track_caller]
    pub fn div_scalar(&self, other: impl Into<Scalar>) -> Tensor {
        record(Div { scalar: Some(other.into()) }, &[self])
    }

    /// tch's name for `pow` with a number exponent.
    #[track_caller]
    pub fn pow_tensor_scalar(&self, exponent: impl Into<Scalar>) -> Tensor {
        record(Pow { scalar: Some(exponent.into()) }, &[self])
    }

    /// tch's name for `pow` with a tensor exponent.
    #[track_caller]
    pub fn pow_tensor_(&self, exponent: &Tensor) -> Tensor {
        record(Pow { scalar: None }, &[self, exponent])
    }
}
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
