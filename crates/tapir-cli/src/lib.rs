//! Support for the `tapir` binary.

pub mod draw;

use std::path::Path;
use tapir::onnx::proto::{tensor_shape_proto::dimension::Value as Dim, type_proto, ValueInfoProto};
use tapir::{ExportOptions, Traced};

/// An ONNX element type code's name (`f32`), or `type N` for one tapir does not write.
pub fn dtype_name(code: i32) -> String {
    tapir::DType::from_onnx_code(code).map_or(format!("type {code}"), |d| d.to_string())
}

/// A value's declared tensor type, `f32[batch<sep>3<sep>224<sep>224]` (unknown sizes as `?`), or
/// `None` for a value that is not a tensor.
pub fn tensor_type(v: &ValueInfoProto, sep: &str) -> Option<String> {
    let type_proto::Value::TensorType(t) = v.r#type.as_ref()?.value.as_ref()?;
    let dims: Vec<String> = t
        .shape
        .iter()
        .flat_map(|s| &s.dim)
        .map(|d| match &d.value {
            Some(Dim::DimValue(n)) => n.to_string(),
            Some(Dim::DimParam(p)) => p.clone(),
            None => "?".to_owned(),
        })
        .collect();
    Some(format!("{}[{}]", dtype_name(t.elem_type.unwrap_or(0)), dims.join(sep)))
}

/// Exports `traced`, runs `check` on the model's bytes, and only when it passes writes the model
/// to `path`: a model that fails its check never replaces what is there. Returns the bytes
/// written and the check's verdict.
pub fn save_checked(
    name: &str,
    traced: &Traced,
    path: &Path,
    options: &ExportOptions,
    check: impl FnOnce(&[u8]) -> Result<String, String>,
) -> Result<(u64, String), String> {
    let bytes = traced.to_onnx_bytes(options).map_err(|e| format!("cannot export {name}: {e}"))?;
    let verdict = check(&bytes)
        .map_err(|e| format!("{name}: the check in tract failed ({e}); {} was left as it was", path.display()))?;
    let size = traced.save_onnx(path, options).map_err(|e| format!("cannot save {name}: {e}"))?;
    Ok((size, verdict))
}
