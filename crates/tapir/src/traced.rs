//! Tracing entry points and the traced result.

use crate::{Error, ExportOptions, IntoOutputs, Tensor};
use std::fmt;
use std::path::Path;
use tapir_capture::{trace_with, Captured, Dim, DynamicDim, TraceSpec};
use tapir_graph::{Graph, NodeKind, SourceLocation, TensorMeta};

/// A traced program: the graph, and the eager outputs the trace computed.
pub struct Traced {
    captured: Captured,
    pub(crate) spec: TraceSpec,
}

impl Traced {
    /// The recorded graph.
    pub fn graph(&self) -> &Graph {
        &self.captured.graph
    }

    /// The eager outputs computed while tracing (what the exported model must reproduce);
    /// empty for a shape-only trace, which computes none.
    pub fn eager_outputs(&self) -> &[tch::Tensor] {
        if self.captured.shape_only {
            return &[];
        }
        &self.captured.outputs
    }

    /// Whether this trace ran shape and dtype rules only ([`Tracer::shape_only`]).
    pub fn is_shape_only(&self) -> bool {
        self.captured.shape_only
    }

    /// The traced graph as Graphviz DOT text: ops as boxes with their attributes and output
    /// types, module scopes as clusters, edges labelled with tensors, weights folded into the ops
    /// that use them, guards highlighted, source locations as tooltips (see
    /// `tapir_graph::Graph::to_dot`; `tapir graph` renders it to SVG).
    pub fn to_dot(&self) -> String {
        self.graph().to_dot()
    }

    /// Where traced code read a traced value (and so may have taken a branch on it): the trace
    /// is specialized to these observed values. Also in the ONNX metadata as `tapir.guard.NNNN`.
    pub fn guards(&self) -> &[tapir_graph::Guard] {
        self.captured.graph.guards()
    }

    /// Tensors from outside the trace that were captured without a name: check that each is
    /// meant to be a constant of the model.
    pub fn unnamed_captures(&self) -> &[(SourceLocation, TensorMeta)] {
        &self.captured.unnamed_captures
    }

    /// Takes the bytes of the trace's named weights from `source` (a checkpoint read in place:
    /// `tapir_nn::Checkpoint`) instead of the tensors the trace captured, for every named
    /// constant the source has; export then streams them from there. Returns how many were
    /// bound. Errors, binding nothing, listing every problem: a weight the source holds with
    /// another shape or a dtype it cannot convert, and a placeholder (a model built with
    /// placeholder parameters, see `tapir_nn::placeholder_parameters`) the source lacks, which
    /// would have nothing to export.
    pub fn bind_weights(&mut self, source: &dyn crate::WeightSource) -> Result<usize, Error> {
        let graph = &mut self.captured.graph;
        let mut bound = vec![];
        let mut problems = vec![];
        for (n, node) in graph.constants() {
            let NodeKind::Constant { data, name, .. } = &node.kind else { continue };
            let Some(name) = name else {
                if !data.has_data() {
                    problems.push(format!("an unnamed placeholder ({}) has no data and no name to bind", data.meta()));
                }
                continue;
            };
            match source.weight(name, data.meta(), data.slice_of()) {
                Some(Ok(d)) => bound.push((n, d)),
                Some(Err(e)) => problems.push(format!("`{name}`: {e}")),
                None if !data.has_data() => {
                    problems.push(format!("`{name}` is a placeholder and the source has no weight of that name"))
                }
                None => {}
            }
        }
        if !problems.is_empty() {
            return Err(Error::Weights { problems });
        }
        let count = bound.len();
        for (n, d) in bound {
            graph.set_constant_data(n, d).map_err(|e| Error::Weights { problems: vec![e] })?;
        }
        Ok(count)
    }

    /// The ONNX model as bytes, weights inline. A model over protobuf's 2 GiB limit is
    /// [`crate::ExportError::TooLarge`]: save it with [`Traced::save_onnx`], which writes its
    /// weights as external data. Captured weights are read now, with the values they hold now;
    /// one whose dtype or shape changed since the trace is
    /// [`crate::ExportError::ConstantChanged`].
    pub fn to_onnx_bytes(&self, options: &ExportOptions) -> Result<Vec<u8>, Error> {
        Ok(tapir_onnx::to_bytes(&self.captured.graph, options)?)
    }

