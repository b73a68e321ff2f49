//! The per-thread trace session and the recording path every op goes through.
//!
//! Contract: with no trace active, recording costs one thread-local read per op. While a trace
//! is active, each op appends one node whose inputs are resolved to graph values: values of this
//! trace, or captured constants for tensors created outside it.

use crate::constant::TchConst;
use crate::define::{EagerOutput, Node, OpDef};
use crate::kind::dtype_of;
use crate::tensor::{State, Tensor};
use crate::CaptureError;
use smallvec::SmallVec;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tapir_graph::{ConstOrigin, Graph, Op, SourceLocation, TensorMeta, ValueRef};

static NEXT_TRACE_ID: AtomicU64 = AtomicU64::new(1);

/// Identity of a captured tch tensor: same storage view, same type.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct CaptureKey {
    data_ptr: usize,
    kind: i32,
    shape: SmallVec<[i64; 4]>,
    strides: SmallVec<[i64; 4]>,
}

impl CaptureKey {
    pub(crate) fn of(t: &tch::Tensor) -> Self {
        CaptureKey {
            data_ptr: t.data_ptr() as usize,
            kind: dtype_of(t.kind()).map_or(-1, |d| d.onnx_code()),
            shape: t.size().into(),
            strides: t.stride().into(),
        }
    }
}

/// What a trace does when traced code reads a traced value (a guard).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GuardPolicy {
    /// Record the guard silently.
    Allow,
    /// Record it and log a warning (once per source location) through the `log` facade.
    #[default]
    Warn,
    /// Fail the trace at the first guard, naming it.
    Error,
}

pub(crate) struct Session {
    pub(crate) id: u64,
    pub(crate) policy: GuardPolicy,
    /// Module scopes entered and not yet left, innermost last (full dotted paths).
    pub(crate) scopes: Vec<Arc<str>>,
    warned: std::collections::HashSet<SourceLocation>,
    pub(crate) graph: Graph,
    captured: HashMap<CaptureKey, ValueRef>,
    names: HashMap<CaptureKey, String>,
    pub(crate) error: Option<Arc<CaptureError>>,
    /// Captured constants that had no name: (location of first use, metadata).
    pub(crate) unnamed_captures: Vec<(SourceLocation, TensorMeta)>,
    /// Whether the trace declared dynamic dimensions (then every op's shape rule runs).
    pub(crate) dynamic: bool,
    /// Whether ops run their shape and dtype rules instead of their eager rules.
    pub(crate) shape_only: bool,
    /// One zero per (kind, device), expanded to every shape-only output (no data per output).
    placeholders: Vec<(tch::Kind, tch::Device, tch::Tensor)>,
    /// Constants made by `named_slice`, by name.
    slices: HashMap<String, (tapir_graph::SliceOf, ValueRef)>,
}

/// What `record` does with an op, read once per op before its eager rule.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// No trace active: run the eager rule only.
    Off,
    /// Run the eager rule and record the op.
    Eager,
    /// Run the shape and dtype rules and record the op.
    ShapeOnly,
}

fn mode() -> Mode {
    ACTIVE.with(|a| match &*a.borrow() {
        None => Mode::Off,
        Some(s) if s.shape_only => Mode::ShapeOnly,
        Some(_) => Mode::Eager,
    })
}

thread_local! {
    static ACTIVE: RefCell<Option<Session>> = const { RefCell::new(None) };
}

/// Whether a trace is active on this thread.
pub fn is_tracing() -> bool {
    ACTIVE.with(|a| a.borrow().is_some())
}

/// Starts a session on this thread. Errors if one is active.
pub(crate) fn begin(
    names: HashMap<CaptureKey, String>,
    policy: GuardPolicy,
    location: SourceLocation,
) -> Result<u64, CaptureError> {
    ACTIVE.with(|a| {
        let mut a = a.borrow_mut();
        if a.is_some() {
            return Err(CaptureError::NestedTrace { location });
        }
        let id = NEXT_TRACE_ID.fetch_add(1, Ordering::Relaxed);
        *a = Some(Session {
            id,
            policy,
            scopes: Vec::new(),
            warned: Default::default(),
            graph: Graph::new(),
            captured: HashMap::new(),
            names,
            error: None,
            unnamed_captures: Vec::new(),
            dynamic: false,
            shape_only: false,
            placeholders: Vec::new(),
            slices: HashMap::new(),
        });
        Ok(id)
    })
}

