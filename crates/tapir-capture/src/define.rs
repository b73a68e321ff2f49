//! How an op is defined: one type implementing [`OpDef`] holds the op's attributes, its eager
//! rule (run by tracing and by replay alike) and its ONNX lowering. Built-in ops and users' own
//! ops are defined the same way and recorded with [`record`].
//!
//! ```
//! use tapir_capture::define::{record, OpDef};
//! use tapir_capture::Tensor;
//! use tapir_graph::{emit, Emit, LowerError, Outputs};
//!
//! /// `x * sigmoid(alpha * x)` (a parameterized swish).
//! #[derive(Debug)]
//! struct Swish { alpha: f64 }
//!
//! impl OpDef for Swish {
//!     type Output = tch::Tensor;
//!     fn name(&self) -> &'static str { "swish" }
//!     fn eager(&self, x: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
//!         x[0].f_mul(&x[0].f_mul_scalar(self.alpha)?.f_sigmoid()?)
//!     }
//!     fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
//!         let x = cx.input(0);
//!         let dtype = cx.output_meta(0).dtype;
//!         let alpha = cx.const_scalar(dtype, self.alpha);
//!         let ax = cx.node("Mul", &[x, alpha], vec![]);
//!         let s = cx.node("Sigmoid", &[ax], vec![]);
//!         emit::one(cx.node("Mul", &[x, s], vec![]))
//!     }
//! }
//!
//! let x = Tensor::from(tch::Tensor::from_slice(&[-1.0f32, 0.0, 2.0]));
//! let y: Tensor = record(Swish { alpha: 1.5 }, &[&x]);
//! assert!((y.to_tch().unwrap().double_value(&[2]) - 2.0 / (1.0 + (-3.0f64).exp())).abs() < 1e-6);
//! ```

use crate::replay::run_eager;
use crate::session;
use crate::tensor::Tensor;
use smallvec::SmallVec;
use std::any::Any;
use std::fmt;
use tapir_graph::{Emit, LowerError, Op, Outputs, SourceLocation, SymDims, TensorMeta};

/// One op: its attributes (the implementing type's fields), its eager rule and its lowering.
///
/// Contract: [`OpDef::eager`] is the op's meaning. Tracing runs it on the traced inputs and
/// records the op; replay runs it again on new inputs; [`OpDef::lower`] must compute the same
/// values in ONNX at `cx.opset()`, with the output dtypes the eager rule produced (the exporter
/// checks them), or return a [`LowerError`] saying why it cannot. Neither may panic.
pub trait OpDef: fmt::Debug + Send + Sync + 'static {
    /// What the eager rule returns: one tch tensor, a tuple of two or three, or a `Vec`.
    type Output: EagerOutput;

    /// Stable snake_case name: the catalog's, the printed graph's, the errors'.
    fn name(&self) -> &'static str;

    /// Runs the op on tch tensors (the inputs in the order given to [`record`]).
    fn eager(&self, inputs: &[&tch::Tensor]) -> Result<Self::Output, tch::TchError>;

    /// Emits the ONNX nodes computing the op and returns one symbol per output.
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError>;

    /// Attributes for the printed graph (`dim=1, keepdim`); empty when the op has none.
    fn describe(&self) -> String {
        String::new()
    }

    /// The shapes of the outputs as sizes, from the inputs' (symbolic where a dimension is
    /// dynamic) and the op's own sizes: the op's shape rule, run only by traces with dynamic
    /// dimensions. Write it with ordinary arithmetic on [`SymInt`](tapir_graph::SymInt)s; a
    /// condition the op needs between sizes is [`SymInt::same_as`](tapir_graph::SymInt::same_as).
    /// `None` (the default): every output size of an op with a dynamic input is read from the
    /// op's result at run time (exact, but opaque to guards and names).
    fn shape(&self, inputs: &[SymDims]) -> Option<Vec<SymDims>> {
        let _ = inputs;
        None
    }

    /// The dtypes of the outputs from the inputs' dtypes and ranks (`inputs` hold the traced
    /// sizes): the op's dtype rule, which with [`OpDef::shape`] is what a shape-only trace runs
    /// instead of [`OpDef::eager`]. One dtype per output, or one for every output. Helpers:
    /// [`crate::ops::dtype`]. Debug builds check it against every eager result of a trace.
    /// `None` (the default): no rule, so the op cannot be traced shape-only.
    fn dtypes(&self, inputs: &[TensorMeta]) -> Option<crate::ops::dtype::DTypes> {
        let _ = inputs;
        None
    }

    /// How many outputs the op has. Needed only for `Vec` outputs, whose count the type does
    /// not say: a failed op still returns this many (failed) tensors, so indexing them is safe.
    fn num_outputs(&self) -> usize {
        Self::Output::ARITY.unwrap_or(1)
    }
}

