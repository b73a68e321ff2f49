//! Running a closure under a trace.

use crate::session::{self, CaptureKey, GuardPolicy};
use crate::tensor::{State, Tensor};
use crate::CaptureError;
use std::collections::HashMap;
use std::sync::Arc;
use tapir_graph::sym::{Atom, DimDecl, Poly};
use tapir_graph::{Graph, GraphOutput, SourceLocation, SymDims, SymInt, SymTable, TensorMeta};

/// What a traced closure may return: one tensor, a tuple, an array or a `Vec` of tensors, or a
/// `Result` of one of those.
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
impl<R: IntoOutputs> IntoOutputs for Result<R, CaptureError> {
    /// The outputs, or one tensor carrying the error (the trace fails with it): closures can
    /// use `?` on fallible size reads (`let (b, t, c) = x.sym_size3()?;`).
    fn into_outputs(self) -> Vec<Tensor> {
        match self {
            Ok(r) => r.into_outputs(),
            Err(e) => vec![Tensor::from_error(e)],
        }
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
    /// The eager values of the outputs, as the closure computed them; placeholders holding
    /// no values (zeros) in a shape-only trace.
    pub outputs: Vec<tch::Tensor>,
    /// Whether the trace ran shape and dtype rules only (see [`TraceSpec::shape_only`]).
    pub shape_only: bool,
    /// Tensors created outside the trace, used inside it, with no name: where each was first
    /// used and its type. An accidental capture shows up here.
    pub unnamed_captures: Vec<(SourceLocation, TensorMeta)>,
}

/// A dynamic dimension: a symbol name, and the sizes the exported model accepts.
///
/// The same `Dim` (by name) on two inputs ties them: they must have the same size there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dim {
    name: String,
    min: i64,
    max: Option<i64>,
}

impl Dim {
    /// A dimension named `name` (the `dim_param` of the exported model's inputs), of any size
    /// from 1 up.
    pub fn new(name: impl Into<String>) -> Dim {
        Dim { name: name.into(), min: 1, max: None }
    }

