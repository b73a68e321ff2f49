//! Running a closure under a trace.

use crate::session::{self, CaptureKey, GuardPolicy};
use crate::tensor::{State, Tensor};
use crate::CaptureError;
use std::collections::HashMap;
use std::sync::Arc;
use tapir_graph::{Graph, GraphOutput, SourceLocation, TensorMeta};

/// What a traced closure may return: one tensor, a tuple, an array or a `Vec` of tensors.
pub trait IntoOutputs {
    fn into_outputs(self) -> Vec<Tensor>;
}

impl IntoOutputs for Tensor {
    fn into_outputs(self) -> Vec<Tensor> {
        vec![self]
    }
}
impl IntoOutputs for Vec<Tensor> {
    fn into_outputs(self) -> Vec<Tensor> {
        self
    }
}
impl<const N: usize> IntoOutputs for [Tensor; N] {
    fn into_outputs(self) -> Vec<Tensor> {
        self.into()
    }
}
impl IntoOutputs for (Tensor, Tensor) {
    fn into_outputs(self) -> Vec<Tensor> {
        vec![self.0, self.1]
    }
}
impl IntoOutputs for (Tensor, Tensor, Tensor) {
    fn into_outputs(self) -> Vec<Tensor> {
        vec![self.0, self.1, self.2]
    }
}
impl IntoOutputs for (Tensor, Tensor, Tensor, Tensor) {
    fn into_outputs(self) -> Vec<Tensor> {
        vec![self.0, self.1, self.2, self.3]
    }
}

/// A completed trace.
#[derive(Debug)]
pub struct Captured {
    /// The recorded program, pruned to what the outputs need.
    pub graph: Graph,
    /// The eager values of the outputs, as the closure computed them.
    pub outputs: Vec<tch::Tensor>,
    /// Tensors created outside the trace, used inside it, with no name: where each was first
    /// used and its type. An accidental capture shows up here.
    pub unnamed_captures: Vec<(SourceLocation, TensorMeta)>,
}

/// How to run a trace: input and output names, names for captured tensors.
#[derive(Debug, Default)]
pub struct TraceSpec {
    pub input_names: Vec<String>,
    pub output_names: Vec<String>,
    /// Names for captured tensors, by identity (for example a VarStore's variables).
    pub constant_names: Vec<(String, tch::Tensor)>,
    /// What reading a traced value does.
    pub guard_policy: GuardPolicy,
}

impl Clone for TraceSpec {
    fn clone(&self) -> Self {
        TraceSpec {
            input_names: self.input_names.clone(),
            output_names: self.output_names.clone(),
            constant_names: self.constant_names.iter().map(|(n, t)| (n.clone(), t.shallow_clone())).collect(),
            guard_policy: self.guard_policy,
        }
    }
}

/// Ends the session when dropped, so a panic in the traced closure leaves no state behind.
struct EndOnDrop;

impl Drop for EndOnDrop {
    fn drop(&mut self) {
        session::end();
    }
}

fn default_names(prefix: &str, n: usize, given: &[String]) -> Vec<String> {
    (0..n)
        .map(|i| match given.get(i) {
            Some(name) => name.clone(),
            None if n == 1 => prefix.to_owned(),
            None => format!("{prefix}_{i}"),
        })
        .collect()
}

/// Checks that `names` are non-empty and distinct, and distinct from `taken` (the inputs').
fn check_names(
    what: &'static str,
    names: &[String],
    taken: &[String],
    location: SourceLocation,
) -> Result<(), CaptureError> {
    let bad = |name: &String, problem| CaptureError::BadName { what, name: name.clone(), problem, location };
    for (i, name) in names.iter().enumerate() {
        if name.is_empty() {
            return Err(bad(name, "is empty"));
        }
        if names[..i].contains(name) {
            return Err(bad(name, "is given twice"));
        }
        if taken.contains(name) {
            return Err(bad(name, "is also the name of an input"));
        }
    }
    Ok(())
}

/// Traces `f` on `inputs`: runs it once, eagerly, recording every op on a fresh tape.
///
/// Errors: a trace already active on this thread, input or output names that are empty or
/// clash, an input of a dtype ONNX cannot hold, any op that failed or cannot be traced (the
/// first one), an output not computed in the trace, no outputs. A panic in `f` ends the trace;
/// when an op had already failed (the panic is usually code that did not expect the failed
/// tensor, such as an index into its empty size), that failure is returned instead, and
/// otherwise the panic propagates.
#[track_caller]
pub fn trace_with<R: IntoOutputs>(
    inputs: &[&tch::Tensor],
    spec: &TraceSpec,
    f: impl FnOnce(&[Tensor]) -> R,
) -> Result<Captured, CaptureError> {
    let location = SourceLocation::caller();
    let input_names = default_names("input", inputs.len(), &spec.input_names);
    check_names("input", &input_names, &[], location)?;
    let names: HashMap<CaptureKey, String> =
        spec.constant_names.iter().map(|(n, t)| (CaptureKey::of(t), n.clone())).collect();
    let trace = session::begin(names, spec.guard_policy, location)?;
    let _end = EndOnDrop;
    let mut traced_inputs = Vec::with_capacity(inputs.len());
    for (t, name) in inputs.iter().zip(&input_names) {
        let meta = session::meta_of(t, "input", location)?;
        let value = session::with_session(|s| s.graph.add_input(name.clone(), meta)).ok_or(CaptureError::EmptyTrace)?;
        traced_inputs.push(Tensor::from_state(t.shallow_clone(), State::Traced { trace, value }));
    }
    // Tracing records inference: no autograd graph is built, and no gradient is touched.
    let run =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| tch::no_grad(|| f(&traced_inputs).into_outputs())));
    let mut session = session::end().ok_or(CaptureError::EmptyTrace)?;
    let outputs = match run {
        Ok(outputs) => outputs,
        Err(panic) => match session.error.take() {
            Some(e) => return Err(unwrap_arc(e)),
            None => std::panic::resume_unwind(panic),
        },
    };
    if let Some(e) = session.error.take() {
        return Err(unwrap_arc(e));
    }
    if outputs.is_empty() {
        return Err(CaptureError::EmptyTrace);
    }
    let output_names = default_names("output", outputs.len(), &spec.output_names);
    check_names("output", &output_names, &input_names, location)?;
    let mut graph_outputs = Vec::with_capacity(outputs.len());
    for (index, (t, name)) in outputs.iter().zip(&output_names).enumerate() {
        if let Some(e) = t.error() {
            return Err(e.root().clone());
        }
        let value = t.traced_value(trace).ok_or_else(|| CaptureError::UntracedOutput { index, name: name.clone() })?;
        graph_outputs.push(GraphOutput { value, name: name.clone() });
    }
    let mut graph = session.graph;
    graph.set_outputs(graph_outputs);
    graph.prune_unreachable();
    Ok(Captured {
        graph,
        outputs: outputs.iter().map(|t| t.inner.shallow_clone()).collect(),
        unnamed_captures: session.unnamed_captures,
    })
}

fn unwrap_arc(e: Arc<CaptureError>) -> CaptureError {
    Arc::try_unwrap(e).unwrap_or_else(|e| e.root().clone()).root().clone()
}