/// Ends the session on this thread and returns it (also used for cleanup after a panic).
pub(crate) fn end() -> Option<Session> {
    ACTIVE.with(|a| a.borrow_mut().take())
}

/// Runs `f` on the active session, if any.
pub(crate) fn with_session<R>(f: impl FnOnce(&mut Session) -> R) -> Option<R> {
    ACTIVE.with(|a| a.borrow_mut().as_mut().map(f))
}

pub(crate) fn meta_of(t: &tch::Tensor, op: &'static str, location: SourceLocation) -> Result<TensorMeta, CaptureError> {
    let kind = t.kind();
    let dtype =
        dtype_of(kind).ok_or_else(|| CaptureError::UnsupportedDtype { op, location, kind: format!("{kind:?}") })?;
    Ok(TensorMeta { dtype, shape: t.size().into() })
}

impl Session {
    /// Records that `error` happened; the first error is the trace's result.
    pub(crate) fn fail(&mut self, error: Arc<CaptureError>) {
        self.error.get_or_insert(error);
    }

    /// The graph value for an op input.
    fn resolve(&mut self, t: &Tensor, op: &'static str, location: SourceLocation) -> Result<ValueRef, CaptureError> {
        match &t.state {
            State::Traced { trace, value } if *trace == self.id => Ok(*value),
            State::Traced { .. } => Err(CaptureError::ForeignTensor { op, location }),
            State::Eager => self.capture(&t.inner, op, location),
            State::Failed(e) => Err(CaptureError::Carried(e.clone())),
        }
    }

    /// The constant for a tensor created outside the trace, deduplicated by identity.
    pub(crate) fn capture(
        &mut self,
        t: &tch::Tensor,
        op: &'static str,
        location: SourceLocation,
    ) -> Result<ValueRef, CaptureError> {
        let key = CaptureKey::of(t);
        if let Some(v) = self.captured.get(&key) {
            return Ok(*v);
        }
        if let Some(message) = crate::record::placeholder::partial_view(t) {
            return Err(CaptureError::Op { op, location, message });
        }
        let meta = meta_of(t, op, location)?;
        let name = self.names.get(&key).cloned();
        if name.is_none() {
            if self.policy != GuardPolicy::Allow && self.warned.insert(location) {
                log::warn!("tapir: {location}: `{op}` captured a tensor ({meta}) created outside the trace; it becomes a constant of the model");
            }
            self.unnamed_captures.push((location, meta.clone()));
        }
        let data = Arc::new(TchConst::new(t, meta));
        let v = self.graph.add_constant(data, name, ConstOrigin::Captured, Some(location));
        self.captured.insert(key, v);
        Ok(v)
    }

    /// A literal constant written by the traced code (a Rust scalar, a factory's result).
    pub(crate) fn literal(
        &mut self,
        t: &tch::Tensor,
        op: &'static str,
        location: SourceLocation,
    ) -> Result<ValueRef, CaptureError> {
        let meta = meta_of(t, op, location)?;
        let data = Arc::new(TchConst::new(t, meta));
        Ok(self.graph.add_constant(data, None, ConstOrigin::Literal, Some(location)))
    }

    /// Appends an op node reading `inputs` and producing `outputs`.
    fn add_node(
        &mut self,
        op: Box<dyn Op>,
        name: &'static str,
        inputs: &[&Tensor],
        outputs: &[&tch::Tensor],
        location: SourceLocation,
    ) -> Result<SmallVec<[ValueRef; 2]>, CaptureError> {
        let mut values: SmallVec<[ValueRef; 4]> = SmallVec::with_capacity(inputs.len());
        for t in inputs {
            values.push(self.resolve(t, name, location)?);
        }
        let mut metas = SmallVec::with_capacity(outputs.len());
        for t in outputs {
            metas.push(meta_of(t, name, location)?);
        }
        let n_out = metas.len();
        let node = self.graph.add_op(op, &values, metas, Some(location));
        if let Some(scope) = self.scopes.last() {
            self.graph.set_scope(node, Some(scope.clone()));
        }
        Ok((0..n_out).map(|k| ValueRef { node, output: k as u16 }).collect())
    }
}

/// The first failed input's error, if any input failed.
fn failed_input(inputs: &[&Tensor]) -> Option<Arc<CaptureError>> {
    inputs.iter().find_map(|t| match &t.state {
        State::Failed(e) => Some(e.clone()),
        _ => None,
    })
}

