//! In-place methods (`fill_`, `zero_`, `masked_fill_`, `copy_`, `tril_`, `triu_`, `relu_`,
//! `add_`/`sub_`/`mul_`/`div_` and `+=`, `-=`, `*=`, `/=`), with tch's names and semantics.
//!
//! Outside a trace they are tch's in-place ops: the tensor's storage changes, and every view
//! of it sees the change, exactly as in tch. Inside a trace they are refused, with an error
//! naming the line and the out-of-place form to write instead (`x = x.masked_fill(&m, v)`):
//! an in-place write through one handle changes every view of the storage in tch, which a
//! recorded graph (where each value is computed once) would not follow, so recording it would
//! export a model that silently differs from the eager one wherever the tensor is aliased.
//! The refused tensor carries the error on, and the trace fails with it.

use crate::session::{failed, is_tracing};
use crate::tensor::{Scalar, Tensor};
use crate::CaptureError;
use std::sync::Arc;
use tapir_graph::SourceLocation;

impl Tensor {
    /// Runs `f` on the storage outside a trace; refuses inside one (see the module docs).
    #[track_caller]
    fn in_place(
        &mut self,
        op: &'static str,
        instead: &str,
        others: &[&Tensor],
        f: impl FnOnce(&mut tch::Tensor) -> Result<(), tch::TchError>,
    ) -> Tensor {
        let location = SourceLocation::caller();
        let carried = std::iter::once(&*self).chain(others.iter().copied()).find_map(|t| t.error().cloned());
        if let Some(e) = carried {
            *self = Tensor::from_error(e);
            return self.shallow_clone();
        }
        if is_tracing() {
            let reason = format!(
                "in-place ops are not traced (a write through one view changes every view of the storage in tch, which a graph does not follow): write `{instead}`"
            );
            *self = failed(Arc::new(CaptureError::Untraceable { op, location, reason }));
            return self.shallow_clone();
        }
        match f(&mut self.inner) {
            Ok(()) => self.shallow_clone(),
            Err(e) => {
                let message = crate::session::torch_message(&e);
                *self = failed(Arc::new(CaptureError::Op { op, location, message }));
                self.shallow_clone()
            }
        }
    }

    /// Fills with `value` in place.
    #[track_caller]
    pub fn fill_(&mut self, value: impl Into<Scalar>) -> Tensor {
        let v = value.into();
        self.in_place("fill_", "x = x.full_like(value)", &[], |t| t.f_fill_(v.to_tch_scalar()).map(drop))
    }

    /// Zeros in place.
    #[track_caller]
    pub fn zero_(&mut self) -> Tensor {
        self.in_place("zero_", "x = x.zeros_like()", &[], |t| t.f_zero_().map(drop))
    }

    /// `value` where `mask` holds, in place.
    #[track_caller]
    pub fn masked_fill_(&mut self, mask: &Tensor, value: impl Into<Scalar>) -> Tensor {
        let (m, v) = (mask.inner.shallow_clone(), value.into());
        self.in_place("masked_fill_", "x = x.masked_fill(&mask, value)", &[mask], |t| {
            t.f_masked_fill_(&m, v.to_tch_scalar()).map(drop)
        })
    }

    /// Copies `src`'s values into this tensor's storage (broadcasting, casting).
    #[track_caller]
    pub fn copy_(&mut self, src: &Tensor) -> Tensor {
        let s = src.inner.shallow_clone();
        let instead = "the new value built out of place (Tensor::cat of the kept and new parts, or where_self with a mask) and bound to x";
        self.in_place("copy_", instead, &[src], |t| t.f_copy_(&s))
    }

    /// Keeps the lower triangle in place.
    #[track_caller]
    pub fn tril_(&mut self, diagonal: i64) -> Tensor {
        self.in_place("tril_", "x = x.tril(diagonal)", &[], |t| t.f_tril_(diagonal).map(drop))
    }

    /// Keeps the upper triangle in place.
    #[track_caller]
    pub fn triu_(&mut self, diagonal: i64) -> Tensor {
        self.in_place("triu_", "x = x.triu(diagonal)", &[], |t| t.f_triu_(diagonal).map(drop))
    }

    /// ReLU in place.
    #[track_caller]
    pub fn relu_(&mut self) -> Tensor {
        self.in_place("relu_", "x = x.relu()", &[], |t| t.f_relu_().map(drop))
    }
}

macro_rules! arith_in_place {
    ($method:ident, $scalar:ident, $tensor:ident, $trait:ident, $fn:ident, $form:literal) => {
        impl Tensor {
            #[doc = concat!("`", stringify!($method), "` in place: `other` is a tensor or a Rust number.")]
            #[track_caller]
            pub fn $method<'a>(&mut self, other: impl Into<crate::ops::Operand<'a>>) -> Tensor {
                match other.into() {
                    crate::ops::Operand::Scalar(s) => {
                        self.in_place(stringify!($method), $form, &[], |t| t.$scalar(s.to_tch_scalar()).map(drop))
                    }
                    crate::ops::Operand::Tensor(o) => {
                        let o2 = o.inner.shallow_clone();
                        self.in_place(stringify!($method), $form, &[o], |t| t.$tensor(&o2).map(drop))
                    }
                }
            }
        }

        impl std::ops::$trait<&Tensor> for Tensor {
            #[track_caller]
            fn $fn(&mut self, rhs: &Tensor) {
                let _ = self.$method(rhs);
            }
        }

        impl std::ops::$trait<Tensor> for Tensor {
            #[track_caller]
            fn $fn(&mut self, rhs: Tensor) {
                let _ = self.$method(&rhs);
            }
        }

        impl std::ops::$trait<f64> for Tensor {
            #[track_caller]
            fn $fn(&mut self, rhs: f64) {
                let _ = self.$method(rhs);
            }
        }

        impl std::ops::$trait<i64> for Tensor {
            #[track_caller]
            fn $fn(&mut self, rhs: i64) {
                let _ = self.$method(rhs);
            }
        }
    };
}

arith_in_place!(add_, f_add_scalar_, f_add_, AddAssign, add_assign, "x = &x + other");
arith_in_place!(sub_, f_sub_scalar_, f_sub_, SubAssign, sub_assign, "x = &x - other");
arith_in_place!(mul_, f_mul_scalar_, f_mul_, MulAssign, mul_assign, "x = &x * other");
arith_in_place!(div_, f_div_scalar_, f_div_, DivAssign, div_assign, "x = &x / other");
