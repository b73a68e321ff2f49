//! Verification, in one place (feature `testing`): for users' test suites, tapir's own tests,
//! the benches and the CLI.
//!
//! - [`assert_exports`]: trace a model, export it, and check it by replay, in tract and in ONNX
//!   Runtime (when its library is available: [`onnxruntime_available`]) against eager on the
//!   inputs you give.
//! - Runtimes: [`run_tract`], [`run_tract_file`], [`run_onnxruntime`].
//! - The rule: [`Tolerance`] (also [`crate::CheckOptions`]'), [`compare`].
//! - The conformance checks tapir's tests run on every model: [`check`], [`check_with`],
//!   [`check_dynamic`], [`tract_verdict`].
//! - Files for the independent Python checks (`tests/check_models.py`: the ONNX checker and ONNX
//!   Runtime): [`save_for_python`], [`save_file_for_python`], [`save_io`], under
//!   `$TAPIR_CHECK_DIR`.
//!
//! ```
//! use tapir::{testing, Tensor};
//! let w = Tensor::from(tch::Tensor::randn([3, 3], (tch::Kind::Float, tch::Device::Cpu)));
//! let model = |x: &[Tensor]| x[0].matmul(&w).relu();
//! let example = tch::Tensor::randn([2, 3], (tch::Kind::Float, tch::Device::Cpu));
//! let other = tch::Tensor::randn([2, 3], (tch::Kind::Float, tch::Device::Cpu));
//! // Panics with a readable report (which output, max error, first diverging guard) on failure.
//! let traced = testing::assert_exports(model, &[&example], &[vec![other]]);
//! assert_eq!(traced.graph().op_histogram().len(), 2);
//! ```

mod harness;
mod python;

pub use crate::onnxruntime::{onnxruntime_available, run_onnxruntime};
pub use crate::Tolerance;
use crate::{CheckOptions, IntoOutputs, Tensor, Traced, Tracer};
pub use harness::{
    all_opsets, check, check_dynamic, check_with, compare, dynamic_opsets, onnxruntime_verdict, tract_verdict,
};
pub use python::{check_dir, save_file_for_python, save_for_python, save_io, tch_bytes};
use tract_onnx::prelude::*;

fn datum_type(kind: tch::Kind) -> Result<DatumType, String> {
    Ok(match kind {
        tch::Kind::Float => f32::datum_type(),
        tch::Kind::Double => f64::datum_type(),
        tch::Kind::Int64 => i64::datum_type(),
        tch::Kind::Int => i32::datum_type(),
        tch::Kind::Int16 => i16::datum_type(),
        tch::Kind::Int8 => i8::datum_type(),
        tch::Kind::Uint8 => u8::datum_type(),
        tch::Kind::Bool => bool::datum_type(),
        tch::Kind::Half => f16::datum_type(),
        other => return Err(format!("tract has no type for {other:?}")),
    })
}

fn kind_of(dt: DatumType) -> tch::Kind {
    match dt {
        DatumType::F64 => tch::Kind::Double,
        DatumType::I64 => tch::Kind::Int64,
        DatumType::I32 => tch::Kind::Int,
        DatumType::I16 => tch::Kind::Int16,
        DatumType::I8 => tch::Kind::Int8,
        DatumType::U8 => tch::Kind::Uint8,
        DatumType::Bool => tch::Kind::Bool,
        DatumType::F16 => tch::Kind::Half,
        _ => tch::Kind::Float,
    }
}

fn to_tract(t: &tch::Tensor) -> Result<tract_onnx::prelude::Tensor, String> {
    let t = t.to_device(tch::Device::Cpu).contiguous();
    let shape: Vec<usize> = t.size().iter().map(|d| *d as usize).collect();
    let mut bytes = vec![0u8; t.numel() * t.kind().elt_size_in_bytes()];
    t.f_copy_data_u8(&mut bytes, t.numel()).map_err(|e| e.to_string())?;
    // SAFETY: `bytes` holds exactly numel elements of the tensor's dtype, row-major.
    unsafe { tract_onnx::prelude::Tensor::from_raw_dt(datum_type(t.kind())?, &shape, &bytes) }
        .map_err(|e| e.to_string())
}

/// Runs an ONNX model in tract and returns its outputs as tch tensors.
pub fn run_tract(bytes: &[u8], inputs: &[&tch::Tensor]) -> Result<Vec<tch::Tensor>, String> {
    run_tract_model(|| tract_onnx::onnx().model_for_read(&mut &bytes[..]), inputs)
}