fn op_error(op: &'static str, location: SourceLocation, e: tch::TchError) -> Arc<CaptureError> {
    Arc::new(CaptureError::Op { op, location, message: torch_message(&e) })
}

/// torch's error text without the C++ backtrace it appends.
pub(crate) fn torch_message(e: &tch::TchError) -> String {
    let text = e.to_string();
    let first = text.split("\nException raised from").next().unwrap_or(&text);
    first.split("\nframe #").next().unwrap_or(first).trim_end().to_owned()
}

/// Fails the active trace (if any) with `e` and returns a failed tensor carrying it.
pub(crate) fn failed(e: Arc<CaptureError>) -> Tensor {
    with_session(|s| s.fail(e.clone()));
    Tensor::from_state(tch::Tensor::new(), State::Failed(e))
}

/// Runs `op` eagerly and records it when a trace is active (see [`crate::define::record`]).
/// With no trace active this costs the eager rule and one thread-local read.
#[inline]
pub(crate) fn record<D: OpDef>(
    op: D,
    inputs: &[&Tensor],
    location: SourceLocation,
) -> <D::Output as EagerOutput>::Traced {
    let fail_all = |op: &D, e: Arc<CaptureError>| {
        with_session(|s| s.fail(e.clone()));
        let n = op.num_outputs();
        D::Output::from_tensors((0..n).map(|_| Tensor::from_state(tch::Tensor::new(), State::Failed(e.clone()))))
    };
    if let Some(e) = failed_input(inputs) {
        return fail_all(&op, e);
    }
    let mode = mode();
    if mode == Mode::ShapeOnly && !inputs.is_empty() {
        return match shape_only_outputs(&op, inputs, location) {
            Ok((outs, shapes)) => {
                let dynamic = with_session(|s| s.dynamic).unwrap_or(false);
                record_outputs(op, inputs, outs, dynamic.then_some(RuleResult::Shapes(shapes)), location)
            }
            Err(e) => fail_all(&op, Arc::new(e)),
        };
    }
    let raw: SmallVec<[&tch::Tensor; 4]> = inputs.iter().map(|t| &t.inner).collect();
    let outs = match op.eager(&raw) {
        Ok(outs) => outs,
        Err(e) => return fail_all(&op, op_error(op.name(), location, e)),
    };
    if mode == Mode::Off {
        return outs.into_eager();
    }
    let outs = outs.into_tensors();
    let dynamic = with_session(|s| s.dynamic).unwrap_or(false);
    #[cfg(debug_assertions)]
    if !dynamic {
        if let Err(e) = check_rules(&op, inputs, &outs, location) {
            return fail_all(&op, Arc::new(e));
        }
    }
    let rule = dynamic.then(|| shape_rule(&op, inputs, location));
    record_outputs(op, inputs, outs, rule, location)
}

/// Appends `op` with its (eager or placeholder) outputs to the active trace and wraps them.
fn record_outputs<D: OpDef>(
    op: D,
    inputs: &[&Tensor],
    outs: SmallVec<[tch::Tensor; 3]>,
    rule: Option<RuleResult>,
    location: SourceLocation,
) -> <D::Output as EagerOutput>::Traced {
    let name = op.name();
    let recorded = ACTIVE.with(|a| {
        let mut a = a.borrow_mut();
        let s = a.as_mut()?;
        let refs: SmallVec<[&tch::Tensor; 3]> = outs.iter().collect();
        let values = s.add_node(Box::new(Node(op)), name, inputs, &refs, location);
        let values = match (values, rule) {
            (Ok(values), Some(rule)) => s.set_shapes(&values, rule, name, location).map(|()| values),
            (values, _) => values,
        };
        Some((s.id, values))
    });
    match recorded {
        None => D::Output::from_tensors(outs.into_iter().map(|t| Tensor::from_state(t, State::Eager))),
        Some((trace, Ok(values))) => D::Output::from_tensors(
            outs.into_iter().zip(values).map(|(t, value)| Tensor::from_state(t, State::Traced { trace, value })),
        ),
        Some((_, Err(e))) => {
            let e = Arc::new(e);
            with_session(|s| s.fail(e.clone()));
            D::Output::from_tensors(
                outs.iter().map(|_| Tensor::from_state(tch::Tensor::new(), State::Failed(e.clone()))),
            )
        }
    }
}

