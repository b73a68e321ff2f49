//! Support for the `tapir` binary.

pub mod draw;

use std::path::Path;
use tapir::{ExportOptions, Traced};

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
