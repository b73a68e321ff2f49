//! Replay and trace checking: run a trace on new inputs and report where it diverges from eager.

use crate::{Error, IntoOutputs, Tensor, Traced};
use std::fmt;
use tapir_capture::{trace_with, CaptureError, GuardPolicy};
use tapir_graph::SourceLocation;

/// The allowed difference between a value a runtime computed and eager's: `|got - expected| <=
/// atol + rtol * |expected|`; equal values (infinities included) and two NaNs match. The one
/// tolerance rule of [`Traced::check`] and `tapir::testing`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    pub atol: f64,
    pub rtol: f64,
}

impl Default for Tolerance {
    /// float32's: `atol` 1e-5, `rtol` 1e-4.
    fn default() -> Self {
        Tolerance { atol: 1e-5, rtol: 1e-4 }
    }
}

impl Tolerance {
    /// The default for outputs of `kind`: exact for integers and bools, 1e-5/1e-4 for float32,
    /// 1e-10/1e-9 for float64, 1e-2/1e-2 for the half types.
    pub fn for_kind(kind: tch::Kind) -> Tolerance {
        match kind {
            tch::Kind::Float => Tolerance::default(),
            tch::Kind::Double => Tolerance { atol: 1e-10, rtol: 1e-9 },
            tch::Kind::Half | tch::Kind::BFloat16 => Tolerance { atol: 1e-2, rtol: 1e-2 },
            _ => Tolerance { atol: 0.0, rtol: 0.0 },
        }
    }

    /// An absolute tolerance of `fraction` of the largest magnitude in `expected` (at least 1):
    /// for whole models, whose outputs' scales vary.
    pub fn of_scale(fraction: f64, expected: &[f64]) -> Tolerance {
        let scale = expected.iter().filter(|v| v.is_finite()).fold(1.0f64, |m, v| m.max(v.abs()));
        Tolerance { atol: fraction * scale, rtol: 0.0 }
    }

    /// Whether `got` is within this tolerance of `expected`.
    pub fn allows(&self, got: f64, expected: f64) -> bool {
        got == expected
            || (got.is_nan() && expected.is_nan())
            || (got - expected).abs() <= self.atol + self.rtol * expected.abs()
    }
}

/// How [`Traced::check`] compares.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// Allowed difference between each runtime's outputs and eager's.
    pub tolerance: Tolerance,
    /// Also export the trace and run it in tract on each input set (feature `testing`).
    pub tract: bool,
    /// Also run the export in ONNX Runtime in-process on each input set (feature `testing`;
    /// when its library is not available, [`CheckReport::not_run`] says why).
    pub onnxruntime: bool,
    /// The opset exported for the tract and ONNX Runtime runs.
    pub opset: i64,
}

impl Default for CheckOptions {
    fn default() -> Self {
        let testing = cfg!(feature = "testing");
        CheckOptions { tolerance: Tolerance::default(), tract: testing, onnxruntime: testing, opset: 20 }
    }
}

