//! Errors raised while tracing.

use std::sync::Arc;
use tapir_graph::SourceLocation;

/// Why a trace, or a traced op, failed. Every variant names the op and where it was called.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CaptureError {
    /// tch refused the op (bad shapes, bad arguments).
    #[error("op `{op}` failed at {location}: {message}")]
    Op { op: &'static str, location: SourceLocation, message: String },
    /// The op produced or consumed a dtype that ONNX cannot hold (complex, quantized, float8).
    #[error("op `{op}` at {location}: dtype {kind} cannot be exported to ONNX")]
    UnsupportedDtype { op: &'static str, location: SourceLocation, kind: String },
    /// The op cannot be traced faithfully (random ops, training-mode layers, in-place updates).
    #[error("op `{op}` at {location} cannot be traced: {reason}")]
    Untraceable { op: &'static str, location: SourceLocation, reason: String },
    /// A tensor recorded by another trace (an earlier one, or one on another thread) was used.
    #[error("op `{op}` at {location} used a tensor recorded by a different trace")]
    ForeignTensor { op: &'static str, location: SourceLocation },
    /// `trace` was called while a trace is already active on this thread.
    #[error("a trace is already active on this thread (nested trace at {location})")]
    NestedTrace { location: SourceLocation },
    /// The traced closure returned a tensor that the trace did not record.
    #[error("output {index} ({name}) was not computed inside the trace: return a tensor derived from the inputs or from ops called in the closure")]
    UntracedOutput { index: usize, name: String },
    /// The traced closure returned no tensor.
    #[error("the traced closure returned no tensor: nothing to export")]
    EmptyTrace,
    /// Two graph inputs or outputs would carry the same name, or a name is empty: ONNX requires
    /// every graph input and output name to be distinct and non-empty.
    #[error("trace at {location}: {what} name `{name}` {problem}")]
    BadName { what: &'static str, name: String, problem: &'static str, location: SourceLocation },
    /// Replay could not run an op of the graph.
    #[error("replay of op `{op}` (recorded at {location}) failed: {message}")]
    Replay { op: &'static str, location: SourceLocation, message: String },
    /// A replay input does not match the graph's input.
    #[error("replay input {index}: {message}")]
    ReplayInput { index: usize, message: String },
    /// The guard policy is `Error` and the traced code read a traced value.
    #[error("guard at {location}: {read} of `{op}` observed {observed}; the trace would be specialized to this value (guard policy: error)")]
    Guard { read: &'static str, op: &'static str, observed: String, location: SourceLocation },
    /// A random op (randn, rand, randint) was called inside a trace.
    #[error("random op `{op}` at {location} inside a trace: its values would be frozen into the model; create random tensors outside the trace")]
    RandomInTrace { op: &'static str, location: SourceLocation },
    /// A dimension declared dynamic cannot stay dynamic: a size read as a plain integer, a
    /// size condition that holds only at the traced value, an op without a dynamic lowering.
    #[error("dynamic shapes: {message} (at {location})")]
    Dynamic { message: String, location: SourceLocation },
    /// A dynamic dimension declaration is wrong (unknown input, axis out of range, size too small).
    #[error("dynamic dimension `{dim}`: {message}")]
    BadDim { dim: String, message: String },
    /// A shape-only trace cannot run this: an op without a shape or dtype rule, or code that
    /// reads a traced value (there is none to read).
    #[error("op `{op}` at {location} cannot run in a shape-only trace: {reason}; trace with real data instead")]
    ShapeOnly { op: &'static str, location: SourceLocation, reason: String },
    /// An earlier error, carried by a tensor that depends on the failed op.
    #[error("{0}")]
    Carried(Arc<CaptureError>),
}

impl CaptureError {
    /// The original error, looking through [`CaptureError::Carried`].
    pub fn root(&self) -> &CaptureError {
        match self {
            CaptureError::Carried(inner) => inner.root(),
            other => other,
        }
    }
}