/// A shape-only op's outputs: placeholders (a zero expanded, no data) of the shapes and dtypes
/// its rules give, on input 0's device, and the shapes as sizes.
fn shape_only_outputs<D: OpDef>(
    op: &D,
    inputs: &[&Tensor],
    location: SourceLocation,
) -> Result<(SmallVec<[tch::Tensor; 3]>, Vec<tapir_graph::SymDims>), CaptureError> {
    let name = op.name();
    let refuse = |reason: String| CaptureError::ShapeOnly { op: name, location, reason };
    let mut metas = Vec::with_capacity(inputs.len());
    for t in inputs {
        metas.push(meta_of(&t.inner, name, location)?);
    }
    let dims: Vec<tapir_graph::SymDims> = inputs.iter().map(|t| dims_of(t)).collect();
    tapir_graph::sym::with_active(|t| t.set_current(Some((name, location))));
    let (shapes, mismatches) = tapir_graph::sym::checking_sizes(|| op.shape(&dims));
    tapir_graph::sym::with_active(|t| t.set_current(None));
    let shapes = shapes.ok_or_else(|| refuse("the op has no shape rule for these inputs".into()))?;
    if !mismatches.is_empty() {
        let inputs: Vec<String> = dims.iter().map(|d| format!("{:?}", tapir_graph::sym::hints(d))).collect();
        return Err(CaptureError::Op {
            op: name,
            location,
            message: format!("the inputs' sizes {} do not fit: {}", inputs.join(", "), mismatches.join("; ")),
        });
    }
    let dtypes = op.dtypes(&metas).ok_or_else(|| refuse("the op has no dtype rule for these inputs".into()))?;
    if dtypes.is_empty() || (dtypes.len() != 1 && dtypes.len() != shapes.len()) {
        return Err(refuse(format!("its dtype rule gave {} dtypes for {} outputs", dtypes.len(), shapes.len())));
    }
    let device = inputs[0].inner.device();
    let outs = shapes
        .iter()
        .enumerate()
        .map(|(k, dims)| {
            let dtype = dtypes[k.min(dtypes.len() - 1)];
            let size = tapir_graph::sym::hints(dims);
            if size.iter().any(|&d| d < 0) {
                return Err(refuse(format!("its shape rule gave the negative size {size:?}")));
            }
            with_session(|s| s.placeholder(crate::kind::kind_of(dtype), device))
                .ok_or(CaptureError::EmptyTrace)?
                .f_expand(size.as_slice(), false)
                .map_err(|e| refuse(torch_message(&e)))
        })
        .collect::<Result<_, _>>()?;
    Ok((outs, shapes))
}

impl Session {
    /// The zero of `kind` on `device` that shape-only outputs expand.
    fn placeholder(&mut self, kind: tch::Kind, device: tch::Device) -> tch::Tensor {
        if let Some((_, _, t)) = self.placeholders.iter().find(|(k, d, _)| *k == kind && *d == device) {
            return t.shallow_clone();
        }
        let t = tch::Tensor::zeros([], (kind, device));
        self.placeholders.push((kind, device, t.shallow_clone()));
        t
    }
}

/// Debug builds, static traces: the op's dtype and shape rules must give what the eager rule
/// gave (what a shape-only trace relies on).
#[cfg(debug_assertions)]
fn check_rules<D: OpDef>(
    op: &D,
    inputs: &[&Tensor],
    outs: &[tch::Tensor],
    location: SourceLocation,
) -> Result<(), CaptureError> {
    let name = op.name();
    let mut metas = Vec::with_capacity(inputs.len());
    for t in inputs {
        metas.push(meta_of(&t.inner, name, location)?);
    }
    let mut observed = Vec::with_capacity(outs.len());
    for t in outs {
        observed.push(meta_of(t, name, location)?);
    }
    let internal = |message: String| CaptureError::Op { op: name, location, message: format!("internal: {message}") };
    if let Some(dtypes) = op.dtypes(&metas) {
        let got: Vec<_> = observed.iter().map(|m| m.dtype).collect();
        let expected: Vec<_> = (0..got.len()).map(|k| dtypes.get(k).or(dtypes.last()).copied()).collect();
        if expected.iter().zip(&got).any(|(e, g)| *e != Some(*g)) || (dtypes.len() != 1 && dtypes.len() != got.len()) {
            let inputs: Vec<_> = metas.iter().map(|m| m.to_string()).collect();
            return Err(internal(format!(
                "the op's dtype rule gives {dtypes:?} for inputs {inputs:?}, torch gave {got:?}"
            )));
        }
    }
    let dims: Vec<tapir_graph::SymDims> =
        metas.iter().map(|m| m.shape.iter().map(|&d| tapir_graph::SymInt::from(d)).collect()).collect();
    if let Some(shapes) = op.shape(&dims) {
        let got: Vec<_> = observed.iter().map(|m| m.shape.clone()).collect();
        let expected: Vec<_> = shapes.iter().map(|d| tapir_graph::sym::hints(d)).collect();
        if got != expected {
            return Err(internal(format!("the op's shape rule gives {expected:?}, torch gave {got:?}")));
        }
    }
    Ok(())
}