    /// Limits the sizes the model accepts to `min..=max` (checked by `Traced::check` and
    /// replay, written in the model's metadata).
    pub fn range(mut self, min: i64, max: i64) -> Dim {
        self.min = min;
        self.max = Some(max);
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

/// A dimension declared dynamic: input name, axis, and its [`Dim`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DynamicDim {
    pub input: String,
    pub axis: usize,
    pub dim: Dim,
}

/// How to run a trace: input and output names, names for captured tensors.
#[derive(Debug, Default)]
pub struct TraceSpec {
    /// Dimensions of the inputs that stay dynamic in the exported model.
    pub dynamic: Vec<DynamicDim>,
    /// A dynamic dimension the traced code needs at its traced size becomes static, with a
    /// recorded guard, instead of failing the trace.
    pub specialize: bool,
    pub input_names: Vec<String>,
    pub output_names: Vec<String>,
    /// Names for captured tensors, by identity (for example a VarStore's variables).
    pub constant_names: Vec<(String, tch::Tensor)>,
    /// What reading a traced value does.
    pub guard_policy: GuardPolicy,
    /// Run every op's shape and dtype rules instead of its eager rule: the graph is the same,
    /// no arithmetic is done, and the outputs hold no values (reading one fails the trace).
    pub shape_only: bool,
}

impl Clone for TraceSpec {
    fn clone(&self) -> Self {
        TraceSpec {
            input_names: self.input_names.clone(),
            output_names: self.output_names.clone(),
            constant_names: self.constant_names.iter().map(|(n, t)| (n.clone(), t.shallow_clone())).collect(),
            guard_policy: self.guard_policy,
            dynamic: self.dynamic.clone(),
            specialize: self.specialize,
            shape_only: self.shape_only,
        }
    }
}

/// Ends the session when dropped, so a panic in the traced closure leaves no state behind.
struct EndOnDrop;

impl Drop for EndOnDrop {
    fn drop(&mut self) {
        session::end();
        tapir_graph::sym::uninstall();
    }
}

/// The declared dimensions as the trace knows them: one symbol per name, bound to the first
/// input and axis that declares it, with the observed size.
fn declare_dims(spec: &TraceSpec, inputs: &[&tch::Tensor], names: &[String]) -> Result<Vec<DimDecl>, CaptureError> {
    let mut decls: Vec<DimDecl> = vec![];
    for d in &spec.dynamic {
        let bad = |message: String| CaptureError::BadDim { dim: d.dim.name.clone(), message };
        if d.dim.name.is_empty() {
            return Err(bad("the name is empty".into()));
        }
        let index = names
            .iter()
            .position(|n| *n == d.input)
            .ok_or_else(|| bad(format!("no input is named `{}` (inputs: {})", d.input, names.join(", "))))?;
        let size = inputs[index].size();
        let hint = *size
            .get(d.axis)
            .ok_or_else(|| bad(format!("input `{}` has {} dimension(s), no axis {}", d.input, size.len(), d.axis)))?;
        if hint < 2 {
            return Err(bad(format!(
                "input `{}` has size {hint} on axis {}: trace with a size of 2 or more, so that no op can broadcast or squeeze the dimension away",
                d.input, d.axis
            )));
        }
        if hint < d.dim.min || d.dim.max.is_some_and(|m| hint > m) {
            return Err(bad(format!("the traced size {hint} is outside the declared range")));
        }
        match decls.iter().find(|e| e.name == d.dim.name) {
            Some(e) if e.hint != hint => {
                return Err(bad(format!(
                    "input `{}` axis {} has size {hint}, but `{}` is {} on input {} axis {}: one dimension, two sizes",
                    d.input, d.axis, e.name, e.hint, e.input, e.axis
                )))
            }
            Some(_) => {}
            None => decls.push(DimDecl {
                name: d.dim.name.clone(),
                min: d.dim.min,
                max: d.dim.max,
                hint,
                input: index,
                axis: d.axis,
                specialized: None,
            }),
        }
    }
    Ok(decls)
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
    let decls = declare_dims(spec, inputs, &input_names)?;
    let dynamic = !decls.is_empty();
    let trace = session::begin(names, spec.guard_policy, location)?;
    let _end = EndOnDrop;
    if dynamic {
        let mut table = SymTable::new(decls);
        table.specialize = spec.specialize;
        tapir_graph::sym::install(table);
        session::with_session(|s| s.dynamic = true);
    }
    if spec.shape_only {
        session::with_session(|s| s.shape_only = true);
    }
    let mut traced_inputs = Vec::with_capacity(inputs.len());
    for (t, name) in inputs.iter().zip(&input_names) {
        let meta = session::meta_of(t, "input", location)?;
        let value = session::with_session(|s| s.graph.add_input(name.clone(), meta)).ok_or(CaptureError::EmptyTrace)?;
        if dynamic {
            let declared = |axis: usize| spec.dynamic.iter().find(|d| d.input == *name && d.axis == axis);
            let dims: SymDims = tapir_graph::sym::with_active(|table| {
                let symbol = |d: &DynamicDim| table.dims.iter().position(|e| e.name == d.dim.name);
                let ids: Vec<Option<usize>> = (0..t.dim()).map(|axis| declared(axis).and_then(symbol)).collect();
                t.size()
                    .iter()
                    .zip(ids)
                    .map(|(&hint, id)| match id {
                        Some(i) => table.sym(Poly::atom(Atom::Sym(i as u32)), hint),
                        None => SymInt::from(hint),
                    })
                    .collect()
            })
            .unwrap_or_default();
            session::with_session(|s| s.graph.set_sym_shape(value, dims));
        }
        traced_inputs.push(Tensor::from_state(t.shallow_clone(), State::Traced { trace, value }));
    }
    // Tracing records inference: no autograd graph is built, and no gradient is touched.
    let run =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| tch::no_grad(|| f(&traced_inputs).into_outputs())));
    let mut session = session::end().ok_or(CaptureError::EmptyTrace)?;
    let syms = tapir_graph::sym::uninstall();
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
    if let Some(e) = syms.as_ref().and_then(|t| t.errors.first()) {
        return Err(CaptureError::Dynamic { message: e.message.clone(), location: e.location });
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
    if let Some(mut syms) = syms {
        syms.finish_specialization();
        graph.set_syms(syms);
    }
    graph.set_outputs(graph_outputs);
    graph.prune_unreachable();
    Ok(Captured {
        graph,
        outputs: outputs.iter().map(|t| t.inner.shallow_clone()).collect(),
        shape_only: spec.shape_only,
        unnamed_captures: session.unnamed_captures,
    })
}

fn unwrap_arc(e: Arc<CaptureError>) -> CaptureError {
    Arc::try_unwrap(e).unwrap_or_else(|e| e.root().clone()).root().clone()
}
