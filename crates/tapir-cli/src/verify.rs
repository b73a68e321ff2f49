//! Verification shared by the conformance tests and the demo.
//!
//! [`check`] exports a traced program at each requested opset, runs it in tract (in-process) and
//! compares with the eager outputs, and saves the model with its inputs and eager outputs under
//! `$TAPIR_CHECK_DIR` so that `tests/check_models.py` runs the ONNX checker and ONNX Runtime on
//! it too. Without `TAPIR_CHECK_DIR` (plain `cargo test`), only tract runs.

#![allow(clippy::unwrap_used)] // test support: a failed check is a test failure

use std::collections::HashMap;
use std::path::Path;
use std::path::PathBuf;
use tapir::{ExportOptions, Traced};

/// Every opset tapir exports.
pub fn all_opsets() -> std::ops::RangeInclusive<i64> {
    tapir::MIN_OPSET..=tapir::MAX_OPSET
}

/// Allowed difference: `|a - b| <= atol + rtol * |b|`.
#[derive(Clone, Copy, Debug)]
pub struct Tolerance {
    pub atol: f64,
    pub rtol: f64,
}

impl Tolerance {
    /// Default for a dtype: exact for integers and bools, 1e-5/1e-4 for f32, 1e-10 for f64,
    /// 1e-2 for half types.
    pub fn for_kind(kind: tch::Kind) -> Tolerance {
        match kind {
            tch::Kind::Float => Tolerance { atol: 1e-5, rtol: 1e-4 },
            tch::Kind::Double => Tolerance { atol: 1e-10, rtol: 1e-9 },
            tch::Kind::Half | tch::Kind::BFloat16 => Tolerance { atol: 1e-2, rtol: 1e-2 },
            _ => Tolerance { atol: 0.0, rtol: 0.0 },
        }
    }
}

/// Host bytes of a tch tensor (contiguous, row-major).
pub fn tch_bytes(t: &tch::Tensor) -> Vec<u8> {
    let t = t.to_device(tch::Device::Cpu).contiguous();
    let len = t.numel() * t.kind().elt_size_in_bytes();
    let mut out = vec![0u8; len];
    t.copy_data_u8(&mut out, t.numel());
    out
}

fn to_f64(t: &tch::Tensor) -> Vec<f64> {
    Vec::<f64>::try_from(t.to_kind(tch::Kind::Double).flatten(0, -1)).unwrap()
}

/// An output's shape and its values as `f64`.
pub type Flat = (Vec<usize>, Vec<f64>);

/// Runs an ONNX model in tract; each output as its shape and its values as `f64`.
pub fn run_tract(bytes: &[u8], inputs: &[&tch::Tensor]) -> Result<Vec<Flat>, String> {
    let outs = tapir::testing::run_tract(bytes, inputs)?;
    Ok(outs.iter().map(|o| (o.size().iter().map(|d| *d as usize).collect(), to_f64(o))).collect())
}

/// Compares `actual` with `expected`; returns a description of the worst element beyond tolerance.
pub fn compare(actual: &[f64], expected: &[f64], tol: Tolerance) -> Result<f64, String> {
    if actual.len() != expected.len() {
        return Err(format!("{} elements, expected {}", actual.len(), expected.len()));
    }
    let mut max_err: f64 = 0.0;
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        let err = (a - e).abs();
        if !tapir::within_tolerance(*a, *e, tol.atol, tol.rtol) {
            return Err(format!("element {i}: got {a}, expected {e} (error {err:e}, tolerance {tol:?})"));
        }
        if err.is_finite() {
            max_err = max_err.max(err);
        }
    }
    Ok(max_err)
}

/// Where models for the Python checks go, if enabled.
pub fn check_dir() -> Option<PathBuf> {
    std::env::var_os("TAPIR_CHECK_DIR").map(PathBuf::from)
}