/// Runs the ONNX model saved at `path` in tract (external data is read from beside it) and
/// returns its outputs as tch tensors.
pub fn run_tract_file(path: impl AsRef<std::path::Path>, inputs: &[&tch::Tensor]) -> Result<Vec<tch::Tensor>, String> {
    run_tract_model(|| tract_onnx::onnx().model_for_path(path.as_ref()), inputs)
}

fn run_tract_model(
    load: impl FnOnce() -> TractResult<InferenceModel>,
    inputs: &[&tch::Tensor],
) -> Result<Vec<tch::Tensor>, String> {
    let run = || -> TractResult<Vec<tch::Tensor>> {
        // Each input's fact is its actual type and shape: a model with dynamic dimensions is
        // specialized to this run's sizes (what its `dim_param`s stand for).
        let mut model = load()?;
        for (i, t) in inputs.iter().enumerate() {
            let dt = datum_type(t.kind()).map_err(TractError::msg)?;
            let shape: Vec<usize> = t.size().iter().map(|&d| d as usize).collect();
            model = model.with_input_fact(i, InferenceFact::dt_shape(dt, shape))?;
        }
        let model = model.into_optimized()?.into_runnable()?;
        let ins: TVec<TValue> = inputs
            .iter()
            .map(|t| to_tract(t).map(TValue::from))
            .collect::<Result<_, String>>()
            .map_err(TractError::msg)?;
        let outs = model.run(ins)?;
        outs.iter()
            .map(|o| {
                let kind = kind_of(o.datum_type());
                let shape: Vec<i64> = o.shape().iter().map(|d| *d as i64).collect();
                // Integers go through i64 (exact), floats through f64.
                if o.datum_type().is_float() {
                    let v: Vec<f64> = o.cast_to::<f64>()?.to_plain_array_view::<f64>()?.iter().copied().collect();
                    Ok(tch::Tensor::from_slice(&v).reshape(shape).to_kind(kind))
                } else {
                    let v: Vec<i64> = o.cast_to::<i64>()?.to_plain_array_view::<i64>()?.iter().copied().collect();
                    Ok(tch::Tensor::from_slice(&v).reshape(shape).to_kind(kind))
                }
            })
            .collect()
    };
    // tract asserts in some kernels (integer overflow in debug builds): a panic is its error too.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
        Ok(result) => result.map_err(|e| format!("{e:?}")),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(format!("tract panicked: {what}"))
        }
    }
}

/// Traces `f` on `example`, exports it, and checks it against eager on `example` and every set in
/// `more` (by replay and in tract). Panics with the check report when anything diverges or fails.
#[track_caller]
pub fn assert_exports<R: IntoOutputs>(
    f: impl Fn(&[Tensor]) -> R,
    example: &[&tch::Tensor],
    more: &[Vec<tch::Tensor>],
) -> Traced {
    assert_exports_with(&Tracer::new(), f, example, more)
}

/// [`assert_exports`] with `tracer`'s options: with dynamic dimensions declared, the sets in
/// `more` may have other sizes along them, and each is checked against eager at its own sizes.
#[track_caller]
pub fn assert_exports_with<R: IntoOutputs>(
    tracer: &Tracer,
    f: impl Fn(&[Tensor]) -> R,
    example: &[&tch::Tensor],
    more: &[Vec<tch::Tensor>],
) -> Traced {
    let traced = match tracer.trace(&f, example) {
        Ok(t) => t,
        Err(e) => panic!("tapir: tracing failed: {e}"),
    };
    let mut sets = vec![example.iter().map(|t| t.shallow_clone()).collect::<Vec<_>>()];
    sets.extend(more.iter().map(|s| s.iter().map(|t| t.shallow_clone()).collect()));
    let opts = CheckOptions { tract: true, onnxruntime: true, ..CheckOptions::default() };
    let report = traced.check(&f, &sets, &opts);
    if !report.is_ok() {
        panic!("tapir: {report}\ntraced program:\n{traced:?}");
    }
    if !report.not_run.is_empty() {
        static SAID: std::sync::Once = std::sync::Once::new();
        SAID.call_once(|| eprintln!("tapir::testing: not run: {}", report.not_run.join("; ")));
    }
    traced
}
