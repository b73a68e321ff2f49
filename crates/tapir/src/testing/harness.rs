//! The checks tapir's own conformance tests run on every exported model, for any test suite:
//! export at each opset, run in tract, compare with eager, save for the Python checks. They
//! panic with a readable report on the first mismatch.

#![allow(clippy::unwrap_used)] // test support: a failed check is a test failure

use super::{check_dir, run_tract, save_for_python, save_io, Tolerance};
use crate::{CheckOptions, ExportOptions, IntoOutputs, Tensor, Traced};

/// Every opset tapir exports.
pub fn all_opsets() -> std::ops::RangeInclusive<i64> {
    crate::MIN_OPSET..=crate::MAX_OPSET
}

/// The opsets dynamic-shape checks export at: the first, a middle and the last.
pub fn dynamic_opsets() -> [i64; 3] {
    [crate::MIN_OPSET, 18, crate::MAX_OPSET]
}

fn to_f64(t: &tch::Tensor) -> Vec<f64> {
    Vec::<f64>::try_from(t.to_kind(tch::Kind::Double).flatten(0, -1)).unwrap()
}

/// Compares `actual` with `expected` element by element; `Ok` with the largest finite error, or
/// `Err` describing the first element beyond `tol`.
pub fn compare(actual: &[f64], expected: &[f64], tol: Tolerance) -> Result<f64, String> {
    if actual.len() != expected.len() {
        return Err(format!("{} elements, expected {}", actual.len(), expected.len()));
    }
    let mut max_err: f64 = 0.0;
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        let err = (a - e).abs();
        if !tol.allows(*a, *e) {
            return Err(format!("element {i}: got {a}, expected {e} (error {err:e}, tolerance {tol:?})"));
        }
        if err.is_finite() {
            max_err = max_err.max(err);
        }
    }
    Ok(max_err)
}

/// Exports `traced` at each opset, checks it in tract against the eager outputs (and its replay
/// on `inputs`), and saves it for the Python checks. `tol`: [`Tolerance::for_kind`] of each
/// output when `None`.
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
    assert!(!traced.is_shape_only(), "{name}: a shape-only trace has no eager outputs to check against");
    let eager = traced.eager_outputs();
    let tol_for = |t: &tch::Tensor| tol.unwrap_or_else(|| Tolerance::for_kind(t.kind()));
    let replayed = traced.replay(inputs).unwrap_or_else(|e| panic!("{name}: replay failed: {e}"));
    for (k, (r, e)) in replayed.iter().zip(eager).enumerate() {
        assert_eq!(r.size(), e.size(), "{name}: replayed output {k} shape");
        if let Err(msg) = compare(&to_f64(r), &to_f64(e), tol_for(e)) {
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
        for (k, (actual, expected)) in outs.iter().zip(eager).enumerate() {
            assert_eq!(actual.size(), expected.size(), "{name} @ opset {opset}: output {k} shape");
            if let Err(e) = compare(&to_f64(actual), &to_f64(expected), tol_for(expected)) {
                panic!("{name} @ opset {opset}: output {k} differs from eager in tract: {e}\n{traced}");
            }
        }
        save_for_python(name, opset, &bytes, inputs, eager, tol_for(&eager[0]));
    }
}

/// Checks a trace with dynamic dimensions at every input set in `sets` (the traced sizes first,
/// then others): eager `f` at those sizes against replay and tract at each opset of
/// [`dynamic_opsets`], and saves the model with every set's inputs and eager outputs for the
/// ONNX Runtime check (`io.safetensors`, `size1/io.safetensors`, ...).
pub fn check_dynamic<R: IntoOutputs>(
    name: &str,
    traced: &Traced,
    f: impl Fn(&[Tensor]) -> R,
    sets: &[Vec<tch::Tensor>],
    tol: Option<Tolerance>,
) {
    assert!(traced.graph().is_dynamic(), "{name}: the trace has no dynamic dimension");
    let eager: Vec<Vec<tch::Tensor>> = sets
        .iter()
        .map(|set| {
            let xs: Vec<Tensor> = set.iter().map(Tensor::from).collect();
            f(&xs)
                .into_outputs()
                .iter()
                .map(|t| t.to_tch().unwrap_or_else(|e| panic!("{name}: eager failed: {e}")))
                .collect()
        })
        .collect();
    let tol_for = |k: tch::Kind| tol.unwrap_or_else(|| Tolerance::for_kind(k));
    for opset in dynamic_opsets() {
        let opts = CheckOptions {
            tolerance: tol_for(eager[0][0].kind()),
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

/// ONNX Runtime's verdict on an exported model: as [`tract_verdict`], within `fraction` of each
/// output's scale.
pub fn onnxruntime_verdict(
    bytes: &[u8],
    inputs: &[&tch::Tensor],
    eager: &[tch::Tensor],
    fraction: f64,
) -> Result<String, String> {
    let outs = super::run_onnxruntime(bytes, inputs).map_err(|e| format!("FAILED to run: {e}"))?;
    verdict(&outs, eager, fraction)
}

fn verdict(outs: &[tch::Tensor], eager: &[tch::Tensor], fraction: f64) -> Result<String, String> {
    let mut worst = 0.0f64;
    for (got, want) in outs.iter().zip(eager) {
        let flat = |t: &tch::Tensor| {
            t.f_to_kind(tch::Kind::Double).and_then(|t| t.f_flatten(0, -1)).and_then(Vec::<f64>::try_from)
        };
        let (got, want) = (flat(got).unwrap_or_default(), flat(want).unwrap_or_default());
        let tol = Tolerance::of_scale(fraction, &want);
        let err = compare(&got, &want, tol).map_err(|e| format!("MISMATCH: {e}"))?;
        worst = worst.max(err);
    }
    Ok(format!("ok (max abs error vs eager {worst:.2e})"))
}

/// tract's verdict on an exported model: `Ok` with a one-line summary when every output is
/// within 1e-4 of its scale of the eager output ([`Tolerance::of_scale`]), `Err` saying what
/// failed otherwise. Never panics.
pub fn tract_verdict(bytes: &[u8], inputs: &[&tch::Tensor], eager: &[tch::Tensor]) -> Result<String, String> {
    let outs = run_tract(bytes, inputs).map_err(|e| format!("FAILED to run: {e}"))?;
    verdict(&outs, eager, 1e-4)
}
