//! # tapir: trace Rust model code written on tch into ONNX
//!
//! Write the model against [`Tensor`] (a wrapper over `tch::Tensor` whose ops run eagerly), run it
//! once under [`trace`], and save the recorded graph as ONNX:
//!
//! ```
//! use tapir::{trace, ExportOptions, Tensor};
//! # fn main() -> Result<(), tapir::Error> {
//! let w = tch::Tensor::randn([4, 3], (tch::Kind::Float, tch::Device::Cpu));
//! let model = |x: &Tensor| x.linear(&Tensor::from(&w), None).relu();
//!
//! let input = tch::Tensor::randn([2, 3], (tch::Kind::Float, tch::Device::Cpu));
//! let traced = trace(|x| model(x), &input)?;
//! assert_eq!(traced.graph().op_histogram().len(), 2); // linear, relu
//! let bytes = traced.to_onnx_bytes(&ExportOptions::default())?;
//! assert!(!bytes.is_empty());
//! # Ok(())
//! # }
//! ```
//!
//! What a trace records, what collapses, and how each error reads: `docs/architecture.md`.

mod check;
#[cfg(feature = "testing")]
pub mod testing;
mod traced;

pub use check::{within_tolerance, CheckOptions, CheckReport, Divergence};
pub use tapir_capture::ops::{embedding, OpDoc, CATALOG};
pub use tapir_capture::{
    enter_scope, enter_scope_path, is_tracing, CaptureError, GuardPolicy, IntoOutputs, Operand, Scalar, ScopeGuard,
    Tensor,
};
pub use tapir_graph::{DType, Graph, Guard, SourceLocation, TensorMeta};
pub use tapir_onnx::{ExportError, ExportOptions, ExternalData, MAX_OPSET, MIN_OPSET};
pub use traced::{trace, trace_n, Traced, Tracer};

/// Re-exports of the layers beneath the facade, for tools and tests.
pub mod internals {
    pub use tapir_capture as capture;
    pub use tapir_graph as graph;
    pub use tapir_onnx as onnx;
}

/// Every error tapir returns.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Tracing failed: an op failed or cannot be traced, a misuse of the tracing API.
    #[error(transparent)]
    Capture(#[from] CaptureError),
    /// Export failed: no lowering at the opset, an I/O error.
    #[error(transparent)]
    Export(#[from] ExportError),
}

/// `docs/supported-ops.md`, generated from [`CATALOG`] (a test keeps the file current).
pub fn supported_ops_markdown() -> String {
    let mut s = String::from(
        "# Supported ops\n\n\
         Generated from `tapir::CATALOG` by `tapir::supported_ops_markdown()`; the test\n\
         `supported_ops_doc_is_current` fails when this file is stale (rerun it with\n\
         `TAPIR_BLESS=1` to rewrite it). How PyTorch's own OpInfo samples fare through each op, and\n\
         the share of them each op can express: `docs/opinfo.md`.\n\n",
    );
    s += &format!(
        "Every op lowers at every opset from {MIN_OPSET} to {MAX_OPSET}; where the ONNX form depends on the opset the\n\
         column says which.\n\n| op | tapir methods | ONNX |\n| --- | --- | --- |\n"
    );
    for d in CATALOG {
        s += &format!("| `{}` | {} | {} |\n", d.name, d.methods, d.onnx);
    }
    s
}