/// One way a trace failed to reproduce eager execution on an input set.
#[derive(Clone, Debug, PartialEq)]
pub enum Divergence {
    /// An output differs beyond tolerance.
    Output {
        input_set: usize,
        output: String,
        runtime: &'static str,
        max_error: f64,
        first_bad: usize,
        eager: f64,
        got: f64,
    },
    /// An output has another shape or element count.
    OutputShape { input_set: usize, output: String, runtime: &'static str, eager: Vec<i64>, got: Vec<i64> },
    /// A guard observed a different value: the traced branch may not be the one eager took.
    Guard { input_set: usize, location: SourceLocation, read: &'static str, traced: String, observed: String },
    /// Eager execution recorded a different program (other ops, other guards).
    Structure { input_set: usize, traced: String, now: String },
    /// Something could not run at all.
    Failed { input_set: usize, runtime: &'static str, message: String },
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Divergence::Output { input_set, output, runtime, max_error, first_bad, eager, got } => write!(
                f,
                "input set {input_set}: output `{output}` in {runtime} differs from eager: max error {max_error:.3e}, first at element {first_bad} ({got} vs eager {eager})"
            ),
            Divergence::OutputShape { input_set, output, runtime, eager, got } => {
                write!(f, "input set {input_set}: output `{output}` in {runtime} has shape {got:?}, eager {eager:?}")
            }
            Divergence::Guard { input_set, location, read, traced, observed } => write!(
                f,
                "input set {input_set}: guard at {location} ({read}) observed {observed}, the trace was recorded with {traced}: the trace took a branch eager would not"
            ),
            Divergence::Structure { input_set, traced, now } => write!(
                f,
                "input set {input_set}: eager recorded a different program; first difference:\n    traced: {traced}\n    now:    {now}"
            ),
            Divergence::Failed { input_set, runtime, message } => write!(f, "input set {input_set}: {runtime} failed: {message}"),
        }
    }
}

/// The result of [`Traced::check`].
#[derive(Clone, Debug, Default)]
pub struct CheckReport {
    pub input_sets: usize,
    pub divergences: Vec<Divergence>,
    /// Runtimes asked for but not run, with the reason (`onnxruntime: ORT_DYLIB_PATH is not set`).
    pub not_run: Vec<String>,
}

impl CheckReport {
    /// No divergence on any input set.
    pub fn is_ok(&self) -> bool {
        self.divergences.is_empty()
    }

    /// The first guard that observed a different value, if any: usually the cause.
    pub fn first_guard(&self) -> Option<&Divergence> {
        self.divergences.iter().find(|d| matches!(d, Divergence::Guard { .. }))
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let not_run =
            if self.not_run.is_empty() { String::new() } else { format!(" (not run: {})", self.not_run.join("; ")) };
        if self.is_ok() {
            return write!(f, "trace matches eager on {} input set(s){not_run}", self.input_sets);
        }
        writeln!(
            f,
            "trace diverges from eager ({} divergence(s) over {} input set(s)):",
            self.divergences.len(),
            self.input_sets
        )?;
        for d in &self.divergences {
            writeln!(f, "  - {d}")?;
        }
        if let Some(Divergence::Guard { location, .. }) = self.first_guard() {
            writeln!(f, "  first diverging guard: {location}")?;
        }
        Ok(())
    }
}

fn flat_f64(t: &tch::Tensor) -> Result<Vec<f64>, String> {
    t.f_to_kind(tch::Kind::Double)
        .and_then(|t| t.f_flatten(0, -1))
        .and_then(Vec::<f64>::try_from)
        .map_err(|e| e.to_string())
}

/// Compares `got` with `eager`, pushing a divergence when they differ.
pub(crate) fn compare_outputs(
    input_set: usize,
    names: &[String],
    runtime: &'static str,
    got: &[tch::Tensor],
    eager: &[tch::Tensor],
    opts: &CheckOptions,
    out: &mut Vec<Divergence>,
) {
    for (k, (g, e)) in got.iter().zip(eager).enumerate() {
        let output = names.get(k).cloned().unwrap_or_else(|| k.to_string());
        if g.size() != e.size() {
            out.push(Divergence::OutputShape { input_set, output, runtime, eager: e.size(), got: g.size() });
            continue;
        }
        let (gv, ev) = match (flat_f64(g), flat_f64(e)) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(m), _) | (_, Err(m)) => {
                out.push(Divergence::Failed { input_set, runtime, message: m });
                continue;
            }
        };
        let mut first = None;
        let mut max_error = 0.0f64;
        for (i, (a, b)) in gv.iter().zip(&ev).enumerate() {
            if !opts.tolerance.allows(*a, *b) {
                let err = (a - b).abs();
                first.get_or_insert(i);
                max_error = max_error.max(if err.is_nan() { f64::INFINITY } else { err });
            }
        }
        if let Some(i) = first {
            out.push(Divergence::Output {
                input_set,
                output,
                runtime,
                max_error,
                first_bad: i,
                eager: ev[i],
                got: gv[i],
            });
        }
    }
}

