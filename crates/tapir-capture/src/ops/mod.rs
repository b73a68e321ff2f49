//! The ops: one file per op (elementwise families share a file of one-line rows), and the
//! lowering helpers several ops share ([`lowering`]).
//!
//! Each file defines its op once, as a type implementing [`OpDef`]: the attributes as typed
//! fields, one eager rule (used by tracing and replay), the ONNX lowering at every opset from
//! `MIN_OPSET` up, its catalog rows ([`OpDoc`]) and the `#[track_caller]` methods users call on
//! [`Tensor`]. The `ops!` list below is the only other place an op is named.
//!
//! Adding an op: a file here, its name in the `ops!` list, a test row in `tests/ops.rs`.

use crate::tensor::{Scalar, Tensor};
pub use tapir_graph::{SymDims, SymInt};

pub use crate::define::OpDef;

pub mod dtype;
pub mod lowering;
pub mod shape;

/// One catalog row: an op name as recorded and the tapir methods that record it. The ONNX ops
/// each one lowers to, per opset, are observed from its lowering by the op table
/// (`tests/ops.rs`), which writes `docs/supported-ops.md`.
#[derive(Debug, Clone, Copy)]
pub struct OpDoc {
    pub name: &'static str,
    pub methods: &'static str,
}

/// Declares the op files, in the order of `docs/supported-ops.md`; each exports `DOCS`, its
/// catalog rows. The files are public modules: an op's type is `tapir::ops::<file>::<Type>`
/// (`tapir::ops::gelu::Gelu`), for lowering overrides and graph passes that downcast to it.
macro_rules! ops {
    ($($file:ident),* $(,)?) => {
        $(pub mod $file;)*
        const LISTS: &[&[OpDoc]] = &[$($file::DOCS),*];
    };
}

ops! {
    // elementwise arithmetic and math
    binary, div_mode, remainder, unary, clamp, lerp, math, special_values,
    // comparisons and logic
    compare, logical, where_,
    // activations
    activation, gelu, glu, prelu, softmax,
    // linear algebra
    matmul, addmm, linear, outer, einsum,
    // shapes and indexing
    reshape, permute, squeeze, unsqueeze, cat, stack, split, slice, select, index, gather, scatter,
    index_put, expand, repeat, repeat_interleave, flip, roll, trilu, pad, pixel_shuffle, one_hot,
    // reductions, scans and sorting
    reduce, any_all, var, norm, logsumexp, minmax_dim, arg_reduce, cumsum, sort,
    // network layers
    conv, conv_transpose, pool1d, max_pool2d, avg_pool2d, adaptive_avg_pool2d, adaptive_pool,
    upsample, batch_norm, instance_norm, layer_norm, group_norm, rms_norm, embedding, attention,
    dropout, rnn,
    // types and constants
    cast, full_like, factory, full, arange,
}

/// Every op tapir records, in the order of `docs/supported-ops.md`.
pub fn catalog() -> impl Iterator<Item = &'static OpDoc> {
    LISTS.iter().flat_map(|list| list.iter())
}

pub use embedding::embedding;

/// A list of dimensions or sizes held by an op (inline up to four, the common case).
pub type Dims = smallvec::SmallVec<[i64; 4]>;

/// A list of integers as tch takes them (shapes, dims, repeats): one number, an array, a slice
/// or a `Vec` of `i64`s, or a tuple (`x.view((b, t, h, d))`), whose elements may be sizes
/// ([`SymInt`]) mixed with `i64`s: `(b, t, 4, c / 4)`. A list of sizes is a tuple or a
/// [`SymDims`] (arrays stay `i64`-only, so that `[]` keeps meaning "no integers").
pub trait IntList {
    /// The integers, in order. A dynamic size among them is read as a plain integer, which
    /// fails a trace with dynamic dimensions (see [`SymInt::to_i64`]): ops whose arguments may
    /// be dynamic take [`IntList::to_sym_dims`].
    #[track_caller]
    fn to_dims(&self) -> Dims {
        self.to_sym_dims().iter().map(|d| d.to_i64()).collect()
    }
    /// The integers as sizes.
    fn to_sym_dims(&self) -> SymDims;
}

