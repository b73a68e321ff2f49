//! Files for the independent checks in Python (`tests/check_models.py`: the ONNX checker and
//! ONNX Runtime): a model with its inputs and eager outputs, under `$TAPIR_CHECK_DIR`.

#![allow(clippy::unwrap_used)] // test support: a failed save is a test failure

use super::Tolerance;
use crate::{ExportOptions, Traced};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Host bytes of a tch tensor (contiguous, row-major).
pub fn tch_bytes(t: &tch::Tensor) -> Vec<u8> {
    let t = t.to_device(tch::Device::Cpu).contiguous();
    let len = t.numel() * t.kind().elt_size_in_bytes();
    let mut out = vec![0u8; len];
    t.copy_data_u8(&mut out, t.numel());
    out
}

/// Where models for the Python checks go: `$TAPIR_CHECK_DIR`, when set.
pub fn check_dir() -> Option<PathBuf> {
    std::env::var_os("TAPIR_CHECK_DIR").map(PathBuf::from)
}

/// Saves a model and its inputs and eager outputs as `<check dir>/<name>/opset<N>/` for
/// `tests/check_models.py`; does nothing without `$TAPIR_CHECK_DIR`.
pub fn save_for_python(
    name: &str,
    opset: i64,
    bytes: &[u8],
    inputs: &[&tch::Tensor],
    outputs: &[tch::Tensor],
    tol: Tolerance,
) {
    let Some(dir) = check_dir() else { return };
    let dir = dir.join(name).join(format!("opset{opset}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("model.onnx"), bytes).unwrap();
    save_io(&dir, inputs, outputs, tol);
}

/// Saves a model with [`Traced::save_onnx`] (so with its external data file, when `options`
/// or its size ask for one) and its inputs and eager outputs for `tests/check_models.py`, which
/// checks it by path. Returns the model's path, or `None` without `$TAPIR_CHECK_DIR`.
pub fn save_file_for_python(
    name: &str,
    traced: &Traced,
    options: &ExportOptions,
    inputs: &[&tch::Tensor],
    tol: Tolerance,
) -> Option<PathBuf> {
    let dir = check_dir()?.join(name).join(format!("opset{}", options.opset));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("model.onnx");
    traced.save_onnx(&path, options).unwrap_or_else(|e| panic!("{name}: save failed: {e}"));
    save_io(&dir, inputs, traced.eager_outputs(), tol);
    Some(path)
}

/// Writes `dir/io.safetensors`: inputs as `input.NNN`, eager outputs as `output.NNN`, the
/// tolerance in the metadata (`atol`, `rtol`).
pub fn save_io(dir: &Path, inputs: &[&tch::Tensor], outputs: &[tch::Tensor], tol: Tolerance) {
    let mut tensors: Vec<(String, Vec<u8>, safetensors::Dtype, Vec<usize>)> = vec![];
    for (prefix, list) in [("input", inputs.to_vec()), ("output", outputs.iter().collect())] {
        for (i, t) in list.iter().enumerate() {
            let dtype = match t.kind() {
                tch::Kind::Float => safetensors::Dtype::F32,
                tch::Kind::Double => safetensors::Dtype::F64,
                tch::Kind::Int64 => safetensors::Dtype::I64,
                tch::Kind::Int => safetensors::Dtype::I32,
                tch::Kind::Int16 => safetensors::Dtype::I16,
                tch::Kind::Int8 => safetensors::Dtype::I8,
                tch::Kind::Uint8 => safetensors::Dtype::U8,
                tch::Kind::Bool => safetensors::Dtype::BOOL,
                tch::Kind::Half => safetensors::Dtype::F16,
                tch::Kind::BFloat16 => safetensors::Dtype::BF16,
                other => panic!("cannot save {other:?}"),
            };
            let shape = t.size().iter().map(|d| *d as usize).collect();
            tensors.push((format!("{prefix}.{i:03}"), tch_bytes(t), dtype, shape));
        }
    }
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors
        .iter()
        .map(|(n, b, d, s)| (n.clone(), safetensors::tensor::TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    let meta = HashMap::from([("atol".to_owned(), tol.atol.to_string()), ("rtol".to_owned(), tol.rtol.to_string())]);
    let data = safetensors::tensor::serialize(views, Some(meta)).unwrap();
    std::fs::write(dir.join("io.safetensors"), data).unwrap();
}