/// The printed program without guards and dimension lines (which hold observed values); in a
/// trace with dynamic dimensions, sizes print as expressions, so the program is the same at
/// every size.
fn program_lines(g: &tapir_graph::Graph) -> Vec<String> {
    g.display(false)
        .to_string()
        .lines()
        .filter(|l| !l.starts_with("guard ") && !l.starts_with("dim "))
        .map(str::to_owned)
        .collect()
}

impl Traced {
    /// Runs the recorded graph on `inputs` with tch (an interpreter over the graph). Inputs must
    /// have the traced dtypes and shapes, except along dynamic dimensions, where any size in the
    /// declared range that satisfies the trace's size guards runs (others are an error naming the
    /// dimension and the guard).
    pub fn replay(&self, inputs: &[&tch::Tensor]) -> Result<Vec<tch::Tensor>, Error> {
        Ok(tapir_capture::replay(self.graph(), inputs)?)
    }

    /// Runs `f` eagerly and the trace (by replay, and in tract when `opts.tract`) on each input
    /// set, and reports every divergence: outputs beyond tolerance, guards that observed another
    /// value, a different recorded program. `f` must be the function that was traced.
    pub fn check<R: IntoOutputs>(
        &self,
        f: impl Fn(&[Tensor]) -> R,
        input_sets: &[Vec<tch::Tensor>],
        opts: &CheckOptions,
    ) -> CheckReport {
        let mut report = CheckReport { input_sets: input_sets.len(), divergences: vec![], not_run: vec![] };
        let names: Vec<String> = self.graph().outputs().iter().map(|o| o.name.clone()).collect();
        let traced_program = program_lines(self.graph());
        let mut opts = opts.clone();
        if opts.onnxruntime {
            if let Err(why) = onnxruntime_available() {
                report.not_run.push(format!("onnxruntime: {why}"));
                opts.onnxruntime = false;
            }
        }
        let opts = &opts;
        let onnx = if opts.tract || opts.onnxruntime {
            Some(self.to_onnx_bytes(&crate::ExportOptions::with_opset(opts.opset)))
        } else {
            None
        };
        let mut spec = self.spec.clone();
        spec.guard_policy = GuardPolicy::Allow;
        for (i, set) in input_sets.iter().enumerate() {
            let inputs: Vec<&tch::Tensor> = set.iter().collect();
            let d = &mut report.divergences;
            if self.graph().is_dynamic() {
                if let Err(e) = tapir_capture::dim_sizes(self.graph(), &inputs) {
                    d.push(Divergence::Failed { input_set: i, runtime: "dynamic shapes", message: e.to_string() });
                    continue;
                }
            }
            let now = match trace_with(&inputs, &spec, &f) {
                Ok(now) => now,
                // A dynamic dimension at size 1 cannot be traced dynamic (broadcasting could hide
                // it), but the model runs there: a static trace gives eager's outputs and the
                // values its guards read.
                Err(CaptureError::BadDim { .. }) if self.graph().is_dynamic() => {
                    let mut static_spec = spec.clone();
                    static_spec.dynamic.clear();
                    match trace_with(&inputs, &static_spec, &f) {
                        Ok(now) => {
                            value_guards(self, i, &now, d);
                            compare_runtimes(self, i, &names, &inputs, &now.outputs, onnx.as_ref(), opts, d);
                        }
                        Err(_) => match run_eager(&f, &inputs) {
                            Ok(outputs) => compare_runtimes(self, i, &names, &inputs, &outputs, onnx.as_ref(), opts, d),
                            Err(message) => d.push(Divergence::Failed { input_set: i, runtime: "eager", message }),
                        },
                    }
                    continue;
                }
                Err(e) => {
                    d.push(Divergence::Failed { input_set: i, runtime: "eager", message: e.to_string() });
                    continue;
                }
            };
            value_guards(self, i, &now, d);
            let now_program = program_lines(&now.graph);
            let guards_differ = self.graph().guards().len() != now.graph.guards().len()
                || self
                    .graph()
                    .guards()
                    .iter()
                    .zip(now.graph.guards())
                    .any(|(t, n)| t.location != n.location || t.read != n.read);
            if now_program != traced_program || guards_differ {
                let (a, b) = first_difference(&traced_program, &now_program);
                d.push(Divergence::Structure { input_set: i, traced: a, now: b });
            }
            compare_runtimes(self, i, &names, &inputs, &now.outputs, onnx.as_ref(), opts, d);
        }
        report
    }
}