impl IntList for i64 {
    fn to_dims(&self) -> Dims {
        smallvec::smallvec![*self]
    }
    fn to_sym_dims(&self) -> SymDims {
        smallvec::smallvec![SymInt::from(*self)]
    }
}
impl IntList for SymInt {
    fn to_sym_dims(&self) -> SymDims {
        smallvec::smallvec![*self]
    }
}
impl IntList for [i64] {
    fn to_dims(&self) -> Dims {
        self.iter().copied().collect()
    }
    fn to_sym_dims(&self) -> SymDims {
        self.iter().map(|&d| SymInt::from(d)).collect()
    }
}
impl<const N: usize> IntList for [i64; N] {
    fn to_dims(&self) -> Dims {
        self.iter().copied().collect()
    }
    fn to_sym_dims(&self) -> SymDims {
        self.iter().map(|&d| SymInt::from(d)).collect()
    }
}
impl IntList for Vec<i64> {
    fn to_dims(&self) -> Dims {
        self.iter().copied().collect()
    }
    fn to_sym_dims(&self) -> SymDims {
        self.iter().map(|&d| SymInt::from(d)).collect()
    }
}
impl IntList for Dims {
    fn to_dims(&self) -> Dims {
        self.clone()
    }
    fn to_sym_dims(&self) -> SymDims {
        self.iter().map(|&d| SymInt::from(d)).collect()
    }
}
impl IntList for SymDims {
    fn to_sym_dims(&self) -> SymDims {
        self.clone()
    }
}
impl<T: IntList + ?Sized> IntList for &T {
    #[track_caller]
    fn to_dims(&self) -> Dims {
        (**self).to_dims()
    }
    fn to_sym_dims(&self) -> SymDims {
        (**self).to_sym_dims()
    }
}

/// `IntList` for tuples of `i64`s and sizes, mixed (one type parameter per element).
macro_rules! tuple_int_list {
    ($($v:ident),+) => {
        #[allow(non_camel_case_types)]
        impl<$($v: Into<SymInt> + Copy),+> IntList for ($($v,)+) {
            fn to_sym_dims(&self) -> SymDims {
                let ($($v,)+) = *self;
                smallvec::smallvec![$($v.into()),+]
            }
        }
    };
}
tuple_int_list!(a);
tuple_int_list!(a, b);
tuple_int_list!(a, b, c);
tuple_int_list!(a, b, c, d);
tuple_int_list!(a, b, c, d, e);
tuple_int_list!(a, b, c, d, e, f);

/// An operand of a binary op: a tensor or a Rust number (see [`Scalar`] for its typing).
#[derive(Debug, Clone, Copy)]
pub enum Operand<'a> {
    Tensor(&'a Tensor),
    Scalar(Scalar),
}

impl<'a> From<&'a Tensor> for Operand<'a> {
    fn from(t: &'a Tensor) -> Self {
        Operand::Tensor(t)
    }
}

macro_rules! scalar_operand {
    ($($t:ty),*) => {$(
        impl From<$t> for Operand<'_> {
            fn from(v: $t) -> Self {
                Operand::Scalar(v.into())
            }
        }
    )*};
}
scalar_operand!(f64, f32, i64, i32, bool);

impl<'a> Operand<'a> {
    /// The operand as a tensor next to `like` (scalars become literal constants).
    #[track_caller]
    pub(crate) fn tensor_next_to(self, like: &Tensor) -> std::borrow::Cow<'a, Tensor> {
        match self {
            Operand::Tensor(t) => std::borrow::Cow::Borrowed(t),
            Operand::Scalar(s) => std::borrow::Cow::Owned(like.scalar_like(s)),
        }
    }
}

/// `t`, or a literal of `shape` filled with `fill` (an absent affine weight or bias).
#[track_caller]
pub(crate) fn or_filled<T: std::borrow::Borrow<Tensor>>(
    t: Option<T>,
    shape: &[i64],
    like: &Tensor,
    fill: f64,
    op: &'static str,
) -> Tensor {
    use tapir_graph::SourceLocation;
    match t {
        Some(t) => t.borrow().shallow_clone(),
        None => {
            let location = SourceLocation::caller();
            match tch::Tensor::f_full(shape, fill, (like.kind(), like.device())) {
                Ok(v) => crate::session::record_literal(v, op, location),
                Err(e) => crate::session::failed(std::sync::Arc::new(crate::CaptureError::Op {
                    op,
                    location,
                    message: crate::session::torch_message(&e),
                })),
            }
        }
    }
}

/// A tensor carrying an argument error for `op` at the caller's line (an argument torch would
/// reject, caught before the eager call).
#[track_caller]
pub(crate) fn bad_argument(op: &'static str, message: String) -> Tensor {
    let location = tapir_graph::SourceLocation::caller();
    Tensor::from_error(crate::CaptureError::Op { op, location, message })
}
