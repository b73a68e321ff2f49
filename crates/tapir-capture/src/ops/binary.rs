//! Elementwise binary arithmetic with broadcasting and PyTorch type promotion: add, sub, mul,
//! div (true division), pow, minimum, maximum. Rust numbers work on either side.
//!
//! ONNX: Add, Sub, Mul, Div, Pow, Min, Max (all opset 13+ for these types:
//! https://onnx.ai/onnx/operators/onnx__Add.html). ONNX requires both inputs of one type (Pow
//! aside), so inputs are cast to the output dtype first; torch's true division of integers is a
//! float division after that cast.

use super::{OpDoc, Operand};
use crate::session::record1;
use crate::tensor::Tensor;
use tapir_graph::{emit, Emit, LowerError, Op, Outputs, SourceLocation};

macro_rules! binary_op {
    ($ty:ident, $doc:ident, $name:literal, $onnx:literal, $method:ident, $eager:ident) => {
        #[derive(Debug, Clone, PartialEq)]
        pub struct $ty;

        impl Op for $ty {
            tapir_graph::op_name!($name);
            fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
                let out = cx.output_meta(0).dtype;
                let a = emit::input_as(cx, 0, out);
                let b = emit::input_as(cx, 1, out);
                emit::one(cx.node($onnx, &[a, b], vec![]))
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
                let other = other.into().tensor_next_to(self);
                record1($ty, &[self, &other], location, |t| t[0].$eager(t[1]))
            }
        }
    };
}

binary_op!(Add, ADD, "add", "Add", add, f_add);
binary_op!(Sub, SUB, "sub", "Sub", sub, f_sub);
binary_op!(Mul, MUL, "mul", "Mul", mul, f_mul);
binary_op!(Div, DIV, "div", "Div", div, f_div);
binary_op!(Pow, POW, "pow", "Pow", pow, f_pow);
binary_op!(Minimum, MINIMUM, "minimum", "Min", minimum, f_minimum);
binary_op!(Maximum, MAXIMUM, "maximum", "Max", maximum, f_maximum);

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
        self.neg()
    }
}

impl std::ops::Neg for Tensor {
    type Output = Tensor;
    #[track_caller]
    fn neg(self) -> Tensor {
        (&self).neg()
    }
}
