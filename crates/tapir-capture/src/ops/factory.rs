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
    /// A tensor of zeros: a constant, or (a size that depends on a dynamic dimension) an op
    /// whose shape the exported graph computes.
    #[track_caller]
    pub fn zeros(size: impl IntList, options: (tch::Kind, tch::Device)) -> Tensor {
        Tensor::full(size, 0i64, options)
    }

    /// A tensor of ones (see [`Tensor::zeros`]).
    #[track_caller]
    pub fn ones(size: impl IntList, options: (tch::Kind, tch::Device)) -> Tensor {
        Tensor::full(size, 1i64, options)
    }

    /// A tensor filled with `value` (a Rust number, exact in the constant: an int64 fill of an
    /// int64 tensor is not rounded through f64); see [`Tensor::zeros`] for dynamic sizes.
    #[track_caller]
    pub fn full(size: impl IntList, value: impl Into<crate::tensor::Scalar>, options: (tch::Kind, tch::Device)) -> Tensor {
        let (size, value) = (size.to_sym_dims(), value.into());
        if size.iter().any(|d| !d.is_static()) {
            let (kind, device) = options;
            return crate::define::record(super::full::Full { size, value, kind, device }, &[]);
        }
        let size = tapir_graph::sym::hints(&size);
        literal("full", tch::Tensor::f_full(size.as_slice(), value.to_tch_scalar(), options))
    }

    /// `0, 1, ..., end - 1`: a constant, or (an end that depends on a dynamic dimension) an op
    /// computing the range in the exported graph.
    #[track_caller]
    pub fn arange(end: impl Into<super::SymInt>, options: (tch::Kind, tch::Device)) -> Tensor {
        let end = end.into();
        if !end.is_static() {
            let (kind, device) = options;
            return crate::define::record(super::arange::Arange { end, kind, device }, &[]);
        }
        literal("arange", tch::Tensor::f_arange(end.hint(), options))
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
