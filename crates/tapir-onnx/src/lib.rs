//! Lowers a captured [`tapir_graph::Graph`] to an ONNX model and writes it.
//!
//! - [`proto`]: prost messages generated from the project's `proto/onnx.proto`.
//! - [`lower`]: the lowering context that implements [`tapir_graph::Emit`] and turns each
//!   recorded op into ONNX nodes for the requested opset.
//! - [`write`]: the streaming writer: initializer bytes go from the tensors to the sink once,
//!   never through an intermediate protobuf buffer; files are written to a temporary name and
//!   renamed.

mod fast_hash;
mod fold;
mod half;
pub mod lower;
mod options;
#[rustfmt::skip]
mod schemas;
mod validate;
pub mod write;

/// ONNX protobuf messages (the subset in `proto/onnx.proto`).
#[allow(missing_docs, clippy::all, missing_debug_implementations)]
pub mod proto {
    include!(concat!(env!("OUT_DIR"), "/onnx.rs"));
}

pub use fold::Optimizations;
pub use half::HalfPrecision;
pub use lower::{lower, Lowered};
pub use options::{
    ir_version_for_opset, ExportOptions, ExternalData, LoweringFn, Lowerings, EXTERNAL_DATA_MIN_BYTES, MAX_OPSET,
    MIN_OPSET, PROTOBUF_LIMIT,
};
pub use write::{prepare, save, to_bytes};

use tapir_graph::{LowerError, SourceLocation};

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// An op cannot be expressed at the requested opset.
    #[error("{source} (recorded at {location})")]
    Lowering { source: LowerError, location: LocationText },
    /// The requested opset is outside what tapir lowers to.
    #[error("opset {opset} is not supported: tapir exports opsets {MIN_OPSET} to {MAX_OPSET}")]
    UnsupportedOpset { opset: i64 },
    /// The graph has no outputs, or no ops and no outputs.
    #[error("the graph is empty: the traced closure returned no tensor")]
    EmptyGraph,
    /// A captured tensor changed dtype or shape between trace and export (for example
    /// `VarStore::half`, or loading a checkpoint of another dtype): the graph was built for the
    /// recorded type. Trace again after changing the model.
    #[error("captured tensor `{name}` (first used at {location}) was {recorded} when traced and is {now} now: trace the model again after changing its weights' dtype or shape")]
    ConstantChanged { name: String, recorded: String, now: String, location: LocationText },
    /// The model does not fit in one protobuf message (2 GiB) and cannot be written inline.
    #[error("the model takes {bytes} bytes, over protobuf's 2 GiB limit: save it to a file with external data (ExportOptions::external_data = Auto or Always)")]
    TooLarge { bytes: u64 },
    /// The export options contradict themselves or name something that does not exist.
    #[error("invalid export options: {reason}")]
    InvalidOptions { reason: String },
    /// Writing the model failed; no file is left at the destination.
    #[error("writing {path}: {source}")]
    Io { path: String, source: std::io::Error },
}

/// A source location for messages, or `<unknown location>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocationText(pub Option<SourceLocation>);

impl std::fmt::Display for LocationText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(l) => write!(f, "{l}"),
            None => f.write_str("<unknown location>"),
        }
    }
}