    /// Writes the ONNX model to `path` and returns the number of bytes written (model and data
    /// file). The file is written to a temporary name, synced and renamed into place, so `path`
    /// holds the old model or the new one and a failed save leaves nothing behind; a symbolic
    /// link is followed and its target replaced; a device or FIFO is written directly. Weights go
    /// to `<file name>.data` beside the model when the model exceeds 2 GiB or
    /// [`ExportOptions::external_data`] asks for it (`docs/reliability.md`).
    pub fn save_onnx(&self, path: impl AsRef<Path>, options: &ExportOptions) -> Result<u64, Error> {
        Ok(tapir_onnx::save(&self.captured.graph, path, options)?)
    }
}

impl fmt::Debug for Traced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.captured.graph.display(true))
    }
}

impl fmt::Display for Traced {
    /// The compact printed graph, without source locations.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.captured.graph.display(false))
    }
}

/// Options for a trace: input and output names, names of captured parameters.
///
/// ```
/// # fn main() -> Result<(), tapir::Error> {
/// let vs = tch::nn::VarStore::new(tch::Device::Cpu);
/// let w = vs.root().randn("weight", &[4, 3], 0.0, 1.0);
/// let x = tch::Tensor::randn([2, 3], (tch::Kind::Float, tch::Device::Cpu));
/// let traced = tapir::Tracer::new()
///     .input_names(["features"])
///     .output_names(["logits"])
///     .parameters(&vs)
///     .trace(|x| x[0].linear(&tapir::Tensor::from(&w), None::<&tapir::Tensor>), &[&x])?;
/// assert!(traced.unnamed_captures().is_empty()); // the weight is named "weight"
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, Default)]
pub struct Tracer {
    spec: TraceSpec,
    /// A dimension for axis 0 of every input (see [`Tracer::dynamic_batch`]).
    batch: Option<Dim>,
}