/// Fails a read of `t`'s value in a shape-only trace of which `t` is a value (there is none).
pub(crate) fn refuse_read_in_shape_only(
    t: &Tensor,
    read: &'static str,
    location: SourceLocation,
) -> Result<(), CaptureError> {
    let refused = ACTIVE.with(|a| {
        let a = a.borrow();
        let s = a.as_ref()?;
        let State::Traced { trace, value } = t.state else { return None };
        (s.shape_only && trace == s.id).then(|| s.graph.node(value.node).op_name())
    });
    match refused {
        None => Ok(()),
        Some(op) => {
            let e = Arc::new(CaptureError::ShapeOnly {
                op,
                location,
                reason: format!("`{read}` reads the value of its output, which a shape-only trace does not compute"),
            });
            with_session(|s| s.fail(e.clone()));
            Err(CaptureError::Carried(e))
        }
    }
}

/// What an op's shape rule gave: the output shapes, or (no rule) whether an input is dynamic.
pub(crate) enum RuleResult {
    Shapes(Vec<tapir_graph::SymDims>),
    Opaque,
    Static,
}

/// The sizes of `t` in the active trace: symbolic where a dimension is dynamic.
pub(crate) fn dims_of(t: &Tensor) -> tapir_graph::SymDims {
    let traced = ACTIVE.with(|a| {
        let a = a.borrow();
        let s = a.as_ref()?;
        match t.state {
            State::Traced { trace, value } if trace == s.id && s.graph.contains(value.node) => {
                Some(s.graph.dims(value))
            }
            _ => None,
        }
    });
    traced.unwrap_or_else(|| t.size_unchecked().into_iter().map(tapir_graph::SymInt::from).collect())
}

/// Runs `op`'s shape rule on the inputs' sizes (a trace with dynamic dimensions).
fn shape_rule<D: OpDef>(op: &D, inputs: &[&Tensor], location: SourceLocation) -> RuleResult {
    let dims: Vec<tapir_graph::SymDims> = inputs.iter().map(|t| dims_of(t)).collect();
    tapir_graph::sym::with_active(|t| t.set_current(Some((op.name(), location))));
    let shapes = op.shape(&dims);
    tapir_graph::sym::with_active(|t| t.set_current(None));
    match shapes {
        Some(s) => RuleResult::Shapes(s),
        None if dims.iter().flatten().any(|d| !d.is_static()) => RuleResult::Opaque,
        None => RuleResult::Static,
    }
}

