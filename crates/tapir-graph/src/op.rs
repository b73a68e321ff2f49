//! The `Op` trait every recorded operation implements, and the lowering interface it emits ONNX
//! through. The interface speaks ONNX's vocabulary (op types, attributes, opsets) but holds no
//! protobuf types: `tapir-onnx` implements it.

use crate::sym::{SymDims, SymInt};
use crate::{DType, TensorMeta};
use smallvec::SmallVec;
use std::any::Any;
use std::fmt;

/// One recorded operation. Its fields are its attributes; its inputs and outputs live on the graph.
pub trait Op: fmt::Debug + Send + Sync + 'static {
    /// Stable snake_case name, as listed in `docs/supported-ops.md` (`add`, `conv2d`, ...).
    fn name(&self) -> &'static str;

    /// Attributes for the printed graph (`dim=1, keepdim`); empty when the op has none.
    fn describe(&self) -> String {
        String::new()
    }

    /// Emits the ONNX nodes computing this op at `cx.opset()` and returns one symbol per output.
    /// Must either succeed or return a [`LowerError`]; it never panics.
    fn lower(&self, cx: &mut dyn Emit) -> Result<Outputs, LowerError>;

    /// For passes and interpreters that need the concrete op.
    fn as_any(&self) -> &dyn Any;

    /// Runs the op for replay on a runtime's tensors (tch tensors, for `tapir-capture`), given
    /// the recorded output metadata. `None` when the op has no replay.
    fn eval(&self, inputs: &[&dyn Any], outputs: &[TensorMeta]) -> Option<Result<Vec<Box<dyn Any>>, String>> {
        let _ = (inputs, outputs);
        None
    }
}

/// A value in the ONNX graph being emitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sym(pub u32);

/// The symbols an op's lowering returns, one per output of the recorded node.
pub type Outputs = SmallVec<[Sym; 2]>;

/// An ONNX node attribute value.
#[derive(Clone, Debug, PartialEq)]
pub enum Attr {
    Int(i64),
    Float(f32),
    Ints(Vec<i64>),
    Floats(Vec<f32>),
    String(String),
}