/// A divergence for each guard (a value read) that observed another value in `now`.
fn value_guards(traced: &Traced, i: usize, now: &tapir_capture::Captured, d: &mut Vec<Divergence>) {
    for (t, n) in traced.graph().guards().iter().zip(now.graph.guards()) {
        if t.location == n.location && t.read == n.read && t.observed != n.observed {
            d.push(Divergence::Guard {
                input_set: i,
                location: t.location,
                read: t.read,
                traced: t.observed.clone(),
                observed: n.observed.clone(),
            });
        }
    }
}

/// `f` run eagerly (no trace) on `inputs`.
fn run_eager<R: IntoOutputs>(f: &impl Fn(&[Tensor]) -> R, inputs: &[&tch::Tensor]) -> Result<Vec<tch::Tensor>, String> {
    let xs: Vec<Tensor> = inputs.iter().map(|t| Tensor::from(*t)).collect();
    f(&xs).into_outputs().iter().map(|t| t.to_tch().map_err(|e| e.to_string())).collect()
}

/// Compares replay and (when exported) tract and ONNX Runtime with the eager outputs of one
/// input set.
#[allow(clippy::too_many_arguments)]
fn compare_runtimes(
    traced: &Traced,
    i: usize,
    names: &[String],
    inputs: &[&tch::Tensor],
    eager: &[tch::Tensor],
    onnx: Option<&Result<Vec<u8>, Error>>,
    opts: &CheckOptions,
    d: &mut Vec<Divergence>,
) {
    match traced.replay(inputs) {
        Ok(got) => compare_outputs(i, names, "replay", &got, eager, opts, d),
        Err(e) => d.push(Divergence::Failed { input_set: i, runtime: "replay", message: e.to_string() }),
    }
    match onnx {
        None => {}
        Some(Err(e)) => d.push(Divergence::Failed { input_set: i, runtime: "export", message: e.to_string() }),
        Some(Ok(bytes)) => {
            for (runtime, on) in [("tract", opts.tract), ("onnxruntime", opts.onnxruntime)] {
                if on {
                    match run_exported(runtime, bytes, inputs) {
                        Ok(got) => compare_outputs(i, names, runtime, &got, eager, opts, d),
                        Err(message) => d.push(Divergence::Failed { input_set: i, runtime, message }),
                    }
                }
            }
        }
    }
}

#[cfg(feature = "testing")]
fn onnxruntime_available() -> Result<(), String> {
    crate::testing::onnxruntime_available()
}

#[cfg(not(feature = "testing"))]
fn onnxruntime_available() -> Result<(), String> {
    Err("tapir was built without the `testing` feature".into())
}

/// Runs the exported model in `runtime` (`tract` or `onnxruntime`).
#[cfg(feature = "testing")]
fn run_exported(runtime: &str, bytes: &[u8], inputs: &[&tch::Tensor]) -> Result<Vec<tch::Tensor>, String> {
    match runtime {
        "tract" => crate::testing::run_tract(bytes, inputs),
        _ => crate::testing::run_onnxruntime(bytes, inputs),
    }
}

#[cfg(not(feature = "testing"))]
fn run_exported(_: &str, _: &[u8], _: &[&tch::Tensor]) -> Result<Vec<tch::Tensor>, String> {
    Err("tapir was built without the `testing` feature".into())
}

fn first_difference(a: &[String], b: &[String]) -> (String, String) {
    let n = a.len().max(b.len());
    for k in 0..n {
        let (x, y) = (a.get(k), b.get(k));
        if x != y {
            return (x.cloned().unwrap_or_else(|| "<end>".into()), y.cloned().unwrap_or_else(|| "<end>".into()));
        }
    }
    ("<same ops>".into(), "<other guards>".into())
}
