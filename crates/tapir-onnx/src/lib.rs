//! Lowers a captured [`tapir_graph::Graph`] to an ONNX model and writes it.
//!
//! - [`proto`]: prost messages generated from the project's `proto/onnx.proto`.
//! - [`lower`]: the lowering context that implements [`tapir_graph::Emit`] and turns each
//!   recorded op into ONNX nodes for the requested opset.
//! - [`write`]: the streaming writer: initializer bytes go from the tensors to the sink once,
//!   never through an intermediate protobuf buffer; files are written to a temporary name and
//!   renamed.

pub mod lower;
mod options;
pub mod write;

/// ONNX protobuf messages (the subset in `proto/onnx.proto`).
#[allow(missing_docs, clippy::all, missing_debug_implementations)]
pub mod proto {
    include!(concat!(env!("OUT_DIR"), "/onnx.rs"));
}

pub use lower::{lower, Lowered};
pub use options::{ir_version_for_opset, ExportOptions, MAX_OPSET, MIN_OPSET};
pub use write::{save, to_bytes};

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
