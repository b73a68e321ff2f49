//! Export options and the opset/IR-version table.

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
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            opset: 20,
            graph_name: "main".to_owned(),
            producer_name: "tapir".to_owned(),
            producer_version: env!("CARGO_PKG_VERSION").to_owned(),
            doc_string: None,
            metadata: Vec::new(),
        }
    }
}

impl ExportOptions {
    /// Options targeting `opset`, everything else default.
    pub fn with_opset(opset: i64) -> Self {
        ExportOptions { opset, ..Self::default() }
    }
}