impl Session {
    /// Records the symbolic shapes of an op's outputs from its rule, checking them against the
    /// observed ones; an op without a rule whose input is dynamic gets sizes read at run time.
    fn set_shapes(
        &mut self,
        values: &[ValueRef],
        rule: RuleResult,
        op: &'static str,
        location: SourceLocation,
    ) -> Result<(), CaptureError> {
        match rule {
            RuleResult::Static => Ok(()),
            RuleResult::Opaque => {
                let table_dims: Vec<(ValueRef, tapir_graph::SymDims)> = values
                    .iter()
                    .map(|v| {
                        let shape = self.graph.meta(*v).shape.clone();
                        let dims = tapir_graph::sym::with_active(|t| {
                            shape
                                .iter()
                                .enumerate()
                                .map(|(axis, &hint)| {
                                    let atom = tapir_graph::sym::Atom::Dim {
                                        node: v.node.index() as u32,
                                        output: v.output,
                                        axis: axis as u16,
                                    };
                                    t.sym(tapir_graph::sym::Poly::atom(atom), hint)
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                        (*v, dims)
                    })
                    .collect();
                for (v, d) in table_dims {
                    self.graph.set_sym_shape(v, d);
                }
                Ok(())
            }
            RuleResult::Shapes(shapes) => {
                if shapes.len() != values.len() {
                    return Err(CaptureError::Op {
                        op,
                        location,
                        message: format!("shape rule gave {} shapes for {} outputs", shapes.len(), values.len()),
                    });
                }
                for (v, dims) in values.iter().zip(shapes) {
                    let observed = self.graph.meta(*v).shape.clone();
                    if tapir_graph::sym::hints(&dims) != observed {
                        return Err(CaptureError::Op {
                            op,
                            location,
                            message: format!(
                                "internal: the op's shape rule gives {:?}, torch gave {:?}",
                                tapir_graph::sym::hints(&dims),
                                observed
                            ),
                        });
                    }
                    self.graph.set_sym_shape(*v, dims);
                }
                Ok(())
            }
        }
    }
}

/// Records a tensor the traced code created (a factory's result, a Rust scalar) as a literal
/// constant when a trace is active.
pub(crate) fn record_literal(t: tch::Tensor, op: &'static str, location: SourceLocation) -> Tensor {
    let recorded = ACTIVE.with(|a| {
        let mut a = a.borrow_mut();
        let s = a.as_mut()?;
        Some((s.id, s.literal(&t, op, location)))
    });
    match recorded {
        None => Tensor::from_state(t, State::Eager),
        Some((trace, Ok(value))) => Tensor::from_state(t, State::Traced { trace, value }),
        Some((_, Err(e))) => failed(Arc::new(e)),
    }
}

/// `t` as an operand that, when a trace captures it, becomes a constant named `name` (an
/// initializer of that name in the exported model). For a layer that uses part of a parameter
/// (a view: `narrow`, `select` on the tch tensor) as a weight of its own: the view is captured
/// as its own initializer, named, instead of the whole parameter plus slicing nodes. Outside a
/// trace this is `Tensor::from(t)`. Two tensors named alike, or an empty name, fail the trace.
#[track_caller]
pub fn named_constant(t: &tch::Tensor, name: &str) -> Tensor {
    let location = SourceLocation::caller();
    let err = with_session(|s| {
        let key = CaptureKey::of(t);
        let problem = if name.is_empty() {
            Some("is empty")
        } else if s.names.iter().any(|(k, n)| n == name && *k != key) {
            Some("names two different tensors")
        } else {
            None
        };
        match problem {
            Some(problem) => {
                let e = Arc::new(CaptureError::BadName { what: "constant", name: name.to_owned(), problem, location });
                s.fail(e.clone());
                Some(e)
            }
            None => {
                s.names.entry(key).or_insert_with(|| name.to_owned());
                None
            }
        }
    });
    match err.flatten() {
        Some(e) => Tensor::from_state(tch::Tensor::new(), State::Failed(e)),
        None => Tensor::from_state(t.shallow_clone(), State::Eager),
    }
}

/// Rows `start..start + len` along `dim` of `param` as an operand that, traced, is a constant
/// named `name` of its own (an initializer of that name): for a layer that uses parts of a
/// packed parameter (attention's q, k and v rows of `in_proj_weight`) as weights of their own,
/// without slicing nodes. The constant records that it slices `param` (under the name the trace
/// gives `param`, see `Tracer::parameters`), so a trace's weights bound to a checkpoint take
/// its bytes from the parameter's. Outside a trace this is `Tensor::from(param.narrow(...))`.
/// One name for two different slices, an empty name, or a slice out of range fail the trace.
#[track_caller]
pub fn named_slice(param: &tch::Tensor, dim: i64, start: i64, len: i64, name: &str) -> Tensor {
    let location = SourceLocation::caller();
    let op_failed = |message: String| Arc::new(CaptureError::Op { op: "named_slice", location, message });
    let view = match param.f_narrow(dim, start, len) {
        Ok(v) => v,
        Err(e) => {
            let e = op_failed(torch_message(&e));
            with_session(|s| s.fail(e.clone()));
            return Tensor::from_state(tch::Tensor::new(), State::Failed(e));
        }
    };
    let recorded = ACTIVE.with(|a| {
        let mut a = a.borrow_mut();
        let s = a.as_mut()?;
        let parent = s.names.get(&CaptureKey::of(param)).cloned();
        let slice = tapir_graph::SliceOf { parent: parent.unwrap_or_default(), dim, start, len };
        Some((s.id, s.slice_constant(&view, name, slice, location)))
    });
    match recorded {
        None => Tensor::from_state(view, State::Eager),
        Some((trace, Ok(value))) => Tensor::from_state(view, State::Traced { trace, value }),
        Some((_, Err(e))) => failed(Arc::new(e)),
    }
}

impl Session {
    /// The constant `name` for `slice` (held by `view`): the one made before under that name
    /// if it is the same slice, a new one otherwise.
    fn slice_constant(
        &mut self,
        view: &tch::Tensor,
        name: &str,
        slice: tapir_graph::SliceOf,
        location: SourceLocation,
    ) -> Result<ValueRef, CaptureError> {
        let bad = |problem| CaptureError::BadName { what: "constant", name: name.to_owned(), problem, location };
        if name.is_empty() {
            return Err(bad("is empty"));
        }
        if let Some((earlier, v)) = self.slices.get(name) {
            return if *earlier == slice { Ok(*v) } else { Err(bad("names two different tensors")) };
        }
        if self.names.values().any(|n| n == name) {
            return Err(bad("names two different tensors"));
        }
        let meta = meta_of(view, "named_slice", location)?;
        let data = Arc::new(TchConst::slice(view, meta, slice.clone()));
        let v = self.graph.add_constant(data, Some(name.to_owned()), ConstOrigin::Captured, Some(location));
        self.slices.insert(name.to_owned(), (slice, v));
        Ok(v)
    }
}

/// Refuses an op that cannot be traced faithfully when a trace is active; `None` otherwise.
pub(crate) fn refuse_in_trace(op: &'static str, location: SourceLocation, reason: &str) -> Option<Tensor> {
    if !is_tracing() {
        return None;
    }
    Some(failed(Arc::new(CaptureError::Untraceable { op, location, reason: reason.to_owned() })))
}

/// Records that traced code read `t` (a guard) under the active trace, if `t` is one of its
/// values. Applies the trace's guard policy.
pub(crate) fn guard(t: &Tensor, read: &'static str, observed: impl FnOnce() -> String, location: SourceLocation) {
    ACTIVE.with(|a| {
        let mut a = a.borrow_mut();
        let Some(s) = a.as_mut() else { return };
        let State::Traced { trace, value } = t.state else { return };
        if trace != s.id {
            return;
        }
        let op = s.graph.node(value.node).op_name();
        let guard = tapir_graph::Guard { read, observed: observed(), value: Some(value), op, location };
        match s.policy {
            GuardPolicy::Allow => {}
            GuardPolicy::Warn => {
                if s.warned.insert(location) {
                    log::warn!("tapir: guard at {guard}; the trace is specialized to this value");
                }
            }
            GuardPolicy::Error => {
                let e = CaptureError::Guard { read, op, observed: guard.observed.clone(), location };
                s.fail(Arc::new(e));
            }
        }
        s.graph.add_guard(guard);
    });
}

/// A module scope entered with [`enter_scope`]; leaving it (dropping) pops it.
///
/// A guard belongs to the trace that was active when it was made: dropped after that trace ended
/// (kept past it, or moved into another trace), it leaves every other trace's scopes alone.
#[derive(Debug)]
#[must_use = "the scope ends when this guard is dropped"]
pub struct ScopeGuard {
    /// The trace whose scope stack this guard pushed onto, if any.
    trace: Option<u64>,
}

fn push_scope(scope: impl FnOnce(Option<&Arc<str>>) -> Arc<str>) -> ScopeGuard {
    let trace = with_session(|s| {
        let full = scope(s.scopes.last());
        s.scopes.push(full);
        s.id
    });
    ScopeGuard { trace }
}

/// Enters a module scope named `name` inside the current one (`layer1`, then `0` gives
/// `layer1.0`): ops recorded until the guard drops carry it, and their ONNX node names read
/// `layer1.0/Conv`. With no trace active this is one thread-local read.
pub fn enter_scope(name: &str) -> ScopeGuard {
    push_scope(|parent| match parent {
        Some(parent) => format!("{parent}.{name}").into(),
        None => name.into(),
    })
}

/// Enters the module scope `path` as given (a full dotted path such as a VarStore path), not
/// joined to the current one. Layers that know their own path use this.
pub fn enter_scope_path(path: &str) -> ScopeGuard {
    push_scope(|_| path.into())
}

impl Drop for ScopeGuard {
    fn drop(&mut self) {
        if let Some(trace) = self.trace {
            with_session(|s| {
                if s.id == trace {
                    s.scopes.pop();
                }
            });
        }
    }
}
