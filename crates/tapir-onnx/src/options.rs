//! Export options and the opset/IR-version table.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use tapir_graph::{Emit, LowerError, Op, Outputs};

/// Lowest opset tapir exports.
pub const MIN_OPSET: i64 = 13;
/// Highest opset tapir exports: the newest that the pinned ONNX Runtime (1.32) and tract (0.23)
/// both load and run, verified by the op table.
pub const MAX_OPSET: i64 = 28;

/// The ONNX IR version that goes with a default-domain opset (the ONNX release that introduced it).
pub fn ir_version_for_opset(opset: i64) -> i64 {
    match opset {
        ..=14 => 7,
        15..=18 => 8,
        19..=20 => 9,
        21..=22 => 10,
        23 => 11,
        24 => 12,
        25..=27 => 13,
        _ => 14,
    }
}

/// A lowering that replaces an op's own for one export: given the recorded op (downcast it
/// with `op.as_any().downcast_ref::<T>()` to read its attributes) and the lowering context.
pub type LoweringFn = dyn Fn(&dyn Op, &mut dyn Emit) -> Result<Outputs, LowerError> + Send + Sync;

/// Lowerings that replace built-in ones, by op name (`"gelu"`, `"layer_norm"`): for a target
/// runtime that lacks an ONNX op, or wants another form.
#[derive(Clone, Default)]
pub struct Lowerings {
    by_name: BTreeMap<&'static str, Arc<LoweringFn>>,
}

impl Lowerings {
    /// Lowers every op named `op` with `f` instead of the op's own lowering.
    pub fn set(
        &mut self,
        op: &'static str,
        f: impl Fn(&dyn Op, &mut dyn Emit) -> Result<Outputs, LowerError> + Send + Sync + 'static,
    ) {
        self.by_name.insert(op, Arc::new(f));
    }

    /// The replacement for ops named `op`, if any.
    pub fn get(&self, op: &str) -> Option<&LoweringFn> {
        self.by_name.get(op).map(|f| &**f)
    }

    /// Whether no lowering is replaced.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

impl fmt::Debug for Lowerings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.by_name.keys()).finish()
    }
}

impl PartialEq for Lowerings {
    /// Equal when the same ops are replaced by the same functions.
    fn eq(&self, other: &Self) -> bool {
        self.by_name.len() == other.by_name.len()
            && self.by_name.iter().zip(&other.by_name).all(|(a, b)| a.0 == b.0 && Arc::ptr_eq(a.1, b.1))
    }
}

impl Eq for Lowerings {}

/// How to write the model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportOptions {
    /// Default-domain opset to target. Defaults to 20, as PyTorch's exporters do.
    pub opset: i64,
    /// `GraphProto.name`.
    pub graph_name: String,
    /// `ModelProto.producer_name`.
    pub producer_name: String,
    /// `ModelProto.producer_version`.
    pub producer_version: String,
    /// `ModelProto.doc_string`, when set.
    pub doc_string: Option<String>,
    /// Extra `ModelProto.metadata_props`, written in this order.
    pub metadata: Vec<(String, String)>,
    /// Where [`crate::save`] puts the weights: inside the model file, or in a data file beside
    /// it. Default: [`ExternalData::Auto`].
    pub external_data: ExternalData,
    /// Lowerings replacing built-in ones for this export (see [`ExportOptions::lower_with`]).
    pub lowerings: Lowerings,
    /// Graph optimizations applied to the lowered model (constant folding, BatchNormalization
    /// folding, equal literals stored once, common subexpressions computed once); all on by
    /// default, [`crate::Optimizations::none`] for the model as lowered.
    pub optimize: crate::Optimizations,
    /// Convert float32 computation and weights to float16 or bfloat16 at export (after the
    /// optimizations), keeping normalizations and softmax in float32: see
    /// [`crate::HalfPrecision`]. Default: `None`, the dtypes as traced.
    pub half_precision: Option<crate::HalfPrecision>,
}

/// Where a saved model's weights go. A protobuf message cannot exceed 2 GiB, so a larger model
/// must keep its weights outside the model file, in ONNX's external-data layout: one data file
/// named `<model file name>.data` beside the model, each tensor of at least
/// [`EXTERNAL_DATA_MIN_BYTES`] at an aligned offset (64 KiB for tensors of 1 MiB and more, so
/// runtimes can memory-map them; 64 bytes otherwise), referenced by `location`, `offset` and
/// `length` entries. ONNX Runtime, the ONNX checker (given the model's path) and `onnx.load` read
/// it as long as the data file stays beside the model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ExternalData {
    /// Inline when the model fits in one protobuf message (2 GiB), external otherwise.
    #[default]
    Auto,
    /// Always external (for tensors of at least [`EXTERNAL_DATA_MIN_BYTES`]).
    Always,
    /// Always inline; a model over 2 GiB is an [`crate::ExportError::TooLarge`] error.
    Never,
}

/// Tensors smaller than this stay inside the model file even when weights are external (the
/// ONNX tools' default threshold).
pub const EXTERNAL_DATA_MIN_BYTES: usize = 1024;

/// The largest encoded protobuf message readers accept: 2 GiB - 1 byte.
pub const PROTOBUF_LIMIT: usize = i32::MAX as usize;

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            opset: 20,
            graph_name: "main".to_owned(),
            producer_name: "tapir".to_owned(),
            producer_version: env!("CARGO_PKG_VERSION").to_owned(),
            doc_string: None,
            metadata: Vec::new(),
            external_data: ExternalData::Auto,
            lowerings: Lowerings::default(),
            optimize: crate::Optimizations::default(),
            half_precision: None,
        }
    }
}

impl ExportOptions {
    /// Options targeting `opset`, everything else default.
    pub fn with_opset(opset: i64) -> Self {
        ExportOptions { opset, ..Self::default() }
    }

    /// These options, lowering every op named `op` with `f` instead of its own lowering.
    ///
    /// ```
    /// use tapir_graph::{emit, Emit};
    /// // A runtime without `HardSwish`: write it as `x * HardSigmoid(x)` at every opset.
    /// let options = tapir_onnx::ExportOptions::default().lower_with("hardswish", |_op, cx: &mut dyn Emit| {
    ///     let x = cx.input(0);
    ///     let alpha = ("alpha", tapir_graph::Attr::Float(1.0 / 6.0));
    ///     let hs = cx.node("HardSigmoid", &[x], vec![alpha, ("beta", tapir_graph::Attr::Float(0.5))]);
    ///     emit::one(cx.node("Mul", &[x, hs], vec![]))
    /// });
    /// assert!(!options.lowerings.is_empty());
    /// ```
    pub fn lower_with(
        mut self,
        op: &'static str,
        f: impl Fn(&dyn Op, &mut dyn Emit) -> Result<Outputs, LowerError> + Send + Sync + 'static,
    ) -> Self {
        self.lowerings.set(op, f);
        self
    }
}
