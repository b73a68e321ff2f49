//! Factories inside a trace: zeros, ones, full, arange. Their values are known when recorded, so
//! they become constants (initializers) of the graph, not ops.

use super::{IntList, OpDoc};
use crate::session::{failed, record_literal};
use crate::tensor::Tensor;
use crate::CaptureError;
use std::sync::Arc;
use tapir_graph::SourceLocation;

/// Factories record constants, not ops: the row documents them.
pub(super) const DOCS: &[OpDoc] = &[OpDoc {
    name: "const",
    methods: "`Tensor::zeros`, `ones`, `full`, `arange`, `arange_start_step`, `from_slice` (initializers)",
}];

#[track_caller]
fn literal(op: &'static str, r: Result<tch::Tensor, tch::TchError>) -> Tensor {
    let location = SourceLocation::caller();
    match r {
        Ok(t) => record_literal(t, op, location),
        Err(e) => failed(Arc::new(CaptureError::Op { op, location, message: crate::session::torch_message(&e) })),
    }
}

impl Tensor {
    /// A tensor of zeros.
    #[track_caller]
    pub fn zeros(size: impl IntList, options: (tch::Kind, tch::Device)) -> Tensor {
        literal("zeros", tch::Tensor::f_zeros(size.to_dims().as_slice(), options))
    }

    /// A tensor of ones.
    #[track_caller]
    pub fn ones(size: impl IntList, options: (tch::Kind, tch::Device)) -> Tensor {
        literal("ones", tch::Tensor::f_ones(size.to_dims().as_slice(), options))
    }

    /// A tensor filled with `value` (a Rust number, exact in the constant: an int64 fill of an
    /// int64 tensor is not rounded through f64).
    #[track_caller]
    pub fn full(size: impl IntList, value: impl Into<crate::tensor::Scalar>, options: (tch::Kind, tch::Device)) -> Tensor {
        literal("full", tch::Tensor::f_full(size.to_dims().as_slice(), value.into().to_tch_scalar(), options))
    }

    /// `0, 1, ..., end - 1`.
    #[track_caller]
    pub fn arange(end: i64, options: (tch::Kind, tch::Device)) -> Tensor {
        literal("arange", tch::Tensor::f_arange(end, options))
    }

    /// `start, start + step, ...` below `end`.
    #[track_caller]
    pub fn arange_start_step(start: f64, end: f64, step: f64, options: (tch::Kind, tch::Device)) -> Tensor {
        literal("arange", tch::Tensor::f_arange_start_step(start, end, step, options))
    }

    /// A 1-D tensor holding `data`.
    #[track_caller]
    pub fn from_slice<T: tch::kind::Element>(data: &[T]) -> Tensor {
        literal("from_slice", tch::Tensor::f_from_slice(data))
    }
}

impl Tensor {
    /// Normal random values. Refused inside a trace (`CaptureError::RandomInTrace`): the values
    /// would be frozen into the model as a constant.
    #[track_caller]
    pub fn randn(size: impl IntList, options: (tch::Kind, tch::Device)) -> Tensor {
        random("randn", || tch::Tensor::f_randn(size.to_dims().as_slice(), options))
    }

    /// Uniform random values in `[0, 1)`. Refused inside a trace, like [`Tensor::randn`].
    #[track_caller]
    pub fn rand(size: impl IntList, options: (tch::Kind, tch::Device)) -> Tensor {
        random("rand", || tch::Tensor::f_rand(size.to_dims().as_slice(), options))
    }
}

#[track_caller]
fn random(op: &'static str, f: impl FnOnce() -> Result<tch::Tensor, tch::TchError>) -> Tensor {
    let location = SourceLocation::caller();
    if crate::session::is_tracing() {
        return failed(Arc::new(CaptureError::RandomInTrace { op, location }));
    }
    match f() {
        Ok(t) => Tensor::from(t),
        Err(e) => failed(Arc::new(CaptureError::Op { op, location, message: crate::session::torch_message(&e) })),
    }
}