/// The result of an eager rule, and what [`record`] returns for it.
pub trait EagerOutput: Sized + 'static {
    /// The traced counterpart ([`Tensor`], a tuple of them, `Vec<Tensor>`).
    type Traced;
    /// The number of tensors, when the type fixes it.
    const ARITY: Option<usize>;
    /// The tensors, in output order.
    fn into_tensors(self) -> SmallVec<[tch::Tensor; 3]>;
    /// Builds the traced result from exactly as many tensors as the op has outputs.
    fn from_tensors(tensors: impl Iterator<Item = Tensor>) -> Self::Traced;
    /// The result outside a trace: each tensor wrapped as eager, with nothing collected on the
    /// way (the path every op takes when no trace is active).
    fn into_eager(self) -> Self::Traced;
}

fn eager(t: tch::Tensor) -> Tensor {
    Tensor::from_state(t, crate::tensor::State::Eager)
}

/// A placeholder for a missing output; unreachable while `from_tensors` gets the right count.
fn missing() -> Tensor {
    Tensor::from_state(tch::Tensor::new(), crate::tensor::State::Eager)
}

impl EagerOutput for tch::Tensor {
    type Traced = Tensor;
    const ARITY: Option<usize> = Some(1);
    fn into_tensors(self) -> SmallVec<[tch::Tensor; 3]> {
        smallvec::smallvec![self]
    }
    fn from_tensors(mut tensors: impl Iterator<Item = Tensor>) -> Tensor {
        tensors.next().unwrap_or_else(missing)
    }
    fn into_eager(self) -> Tensor {
        eager(self)
    }
}

impl EagerOutput for (tch::Tensor, tch::Tensor) {
    type Traced = (Tensor, Tensor);
    const ARITY: Option<usize> = Some(2);
    fn into_tensors(self) -> SmallVec<[tch::Tensor; 3]> {
        smallvec::smallvec![self.0, self.1]
    }
    fn from_tensors(mut t: impl Iterator<Item = Tensor>) -> (Tensor, Tensor) {
        (t.next().unwrap_or_else(missing), t.next().unwrap_or_else(missing))
    }
    fn into_eager(self) -> (Tensor, Tensor) {
        (eager(self.0), eager(self.1))
    }
}

impl EagerOutput for (tch::Tensor, tch::Tensor, tch::Tensor) {
    type Traced = (Tensor, Tensor, Tensor);
    const ARITY: Option<usize> = Some(3);
    fn into_tensors(self) -> SmallVec<[tch::Tensor; 3]> {
        smallvec::smallvec![self.0, self.1, self.2]
    }
    fn from_tensors(mut t: impl Iterator<Item = Tensor>) -> (Tensor, Tensor, Tensor) {
        (t.next().unwrap_or_else(missing), t.next().unwrap_or_else(missing), t.next().unwrap_or_else(missing))
    }
    fn into_eager(self) -> (Tensor, Tensor, Tensor) {
        (eager(self.0), eager(self.1), eager(self.2))
    }
}

impl EagerOutput for Vec<tch::Tensor> {
    type Traced = Vec<Tensor>;
    const ARITY: Option<usize> = None;
    fn into_tensors(self) -> SmallVec<[tch::Tensor; 3]> {
        self.into()
    }
    fn from_tensors(tensors: impl Iterator<Item = Tensor>) -> Vec<Tensor> {
        tensors.collect()
    }
    fn into_eager(self) -> Vec<Tensor> {
        self.into_iter().map(eager).collect()
    }
}

/// The graph node for an [`OpDef`]: implements the graph's [`Op`] by delegating to it.
/// `as_any` gives the definition itself, so passes and lowering overrides downcast to the op's
/// own type (`op.as_any().downcast_ref::<Gelu>()`).
pub(crate) struct Node<D>(pub(crate) D);

impl<D: fmt::Debug> fmt::Debug for Node<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<D: OpDef> Op for Node<D> {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn describe(&self) -> String {
        self.0.describe()
    }
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError> {
        self.0.lower(cx)
    }
    fn as_any(&self) -> &dyn Any {
        &self.0
    }
    fn eval(&self, inputs: &[&dyn Any], _outputs: &[TensorMeta]) -> Option<Result<Vec<Box<dyn Any>>, String>> {
        run_eager(inputs, |t| self.0.eager(t).map(|o| o.into_tensors().into_vec()))
    }
}

/// Runs `op` eagerly on `inputs` and, while a trace is active on this thread, records it.
///
/// Never panics: an input that carries an error, or an eager rule that fails, gives outputs
/// carrying the error (naming the op and the caller's source line), and the trace fails with it.
#[track_caller]
pub fn record<D: OpDef>(op: D, inputs: &[&Tensor]) -> <D::Output as EagerOutput>::Traced {
    session::record(op, inputs, SourceLocation::caller())
}
