//! tapir's graph IR: element types, observed tensor metadata, the [`Op`] trait and its lowering
//! interface, and the captured [`Graph`] on petgraph with its compact printed form.
//!
//! This crate knows neither tch nor protobuf: the capture layer fills graphs, the ONNX layer
//! implements [`Emit`] to lower them.

/// Graphviz DOT text: [`Graph::to_dot`], and the quoting and scope clusters it uses.
pub mod dot;
mod dtype;
mod graph;
mod meta;
mod op;
pub mod sym;

pub use dtype::{Category, DType};
pub use graph::{ConstOrigin, Edge, Graph, GraphDisplay, GraphOutput, Guard, Node, NodeKind, ValueRef};
pub use meta::{Shape, SourceLocation, TensorMeta};
pub use op::{emit, Attr, ConstData, Emit, LowerError, Op, Outputs, SliceOf, Sym, Weight, WeightSource};
pub use petgraph::stable_graph::NodeIndex;
pub use smallvec::{smallvec, SmallVec};
pub use sym::{SymDims, SymInt, SymTable};
