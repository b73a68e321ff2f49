//! # tapir: trace Rust model code written on tch into ONNX
//!
//! Write the model against [`Tensor`] (a wrapper over `tch::Tensor` whose ops run eagerly), run it
//! once under [`trace`], and save the recorded graph as ONNX:
//!
//! ```
//! use tapir::{trace, ExportOptions, Tensor};
//! # fn main() -> Result<(), tapir::Error> {
//! let w = tch::Tensor::randn([4, 3], (tch::Kind::Float, tch::Device::Cpu));
//! let model = |x: &Tensor| x.linear(&Tensor::from(&w), None::<&Tensor>).relu();
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
mod onnxruntime;
#[cfg(feature = "testing")]
pub mod testing;
mod traced;

pub use check::{CheckOptions, CheckReport, Divergence, Tolerance};
pub use tapir_capture::ops::{catalog, embedding, OpDoc};
pub use tapir_capture::{
    enter_scope, enter_scope_path, func, func_t, is_placeholder, is_tracing, named_constant, named_slice, placeholder,
    tensor_data, CaptureError, Dim, Func, FuncT, GuardPolicy, IndexOp, Indexer, IntList, IntoOutputs, Module, ModuleT,
    NewAxis, Operand, Scalar, ScopeGuard, Tensor,
};
pub use tapir_graph::{
    ConstData, DType, Graph, Guard, NodeKind, SliceOf, SourceLocation, SymInt, TensorMeta, ValueRef, Weight,
    WeightSource,
};
pub use tapir_onnx::{ExportError, ExportOptions, ExternalData, HalfPrecision, Optimizations, MAX_OPSET, MIN_OPSET};
pub use traced::{trace, trace_n, Traced, Tracer};

/// Defining an op: its attributes, eager rule and ONNX lowering in one type (see
/// `docs/custom-ops.md`). Built-in ops are defined the same way.
pub mod op {
    pub use tapir_capture::define::{record, EagerOutput, OpDef};
    pub use tapir_capture::ops::{dtype, lowering, shape, Dims};
    pub use tapir_graph::{emit, Attr, DType, Emit, LowerError, Op, Outputs, Sym, TensorMeta};
    pub use tapir_graph::{SymDims, SymInt};
    pub use tapir_onnx::{LoweringFn, Lowerings};
}

/// Conversions between tch kinds and tapir dtypes.
pub use tapir_capture::kind;
/// The built-in ops' definitions (attributes as public fields), for lowering overrides
/// (`op.as_any().downcast_ref::<tapir::ops::gelu::Gelu>()`) and graph passes.
pub use tapir_capture::ops;

/// Dynamic shapes: declaring dimensions, what stays symbolic, size guards, the errors
/// (`docs/dynamic-shapes.md`; its examples run as doctests).
#[doc = include_str!("../../../docs/dynamic-shapes.md")]
pub mod dynamic_shapes {}

/// Graphviz DOT helpers ([`Traced::to_dot`] uses them; so does `tapir graph` for ONNX files).
pub use tapir_graph::dot;

/// The ONNX side, for tools and tests that read what tapir writes: the protobuf messages, and
/// the lowered model before it is encoded ([`onnx::prepare`]: lowered, optimized, converted).
pub mod onnx {
    pub use tapir_onnx::{lower, prepare, proto, Lowered};
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
    /// [`Traced::bind_weights`] could not bind every weight: each problem names the weight.
    #[error("binding the weights:{}", problems.iter().map(|p| format!("\n  - {p}")).collect::<String>())]
    Weights { problems: Vec<String> },
}