/// What an op's lowering may do: read its node's inputs, emit ONNX nodes and constants.
pub trait Emit {
    /// The opset being targeted (default domain).
    fn opset(&self) -> i64;
    /// Number of inputs of the node being lowered.
    fn num_inputs(&self) -> usize;
    /// The `i`-th input of the node being lowered.
    fn input(&self, i: usize) -> Sym;
    /// Observed dtype and shape of the `i`-th input.
    fn input_meta(&self, i: usize) -> &TensorMeta;
    /// Number of outputs of the node being lowered.
    fn num_outputs(&self) -> usize;
    /// Observed dtype and shape of the `i`-th output.
    fn output_meta(&self, i: usize) -> &TensorMeta;
    /// Emits a single-output node and returns its output.
    fn node(&mut self, op_type: &str, inputs: &[Sym], attrs: Vec<(&'static str, Attr)>) -> Sym {
        self.node_n(op_type, inputs, attrs, 1)[0]
    }
    /// Emits a node with `n_outputs` outputs.
    fn node_n(&mut self, op_type: &str, inputs: &[Sym], attrs: Vec<(&'static str, Attr)>, n_outputs: usize) -> Outputs;
    /// Emits a node of operator set `domain` (not the default one, e.g. `com.example` or
    /// `com.microsoft`), version `version`, which the model then imports. Its schema is the
    /// domain's business: it is not type-checked, and its outputs' dtypes are taken from the op's
    /// traced outputs when returned as the op's results. Importing one domain at two versions
    /// is an error.
    fn domain_node(
        &mut self,
        domain: &str,
        version: i64,
        op_type: &str,
        inputs: &[Sym],
        attrs: Vec<(&'static str, Attr)>,
        n_outputs: usize,
    ) -> Outputs;
    /// A constant 1-D int64 tensor (axes, shapes, pads, starts/ends, split sizes).
    fn const_i64s(&mut self, values: &[i64]) -> Sym;
    /// A constant scalar (0-D) of `dtype` holding `value` converted to that type.
    fn const_scalar(&mut self, dtype: DType, value: f64) -> Sym;
    /// A constant integer scalar (0-D) of `dtype`, exact for every int64 when `dtype` is int64
    /// (`const_scalar` goes through f64, exact only to 2^53).
    fn const_scalar_i64(&mut self, dtype: DType, value: i64) -> Sym;
    /// The empty name for an omitted optional input.
    fn absent(&self) -> Sym;
    /// The shape of the `i`-th input as sizes: symbolic where a dimension is dynamic.
    fn input_dims(&self, i: usize) -> SymDims;
    /// The shape of the `i`-th output as sizes: symbolic where a dimension is dynamic.
    fn output_dims(&self, i: usize) -> SymDims;
    /// A 1-D int64 tensor holding `dims`: the constant [`Emit::const_i64s`] when every size is
    /// static, otherwise computed in the graph from the inputs' shapes.
    fn dims_tensor(&mut self, dims: &[SymInt]) -> Sym;
    /// Whether the graph being lowered has dynamic dimensions. Lowerings that read observed
    /// shapes from [`Emit::input_meta`] / [`Emit::output_meta`] must use
    /// [`Emit::input_dims`] / [`Emit::output_dims`] and [`Emit::dims_tensor`] instead when a
    /// size they read is dynamic (the exporter refuses a lowering that bakes one).
    fn is_dynamic(&self) -> bool;
}

/// Why an op could not be lowered. The exporter adds the node's source location.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("op `{op}` cannot be exported at opset {opset}: {reason}")]
pub struct LowerError {
    pub op: &'static str,
    pub opset: i64,
    pub reason: String,
}

impl LowerError {
    pub fn new(op: &'static str, opset: i64, reason: impl Into<String>) -> Self {
        LowerError { op, opset, reason: reason.into() }
    }
}

/// Helpers shared by lowerings.
pub mod emit {
    use super::*;

    /// A single-symbol `Outputs`.
    pub fn one(s: Sym) -> Result<Outputs, LowerError> {
        Ok(smallvec::smallvec![s])
    }

    /// `Cast` to `to` unless `from` already is `to`.
    pub fn cast(cx: &mut dyn Emit, s: Sym, from: DType, to: DType) -> Sym {
        if from == to {
            s
        } else {
            cx.node("Cast", &[s], vec![("to", Attr::Int(to.onnx_code() as i64))])
        }
    }

    /// Input `i` cast to `to` if needed.
    pub fn input_as(cx: &mut dyn Emit, i: usize, to: DType) -> Sym {
        let (s, from) = (cx.input(i), cx.input_meta(i).dtype);
        cast(cx, s, from, to)
    }

    /// Normalizes a possibly negative axis against `rank`.
    pub fn axis(a: i64, rank: usize) -> i64 {
        if a < 0 {
            a + rank as i64
        } else {
            a
        }
    }

    /// `Unsqueeze` with the axes as a constant input (opset 13 and later).
    pub fn unsqueeze(cx: &mut dyn Emit, s: Sym, axes: &[i64]) -> Sym {
        let axes = cx.const_i64s(axes);
        cx.node("Unsqueeze", &[s, axes], vec![])
    }

    /// `Reshape` to `dims` (computed in the graph where dynamic).
    pub fn reshape_dims(cx: &mut dyn Emit, s: Sym, dims: &[SymInt]) -> Sym {
        let shape = cx.dims_tensor(dims);
        cx.node("Reshape", &[s, shape], vec![])
    }

    /// `Reshape` of `s` to the shape of output `k` of the op being lowered.
    pub fn reshape_to_output(cx: &mut dyn Emit, s: Sym, k: usize) -> Sym {
        let dims = cx.output_dims(k);
        reshape_dims(cx, s, &dims)
    }

    /// `Reshape` to a static shape.
    pub fn reshape(cx: &mut dyn Emit, s: Sym, shape: &[i64]) -> Sym {
        let shape = cx.const_i64s(shape);
        cx.node("Reshape", &[s, shape], vec![])
    }

    /// `Squeeze` with the axes as a constant input (opset 13 and later).
    pub fn squeeze(cx: &mut dyn Emit, s: Sym, axes: &[i64]) -> Sym {
        let axes = cx.const_i64s(axes);
        cx.node("Squeeze", &[s, axes], vec![])
    }

    /// Lowers an op with an axis (a reduction, an arg-reduction, softmax, a gather) on a 0-d
    /// input 0. torch treats a 0-d tensor as having one dimension of size 1 there (`dim` 0 or
    /// -1), while the ONNX ops need rank 1 or more: `body` gets input 0 (reshaped to `[1]` when
    /// it is 0-d, so its recorded axis 0 is valid) and each of its results is reshaped to the
    /// op's output shape.
    pub fn rank0_as_rank1(
        cx: &mut dyn Emit,
        body: impl FnOnce(&mut dyn Emit, Sym) -> Result<Outputs, LowerError>,
    ) -> Result<Outputs, LowerError> {
        let x = cx.input(0);
        if cx.input_meta(0).rank() != 0 {
            return body(cx, x);
        }
        let x = reshape(cx, x, &[1]);
        let outs = body(cx, x)?;
        let mut shaped = Outputs::new();
        for (k, s) in outs.into_iter().enumerate() {
            shaped.push(reshape_to_output(cx, s, k));
        }
        Ok(shaped)
    }
}

/// The data of a constant value (a captured weight, a literal). Implemented by the capture layer
/// over tch tensors, so the graph crate never sees tch.
///
/// Contract: the data may change between trace and export (a training step updates a weight in
/// place), but its dtype and shape must stay those of [`ConstData::meta`]: export checks
/// [`ConstData::current_meta`] first and refuses a constant whose type or shape changed, and
/// [`ConstData::write_bytes`] re-checks before reading a single byte, so no export ever reads
/// memory the constant does not own.
pub trait ConstData: fmt::Debug + Send + Sync {
    /// Dtype and shape as recorded by the trace (what the graph was built for).
    fn meta(&self) -> &TensorMeta;
    /// Dtype and shape the data has now, or why they cannot be read (an undefined tensor, a
    /// dtype ONNX cannot hold).
    fn current_meta(&self) -> Result<TensorMeta, String>;
    /// The concrete type, for the runtime that created it (replay reads tch tensors back).
    fn as_any(&self) -> &dyn Any;
    /// Calls `sink` with the data as little-endian, row-major bytes, possibly in several pieces:
    /// exactly `meta().byte_len()` bytes in all. Host-contiguous data is lent without copying;
    /// other data is copied once. Errors, without calling `sink`, when the data no longer has
    /// `meta()`'s dtype and shape.
    fn write_bytes(&self, sink: &mut dyn FnMut(&[u8]) -> std::io::Result<()>) -> std::io::Result<()>;
    /// The named weight this constant is a slice of (see [`SliceOf`]), if it is one.
    fn slice_of(&self) -> Option<&SliceOf> {
        None
    }
    /// Whether the constant holds its data; `false` for a placeholder whose bytes are to come
    /// from a [`WeightSource`] (its [`ConstData::write_bytes`] fails until then).
    fn has_data(&self) -> bool {
        true
    }
}

/// A constant that is rows `start..start + len` along `dim` of the weight named `parent` (a
/// layer's packed parameter cut into the initializers it uses, such as attention's q, k and v
/// projections), so its bytes can be taken from the parent's in a [`WeightSource`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SliceOf {
    pub parent: String,
    pub dim: i64,
    pub start: i64,
    pub len: i64,
}

/// What a [`WeightSource`] gives for one constant: the data standing for it, or why it has
/// none that can.
pub type Weight = Result<std::sync::Arc<dyn ConstData>, String>;

/// Where the bytes of a traced model's named weights come from at export (a checkpoint read
/// in place): what `Traced::bind_weights` asks for each named constant.
pub trait WeightSource {
    /// The data standing for the constant named `name`, traced as `meta`: `None` when the
    /// source has no weight of that name, an error when it has one that cannot stand for it
    /// (another shape, a dtype it cannot convert). `slice` (when the constant is a slice of a
    /// named weight, and `name` is not in the source): the part of the source's weight
    /// `slice.parent` to take instead.
    fn weight(&self, name: &str, meta: &TensorMeta, slice: Option<&SliceOf>) -> Option<Weight>;
}

/// Implements [`Op::name`] and [`Op::as_any`] inside an `impl Op for ...` block.
#[macro_export]
macro_rules! op_name {
    ($name:literal) => {
        fn name(&self) -> &'static str {
            $name
        }
        fn as_any(&self) -> &dyn ::std::any::Any {
            self
        }
    };
}
