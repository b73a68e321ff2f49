//! Recording: the traced [`Tensor`](tensor::Tensor), the per-thread session every op records
//! through, captured constants, guards (reads of traced values), tracing a closure, and replay.

pub(crate) mod constant;
pub mod placeholder;
pub(crate) mod read;
pub(crate) mod replay;
pub(crate) mod session;
pub(crate) mod tensor;
pub(crate) mod trace;