/// Saves a model and its inputs and eager outputs for `tests/check_models.py`.
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
/// checks it by path. Returns the model's path, or `None` without `TAPIR_CHECK_DIR`.
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
/// tolerance in the metadata.
pub fn save_io(dir: &std::path::Path, inputs: &[&tch::Tensor], outputs: &[tch::Tensor], tol: Tolerance) {
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

/// Exports `traced` at each opset, checks it in tract against the eager outputs, and saves it for
/// the Python checks. Panics with a readable report on the first mismatch.
pub fn check(
    name: &str,
    traced: &Traced,
    inputs: &[&tch::Tensor],
    opsets: impl IntoIterator<Item = i64>,
    tol: Option<Tolerance>,
) {
    check_with(name, traced, inputs, opsets.into_iter().map(ExportOptions::with_opset), tol)
}

/// [`check`] with the given export options (one export per entry, e.g. with replaced lowerings).
pub fn check_with(
    name: &str,
    traced: &Traced,
    inputs: &[&tch::Tensor],
    options: impl IntoIterator<Item = ExportOptions>,
    tol: Option<Tolerance>,
) {
    let eager = traced.eager_outputs();
    let replayed = traced.replay(inputs).unwrap_or_else(|e| panic!("{name}: replay failed: {e}"));
    for (k, (r, e)) in replayed.iter().zip(eager).enumerate() {
        assert_eq!(r.size(), e.size(), "{name}: replayed output {k} shape");
        let tol = tol.unwrap_or_else(|| Tolerance::for_kind(e.kind()));
        if let Err(msg) = compare(&to_f64(r), &to_f64(e), tol) {
            panic!("{name}: replayed output {k} differs from eager: {msg}");
        }
    }
    for options in options {
        let opset = options.opset;
        let bytes =
            traced.to_onnx_bytes(&options).unwrap_or_else(|e| panic!("{name} @ opset {opset}: export failed: {e}"));
        let outs =
            run_tract(&bytes, inputs).unwrap_or_else(|e| panic!("{name} @ opset {opset}: tract failed: {e}\n{traced}"));
        assert_eq!(outs.len(), eager.len(), "{name} @ opset {opset}: output count");
        for (k, ((shape, actual), expected)) in outs.iter().zip(eager).enumerate() {
            let want: Vec<usize> = expected.size().iter().map(|d| *d as usize).collect();
            assert_eq!(shape, &want, "{name} @ opset {opset}: output {k} shape");
            let tol = tol.unwrap_or_else(|| Tolerance::for_kind(expected.kind()));
            if let Err(e) = compare(actual, &to_f64(expected), tol) {
                panic!("{name} @ opset {opset}: output {k} differs from eager in tract: {e}\n{traced}");
            }
        }
        let tol = tol.unwrap_or_else(|| Tolerance::for_kind(eager[0].kind()));
        save_for_python(name, opset, &bytes, inputs, eager, tol);
    }
}

/// The opsets dynamic-shape checks export at: the first, a middle and the last.
pub fn dynamic_opsets() -> [i64; 3] {
    [tapir::MIN_OPSET, 18, tapir::MAX_OPSET]
}

/// Checks a trace with dynamic dimensions at every input set in `sets` (the traced sizes first,
/// then others): eager `f` at those sizes against replay and tract at each opset of
/// [`dynamic_opsets`], and saves the model with every set's inputs and eager outputs for the
/// ONNX Runtime check (`io.safetensors`, `io.1.safetensors`, ...). Panics with the report.
pub fn check_dynamic<R: tapir::IntoOutputs>(
    name: &str,
    traced: &Traced,
    f: impl Fn(&[tapir::Tensor]) -> R,
    sets: &[Vec<tch::Tensor>],
    tol: Option<Tolerance>,
) {
    assert!(traced.graph().is_dynamic(), "{name}: the trace has no dynamic dimension");
    let eager: Vec<Vec<tch::Tensor>> = sets
        .iter()
        .map(|set| {
            let xs: Vec<tapir::Tensor> = set.iter().map(tapir::Tensor::from).collect();
            f(&xs)
                .into_outputs()
                .iter()
                .map(|t| t.to_tch().unwrap_or_else(|e| panic!("{name}: eager failed: {e}")))
                .collect()
        })
        .collect();
    for opset in dynamic_opsets() {
        let tol_for = |k: tch::Kind| tol.unwrap_or_else(|| Tolerance::for_kind(k));
        let opts = tapir::CheckOptions {
            atol: tol_for(eager[0][0].kind()).atol,
            rtol: tol_for(eager[0][0].kind()).rtol,
            tract: true,
            // ONNX Runtime checks these through tests/check_models.py (with its documented gaps).
            onnxruntime: false,
            opset,
        };
        let report = traced.check(&f, sets, &opts);
        assert!(report.is_ok(), "{name} @ opset {opset}: {report}\n{traced:?}");
        let Some(dir) = check_dir() else { continue };
        let dir = dir.join(name).join(format!("opset{opset}"));
        std::fs::create_dir_all(&dir).unwrap();
        let bytes = traced.to_onnx_bytes(&ExportOptions::with_opset(opset)).unwrap();
        std::fs::write(dir.join("model.onnx"), bytes).unwrap();
        for (k, (set, outs)) in sets.iter().zip(&eager).enumerate() {
            let sub = if k == 0 { dir.clone() } else { dir.join(format!("size{k}")) };
            std::fs::create_dir_all(&sub).unwrap();
            let inputs: Vec<&tch::Tensor> = set.iter().collect();
            save_io(&sub, &inputs, outs, tol_for(outs[0].kind()));
        }
    }
}

/// tract's verdict on an exported model: `Ok` with a one-line summary when every output is
/// within 1e-4 of its scale of the eager output, `Err` saying what failed otherwise.
pub fn tract_verdict(bytes: &[u8], inputs: &[&tch::Tensor], eager: &[tch::Tensor]) -> Result<String, String> {
    let outs = run_tract(bytes, inputs).map_err(|e| format!("FAILED to run: {e}"))?;
    let mut worst = 0.0f64;
    for ((_, got), want) in outs.iter().zip(eager) {
        let want = Vec::<f64>::try_from(want.to_kind(tch::Kind::Double).flatten(0, -1)).unwrap_or_default();
        let scale = want.iter().fold(1.0f64, |m, v| m.max(v.abs()));
        let err =
            compare(got, &want, Tolerance { atol: 1e-4 * scale, rtol: 0.0 }).map_err(|e| format!("MISMATCH: {e}"))?;
        worst = worst.max(err);
    }
    Ok(format!("ok (max abs error vs eager {worst:.2e})"))
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