impl Tracer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Names of the graph inputs, in order (default `input`, or `input_0`, `input_1`, ...).
    pub fn input_names<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.spec.input_names = names.into_iter().map(Into::into).collect();
        self
    }

    /// Names of the graph outputs, in order (default `output`, or `output_0`, ...).
    pub fn output_names<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.spec.output_names = names.into_iter().map(Into::into).collect();
        self
    }

    /// Names captured tensors after their VarStore paths (`layer1.weight`, ...).
    pub fn parameters(mut self, vs: &tch::nn::VarStore) -> Self {
        let mut vars: Vec<(String, tch::Tensor)> = vs.variables().into_iter().collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        self.spec.constant_names.extend(vars);
        self
    }

    /// Traces without computing: every op runs its shape and dtype rules (torch's, restated
    /// by tapir and checked against torch's eager results by tapir's tests) instead of its
    /// eager rule, so a trace costs microseconds per op whatever the model's size. The graph,
    /// and so the exported model, is the one a real-data trace of the same code records. No
    /// value is computed: code that reads a traced value (`double_value`, `int64_value`,
    /// `bool_value`, `to_vec_*`) fails the trace with [`crate::CaptureError::ShapeOnly`], as
    /// does an op without the rules (a custom op that does not define
    /// [`OpDef::shape`](crate::define::OpDef::shape) and
    /// [`OpDef::dtypes`](crate::define::OpDef::dtypes); every built-in op has both); [`Traced::eager_outputs`] is
    /// empty. Size conditions the rules state (broadcasting, matmul's inner sizes, reshape's
    /// element count) fail the trace when they do not hold; a misuse only torch's kernels
    /// notice (a conv's channels against its weight's) may export a model ONNX Runtime
    /// rejects: trace a new model once with real data.
    ///
    /// ```
    /// # fn main() -> Result<(), tapir::Error> {
    /// let w = tch::Tensor::randn([4, 3], (tch::Kind::Float, tch::Device::Cpu));
    /// let x = tch::Tensor::zeros([2, 3], (tch::Kind::Float, tch::Device::Cpu));
    /// let f = |x: &[tapir::Tensor]| x[0].matmul(&tapir::Tensor::from(&w).tr()).relu();
    /// let fast = tapir::Tracer::new().shape_only().trace(f, &[&x])?;
    /// let real = tapir::Tracer::new().trace(f, &[&x])?;
    /// assert!(fast.eager_outputs().is_empty());
    /// let options = tapir::ExportOptions::default();
    /// assert_eq!(fast.to_onnx_bytes(&options)?, real.to_onnx_bytes(&options)?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn shape_only(mut self) -> Self {
        self.spec.shape_only = true;
        self
    }

    /// What reading a traced value does: allow, warn (default), or error.
    pub fn guard_policy(mut self, policy: crate::GuardPolicy) -> Self {
        self.spec.guard_policy = policy;
        self
    }

    /// Makes axis `axis` of input `input` (by name) the dynamic dimension `dim`: the exported
    /// model accepts any size there (in `dim`'s range), and everything computed from that size is
    /// computed in the graph, never baked. The same `Dim` name on two inputs ties them. Trace
    /// with a size of 2 or more there. See `docs/dynamic-shapes.md`.
    ///
    /// ```
    /// use tapir::{Dim, Tensor};
    /// # fn main() -> Result<(), tapir::Error> {
    /// let x = tch::Tensor::randn([2, 8, 4], (tch::Kind::Float, tch::Device::Cpu));
    /// let traced = tapir::Tracer::new()
    ///     .dynamic_dim("input", 0, Dim::new("batch"))
    ///     .dynamic_dim("input", 1, Dim::new("seq").range(1, 512))
    ///     .trace(|x| {
    ///         let (b, t, c) = x[0].sym_size3()?;
    ///         Ok::<_, tapir::CaptureError>(x[0].reshape((b * t, c)).softmax(-1, None).reshape((b, t, c)))
    ///     }, &[&x])?;
    /// // Runs at other batch sizes and lengths: replay here, any ONNX runtime on the export.
    /// let y = traced.replay(&[&tch::Tensor::randn([3, 5, 4], (tch::Kind::Float, tch::Device::Cpu))])?;
    /// assert_eq!(y[0].size(), [3, 5, 4]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn dynamic_dim(mut self, input: impl Into<String>, axis: usize, dim: Dim) -> Self {
        self.spec.dynamic.push(DynamicDim { input: input.into(), axis, dim });
        self
    }

    /// Lets the trace make a dynamic dimension static where the traced code needs it at its
    /// traced size (a `size()` read, a comparison that pins it), recording the guard
    /// `dim == size` (in `Traced::guards`-style metadata and checked by replay and
    /// `Traced::check`), instead of failing the trace. The dimension's `tapir.dim.*` metadata
    /// says why.
    pub fn allow_specialization(mut self) -> Self {
        self.spec.specialize = true;
        self
    }

    /// Makes axis 0 of every input the dynamic dimension `batch` (one symbol for all inputs).
    pub fn dynamic_batch(mut self) -> Self {
        self.batch = Some(Dim::new("batch"));
        self
    }

    /// Names one captured tensor.
    pub fn constant_name(mut self, name: impl Into<String>, tensor: &tch::Tensor) -> Self {
        self.spec.constant_names.push((name.into(), tensor.shallow_clone()));
        self
    }

    /// Traces `f` on several inputs.
    #[track_caller]
    pub fn trace<R: IntoOutputs>(
        &self,
        f: impl FnOnce(&[Tensor]) -> R,
        inputs: &[&tch::Tensor],
    ) -> Result<Traced, Error> {
        let spec = self.resolved_spec(inputs.len());
        let captured = trace_with(inputs, &spec, f)?;
        Ok(Traced { captured, spec })
    }

    /// The trace spec with [`Tracer::dynamic_batch`] expanded to each input's name.
    fn resolved_spec(&self, n_inputs: usize) -> TraceSpec {
        let mut spec = self.spec.clone();
        if let Some(batch) = &self.batch {
            for i in 0..n_inputs {
                let name = match spec.input_names.get(i) {
                    Some(name) => name.clone(),
                    None if n_inputs == 1 => "input".to_owned(),
                    None => format!("input_{i}"),
                };
                if !spec.dynamic.iter().any(|d| d.input == name && d.axis == 0) {
                    spec.dynamic.push(DynamicDim { input: name, axis: 0, dim: batch.clone() });
                }
            }
        }
        spec
    }
}

/// Traces `f` on one input: runs it once, eagerly, recording every op.
///
/// See [`Tracer`] for names and several inputs; the crate docs for an example.
#[track_caller]
pub fn trace<R: IntoOutputs>(f: impl FnOnce(&Tensor) -> R, input: &tch::Tensor) -> Result<Traced, Error> {
    Tracer::new().trace(|xs| f(&xs[0]), &[input])
}

/// Traces `f` on several inputs.
#[track_caller]
pub fn trace_n<R: IntoOutputs>(f: impl FnOnce(&[Tensor]) -> R, inputs: &[&tch::Tensor]) -> Result<Traced, Error> {
    Tracer::new().trace(f, inputs)
}
