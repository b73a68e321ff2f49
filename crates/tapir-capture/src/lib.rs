//! The traced tensor: ops run eagerly through tch and, while a trace is active on the thread,
//! append themselves to a tape that becomes a [`tapir_graph::Graph`].
//!
//! Every op lives in its own file under `ops/`, defined once through [`define::OpDef`]: its
//! attributes, one eager rule (tracing and replay), its ONNX lowering and its user-facing
//! methods; `ops::catalog()` lists them. Recording (the tensor type, the session and its tape,
//! captured constants, guards, replay) is under `record/`.

pub mod define;
mod error;
mod indexing;
mod inplace;
pub mod kind;
mod module;
pub mod ops;
mod record;

pub(crate) use record::{constant, replay, session, tensor};

pub use error::CaptureError;
pub use indexing::{IndexOp, Indexer, NewAxis};
pub use module::{func, func_t, Func, FuncT, Module, ModuleT};
pub use ops::{IntList, Operand};
pub use record::constant::tensor_data;
pub use record::placeholder::{is_placeholder, placeholder};
pub use record::trace::{trace_with, Captured, Dim, DynamicDim, IntoOutputs, TraceSpec};
pub use replay::{dim_sizes, replay};
pub use session::{enter_scope, enter_scope_path, is_tracing, named_constant, named_slice, GuardPolicy, ScopeGuard};
pub use tapir_graph::{SymDims, SymInt};
pub use tensor::{Scalar, Tensor};
