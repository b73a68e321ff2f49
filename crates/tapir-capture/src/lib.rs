//! The traced tensor: ops run eagerly through tch and, while a trace is active on the thread,
//! append themselves to a tape that becomes a [`tapir_graph::Graph`].
//!
//! Every op lives in its own file under `ops/` with its attributes, eager call, ONNX lowering and
//! user-facing method; `ops::CATALOG` lists them (and generates `docs/supported-ops.md`).

mod constant;
mod error;
pub mod kind;
pub mod ops;
mod read;
mod replay;
mod session;
mod tensor;
mod trace;

pub use error::CaptureError;
pub use ops::Operand;
pub use replay::replay;
pub use session::{enter_scope, enter_scope_path, is_tracing, GuardPolicy, ScopeGuard};
pub use tensor::{Scalar, Tensor};
pub use trace::{trace_with, Captured, IntoOutputs, TraceSpec};
