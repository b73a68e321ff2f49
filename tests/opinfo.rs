//! PyTorch's OpInfo samples through every op tapir has.
//!
//! `tests/opinfo_samples.py` (run here with the project's Python, cached by the script's hash)
//! dumps the `reference_inputs` of each OpInfo in its list, in float32, int64 and bool, with
//! torch's own outputs. Each sample is mapped to the tapir method (see [`adapt`]); a sample whose
//! arguments tapir's signatures cannot express is counted as such. Every expressible sample is
//! traced (tapir's eager result must equal torch's), exported at [`OPSETS`], run in tract against
//! torch's output, and saved for `tests/check_models.py` (ONNX checker and ONNX Runtime).
//!
//! Every sample ends in one of three outcomes, and nothing else is allowed: it passes
//! everywhere; it is refused with a typed error at trace or export time, listed in [`REFUSED`]
//! with the reason; or a runtime cannot run it, listed in [`TRACT_LIMITS`] (and, for ONNX
//! Runtime, in the model's metadata for the Python check) with the runtime's message.
//! `docs/opinfo.md` holds the counts (regenerated with `TAPIR_BLESS=1`, checked otherwise).

#![allow(clippy::unwrap_used)]

use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use tapir::{ExportOptions, Tensor, Tracer};
use tapir_conformance::{compare, save_for_python, Tolerance};
use tch::Kind;

/// Opsets every expressible sample is exported at.
const OPSETS: [i64; 3] = [13, 17, 20];

/// Refusals by design: (OpInfo name, a substring of the error). A refusal not listed fails.
const REFUSED: &[(&str, &str, &str)] = &[
    (
        "nn.functional.adaptive_avg_pool1d",
        "is not a multiple of output",
        "adaptive pooling to a size that does not divide the input has windows of varying size, which ONNX's pooling ops cannot express",
    ),
    ("nn.functional.batch_norm", "training mode", "batch statistics in training mode are not traced"),
    ("nn.functional.dropout", "cannot be traced", "dropout in training mode is random"),
    (
        "nn.functional.adaptive_avg_pool2d",
        "is not a multiple of output",
        "adaptive pooling to a size that does not divide the input has windows of varying size, which ONNX's pooling ops cannot express",
    ),
    (
        "nn.functional.avg_pool2d",
        "with ceil_mode=true has no ONNX equivalent",
        "divisor_override with ceil_mode: the last windows may overhang the input, and Conv has no ceil_mode to sum them",
    ),
];

/// tract gaps: (OpInfo name, dtype, a substring of tract's error or of the mismatch).
const TRACT_LIMITS: &[(&str, &str, &str)] = &[
    // tract's optimizer makes a Square of Mul(x, x), which has no int64 or bool kernel.
    ("square", "int64", "Square"),
    ("square", "bool", "Square"),
    ("bmm", "int64", "Can't build a WeightType from I64"),
    ("baddbmm", "int64", "Can't build a WeightType from I64"),
    // tract's reflect and edge Pad overflow on negative (cropping) pads.
    ("nn.functional.pad", "float32", "attempt to add with overflow"),
    ("nn.functional.pad", "int64", "attempt to add with overflow"),
    // tract's integer matrix product has no int64 kernel.
    ("matmul", "int64", "Can't build a WeightType from I64"),
    ("nn.functional.linear", "int64", "Can't build a WeightType from I64"),
    // tract's integer Pow asserts on overflow (torch wraps).
    ("pow", "int64", "tract panicked: attempt to multiply with overflow"),
    // tract's Relu, Sigmoid, Tanh, Clip and HardSigmoid do not propagate NaN.
    ("nn.functional.relu6", "float32", "expected NaN"),
    ("nn.functional.hardtanh", "float32", "expected NaN"),
    ("nn.functional.hardsigmoid", "float32", "expected NaN"),
    ("nn.functional.relu", "float32", "expected NaN"),
    ("nn.functional.silu", "float32", "expected NaN"),
    ("sigmoid", "float32", "expected NaN"),
    ("tanh", "float32", "expected NaN"),
];

/// ONNX Runtime gaps: (OpInfo name, dtype, a substring of ONNX Runtime's message). The Python
/// check accepts exactly this failure for those models.
const ORT_LIMITS: &[(&str, &str, &str)] = &[
    // ONNX Runtime computes integer Pow through double and saturates on overflow (torch wraps).
    ("pow", "int64", "output 0: element"),
    // Integer convolutions are computed in float64 (ONNX's Conv takes floating-point types
    // only); ONNX Runtime has float32 Conv and ConvTranspose kernels, no float64 ones.
    ("nn.functional.conv1d", "int64", "Could not find an implementation for Conv"),
    ("nn.functional.conv2d", "int64", "Could not find an implementation for Conv"),
    ("nn.functional.conv_transpose2d", "int64", "Could not find an implementation for ConvTranspose"),
    ("nn.functional.avg_pool2d", "int64", "Could not find an implementation for"),
    ("nn.functional.avg_pool1d", "int64", "Could not find an implementation for"),
    // ONNX Runtime takes a ConvTranspose output_padding only below the stride; torch also below
    // the dilation. tapir writes an output padding within the padding as end padding instead,
    // so only a larger one meets this.
    ("nn.functional.conv_transpose2d", "float32", "may be too large for stride"),
];

type Program = Box<dyn Fn(&[Tensor], &[Tensor]) -> Vec<Tensor>>;

/// A sample as tapir calls it: graph inputs, captured constants, and the call.
struct Case {
    inputs: Vec<tch::Tensor>,
    consts: Vec<tch::Tensor>,
    run: Program,
}

/// The sample's arguments, consumed by an adapter; anything left unconsumed makes the sample
/// not expressible.
struct Call<'a> {
    tensors: &'a HashMap<String, tch::Tensor>,
    pos: Vec<Option<&'a Value>>,
    kw: BTreeMap<&'a str, &'a Value>,
    inputs: Vec<tch::Tensor>,
    consts: Vec<tch::Tensor>,
}

/// A value of the sample: tensor key, scalar, list.
enum Arg {
    Tensor(tch::Tensor),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl<'a> Call<'a> {
    /// Positional argument `i` or keyword `name`, consumed; `None` when absent or `None` in Python.
    fn take(&mut self, i: usize, name: &str) -> Option<&'a Value> {
        let p = self.pos.get_mut(i).and_then(Option::take);
        let k = self.kw.remove(name);
        p.or(k).filter(|v| !v.is_null())
    }

    fn tensor_of(&self, v: &Value) -> Option<tch::Tensor> {
        v.get("tensor").and_then(Value::as_str).map(|k| self.tensors[k].shallow_clone())
    }

    fn arg(&self, v: &Value) -> Result<Arg, String> {
        if let Some(t) = self.tensor_of(v) {
            return Ok(Arg::Tensor(t));
        }
        if let Some(i) = v.get("int").and_then(Value::as_i64) {
            return Ok(Arg::Int(i));
        }
        if let Some(b) = v.get("bool").and_then(Value::as_bool) {
            return Ok(Arg::Bool(b));
        }
        match v.get("float") {
            Some(Value::Number(n)) => Ok(Arg::Float(n.as_f64().unwrap())),
            Some(Value::String(s)) => Ok(Arg::Float(match s.as_str() {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                _ => f64::NAN,
            })),
            _ => Err(format!("argument {v} is not a tensor or a number")),
        }
    }

    fn int(&mut self, i: usize, name: &str, default: Option<i64>) -> Result<i64, String> {
        match self.take(i, name) {
            Some(v) if v.get("tensor").is_some() => Err(format!("a tensor `{name}` has no tapir counterpart")),
            Some(v) => v.get("int").and_then(Value::as_i64).ok_or(format!("`{name}` = {v} is not an int")),
            None => default.ok_or(format!("`{name}` is missing")),
        }
    }

    /// A `torch.dtype` argument as a tch kind.
    fn kind(&mut self, i: usize, name: &str) -> Result<Option<Kind>, String> {
        let Some(v) = self.take(i, name) else { return Ok(None) };
        Ok(Some(match v.get("dtype").and_then(Value::as_str) {
            Some("float32") => Kind::Float,
            Some("float64") => Kind::Double,
            Some("float16") => Kind::Half,
            Some("bfloat16") => Kind::BFloat16,
            Some("int64") => Kind::Int64,
            Some("int32") => Kind::Int,
            Some("bool") => Kind::Bool,
            _ => return Err(format!("`{name}` = {v} is not a dtype tapir has")),
        }))
    }

    fn opt_int(&mut self, i: usize, name: &str) -> Result<Option<i64>, String> {
        match self.take(i, name) {
            Some(v) => v.get("int").and_then(Value::as_i64).map(Some).ok_or(format!("`{name}` = {v} is not an int")),
            None => Ok(None),
        }
    }

    fn float(&mut self, i: usize, name: &str, default: f64) -> Result<f64, String> {
        match self.take(i, name) {
            Some(v) => match self.arg(v)? {
                Arg::Float(f) => Ok(f),
                Arg::Int(i) => Ok(i as f64),
                _ => Err(format!("`{name}` = {v} is not a number")),
            },
            None => Ok(default),
        }
    }

    fn bool(&mut self, i: usize, name: &str, default: bool) -> Result<bool, String> {
        match self.take(i, name) {
            Some(v) => v.get("bool").and_then(Value::as_bool).ok_or(format!("`{name}` = {v} is not a bool")),
            None => Ok(default),
        }
    }

    /// An int or a list of ints.
    fn ints(&mut self, i: usize, name: &str) -> Result<Option<Vec<i64>>, String> {
        let Some(v) = self.take(i, name) else { return Ok(None) };
        if let Some(i) = v.get("int").and_then(Value::as_i64) {
            return Ok(Some(vec![i]));
        }
        let list = v.get("list").and_then(Value::as_array).ok_or(format!("`{name}` = {v} is not ints"))?;
        list.iter()
            .map(|x| x.get("int").and_then(Value::as_i64).ok_or(format!("`{name}` = {v} is not ints")))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// The rest of the positional arguments as ints (`view(2, 3)` as well as `view([2, 3])`).
    fn int_list(&mut self, from: usize, name: &str) -> Result<Vec<i64>, String> {
        let first = self.ints(from, name)?.ok_or(format!("`{name}` is missing"))?;
        let mut out = first;
        for i in from + 1..self.pos.len() {
            out.extend(self.ints(i, name)?.unwrap_or_default());
        }
        Ok(out)
    }

    /// A tensor argument as a graph input; returns its index in the inputs.
    fn input(&mut self, i: usize, name: &str) -> Result<Option<usize>, String> {
        let Some(v) = self.take(i, name) else { return Ok(None) };
        let t = self.tensor_of(v).ok_or(format!("`{name}` = {v} is not a tensor"))?;
        self.inputs.push(t);
        Ok(Some(self.inputs.len() - 1))
    }

    /// A tensor argument as a captured constant (a weight); returns its index in the constants.
    fn constant(&mut self, i: usize, name: &str) -> Result<Option<usize>, String> {
        let Some(v) = self.take(i, name) else { return Ok(None) };
        let t = self.tensor_of(v).ok_or(format!("`{name}` = {v} is not a tensor"))?;
        self.consts.push(t);
        Ok(Some(self.consts.len() - 1))
    }

    /// A tensor (graph input) or a number.
    fn operand(&mut self, i: usize, name: &str) -> Result<Operand, String> {
        let v = self.take(i, name).ok_or(format!("`{name}` is missing"))?;
        Ok(match self.arg(v)? {
            Arg::Tensor(t) => {
                self.inputs.push(t);
                Operand::Input(self.inputs.len() - 1)
            }
            Arg::Int(i) => Operand::Scalar(tapir::Scalar::Int(i)),
            Arg::Float(f) => Operand::Scalar(tapir::Scalar::Float(f)),
            Arg::Bool(b) => Operand::Scalar(tapir::Scalar::Bool(b)),
        })
    }

    /// Fails when an argument was not consumed (tapir has no way to pass it).
    fn finish(self, run: Program) -> Result<Case, String> {
        if let Some((i, v)) = self.pos.iter().enumerate().find_map(|(i, v)| v.map(|v| (i, v))) {
            if !v.is_null() {
                return Err(format!("positional argument {i} ({v}) has no tapir counterpart"));
            }
        }
        if let Some((k, v)) = self.kw.iter().find(|(_, v)| !v.is_null()) {
            return Err(format!("keyword `{k}` ({v}) has no tapir counterpart"));
        }
        Ok(Case { inputs: self.inputs, consts: self.consts, run })
    }
}

/// A clamp bound: absent, a number, or a graph input.
#[derive(Clone, Copy)]
enum Bound {
    None,
    Number(f64),
    Input(usize),
}

#[derive(Clone, Copy)]
enum Operand {
    Input(usize),
    Scalar(tapir::Scalar),
}

impl Operand {
    fn get<'t>(&self, ins: &'t [Tensor]) -> tapir::Operand<'t> {
        match *self {
            Operand::Input(i) => tapir::Operand::Tensor(&ins[i]),
            Operand::Scalar(s) => tapir::Operand::Scalar(s),
        }
    }
}

fn one(t: Tensor) -> Vec<Tensor> {
    vec![t]
}

/// Maps a sample to a tapir call, or says why tapir cannot express it.
fn adapt(op: &str, variant: &str, sample: &Value, tensors: &HashMap<String, tch::Tensor>) -> Result<Case, String> {
    let args: Vec<Option<&Value>> = sample["args"].as_array().unwrap().iter().map(Some).collect();
    let kw: BTreeMap<&str, &Value> =
        sample["kwargs"].as_object().unwrap().iter().map(|(k, v)| (k.as_str(), v)).collect();
    let mut c = Call { tensors, pos: args, kw, inputs: vec![], consts: vec![] };
    let input = &sample["input"];
    // `cat` and `stack` take a list of tensors; every other op one tensor.
    if let Some(list) = input.get("list").and_then(Value::as_array) {
        for t in list {
            let t = c.tensor_of(t).ok_or("a list input that is not of tensors")?;
            c.inputs.push(t);
        }
        let n = c.inputs.len();
        let dim = c.int(0, "dim", Some(0))?;
        let run: Program = match op {
            "cat" => Box::new(move |x, _| one(Tensor::cat(&x[..n].iter().collect::<Vec<_>>(), dim))),
            "stack" => Box::new(move |x, _| one(Tensor::stack(&x[..n].iter().collect::<Vec<_>>(), dim))),
            _ => return Err(format!("{op} with a list input")),
        };
        return c.finish(run);
    }
    if op == "where" && input.get("tensor").is_none() {
        // torch.where(condition, scalar, other): tch's where_scalarself.
        let s = match c.arg(input)? {
            Arg::Float(f) => tapir::Scalar::Float(f),
            Arg::Int(i) => tapir::Scalar::Int(i),
            Arg::Bool(b) => tapir::Scalar::Bool(b),
            Arg::Tensor(_) => unreachable!("checked above"),
        };
        let cond = c.input(0, "condition")?.ok_or("no condition")?;
        return match c.operand(1, "other")? {
            Operand::Input(other) => {
                c.finish(Box::new(move |x, _| one(Tensor::where_scalarself(&x[cond], s, &x[other]))))
            }
            Operand::Scalar(b) => c.finish(Box::new(move |x, _| one(Tensor::where_scalar(&x[cond], s, b)))),
        };
    }
    c.inputs.push(c.tensor_of(input).ok_or("the input is not a tensor")?);
    macro_rules! unary {
        ($m:ident) => {{
            let run: Program = Box::new(|x, _| one(x[0].$m()));
            return c.finish(run);
        }};
    }
    macro_rules! binary {
        ($m:ident) => {{
            let other = c.operand(0, "other")?;
            let run: Program = Box::new(move |x, _| one(x[0].$m(other.get(x))));
            return c.finish(run);
        }};
    }
    match (op, variant) {
        ("add" | "sub", _) => {
            if c.take(usize::MAX, "alpha").is_some() {
                return Err("`alpha` has no tapir counterpart".into());
            }
            let other = c.operand(0, "other")?;
            let sub = op == "sub";
            c.finish(Box::new(move |x, _| one(if sub { x[0].sub(other.get(x)) } else { x[0].add(other.get(x)) })))
        }
        ("mul", _) => binary!(mul),
        ("div", _) => {
            let mode = c.take(usize::MAX, "rounding_mode").and_then(|v| v.get("str")).and_then(Value::as_str);
            let Some(mode) = mode.map(str::to_owned) else { binary!(div) };
            let other = c.operand(0, "other")?;
            c.finish(Box::new(move |x, _| {
                one(match other {
                    Operand::Input(i) => x[0].div_tensor_mode(&x[i], &mode),
                    Operand::Scalar(s) => x[0].div_scalar_mode(s, &mode),
                })
            }))
        }
        ("pow", _) => binary!(pow),
        ("minimum", _) | ("min", "binary") => binary!(minimum),
        ("maximum", _) | ("max", "binary") => binary!(maximum),
        ("eq", _) => binary!(eq),
        ("ne", _) => binary!(ne),
        ("lt", _) => binary!(lt),
        ("le", _) => binary!(le),
        ("gt", _) => binary!(gt),
        ("ge", _) => binary!(ge),
        ("logical_and" | "logical_or" | "logical_xor", _) => {
            let other = c.input(0, "other")?.ok_or("`other` is not a tensor")?;
            let f = match op {
                "logical_and" => Tensor::logical_and,
                "logical_or" => Tensor::logical_or,
                _ => Tensor::logical_xor,
            };
            c.finish(Box::new(move |x, _| one(f(&x[0], &x[other]))))
        }
        ("neg", _) => unary!(neg),
        ("sqrt", _) => unary!(sqrt),
        ("rsqrt", _) => unary!(rsqrt),
        ("exp", _) => unary!(exp),
        ("log", _) => unary!(log),
        ("abs", _) => unary!(abs),
        ("reciprocal", _) => unary!(reciprocal),
        ("logical_not", _) => unary!(logical_not),
        ("nn.functional.relu", _) => unary!(relu),
        ("sigmoid", _) => unary!(sigmoid),
        ("tanh", _) => unary!(tanh),
        ("nn.functional.silu", _) => unary!(silu),
        ("nn.functional.hardswish", _) => unary!(hardswish),
        ("contiguous", _) => unary!(contiguous),
        ("sin", _) => unary!(sin),
        ("cos", _) => unary!(cos),
        ("tan", _) => unary!(tan),
        ("asin", _) => unary!(asin),
        ("acos", _) => unary!(acos),
        ("atan", _) => unary!(atan),
        ("sinh", _) => unary!(sinh),
        ("cosh", _) => unary!(cosh),
        ("erf", _) => unary!(erf),
        ("floor", _) => unary!(floor),
        ("ceil", _) => unary!(ceil),
        ("round", _) => unary!(round),
        ("trunc", _) => unary!(trunc),
        ("sign", _) => unary!(sign),
        ("log1p", _) => unary!(log1p),
        ("expm1", _) => unary!(expm1),
        ("log2", _) => unary!(log2),
        // tch's activations take no arguments: samples that set one are not expressible.
        ("nn.functional.relu6", _) => {
            c.bool(0, "inplace", false)?;
            unary!(relu6)
        }
        ("nn.functional.hardtanh", _) => {
            if c.float(0, "min_val", -1.0)? != -1.0 || c.float(1, "max_val", 1.0)? != 1.0 {
                return Err("hardtanh bounds other than [-1, 1] have no tch counterpart".into());
            }
            c.bool(2, "inplace", false)?;
            unary!(hardtanh)
        }
        ("nn.functional.hardsigmoid", _) => {
            c.bool(0, "inplace", false)?;
            unary!(hardsigmoid)
        }
        ("nn.functional.softplus", _) => {
            if c.float(0, "beta", 1.0)? != 1.0 || c.float(1, "threshold", 20.0)? != 20.0 {
                return Err("softplus beta or threshold other than 1, 20 has no tch counterpart".into());
            }
            unary!(softplus)
        }
        ("nn.functional.selu", _) => {
            c.bool(0, "inplace", false)?;
            unary!(selu)
        }
        ("nn.functional.celu", _) => {
            if c.float(0, "alpha", 1.0)? != 1.0 {
                return Err("celu alpha other than 1 has no tch counterpart".into());
            }
            c.bool(1, "inplace", false)?;
            unary!(celu)
        }
        ("nn.functional.mish", _) => {
            c.bool(0, "inplace", false)?;
            unary!(mish)
        }
        ("clamp" | "clamp_min" | "clamp_max", _) => {
            // Bounds are numbers (clamp) or tensors (clamp_tensor and friends), not a mix.
            let names: &[&str] = match op {
                "clamp" => &["min", "max"],
                "clamp_min" => &["min"],
                _ => &["max"],
            };
            let mut bounds = vec![];
            for (i, name) in names.iter().enumerate() {
                bounds.push(match c.take(i, name) {
                    None => Bound::None,
                    Some(v) => match c.arg(v)? {
                        Arg::Float(f) => Bound::Number(f),
                        Arg::Int(i) => Bound::Number(i as f64),
                        Arg::Bool(_) => return Err(format!("a bool `{name}` has no tapir counterpart")),
                        Arg::Tensor(t) => {
                            c.inputs.push(t);
                            Bound::Input(c.inputs.len() - 1)
                        }
                    },
                });
            }
            let (lo, hi) = match op {
                "clamp" => (bounds[0], bounds[1]),
                "clamp_min" => (bounds[0], Bound::None),
                _ => (Bound::None, bounds[0]),
            };
            let number = |b: Bound| match b {
                Bound::Number(f) => Some(f),
                _ => None,
            };
            let tensor = |b: Bound| match b {
                Bound::Input(i) => Some(i),
                _ => None,
            };
            if matches!(lo, Bound::Input(_)) || matches!(hi, Bound::Input(_)) {
                if number(lo).is_some() || number(hi).is_some() {
                    return Err("a tensor bound with a number bound has no tapir counterpart".into());
                }
                let (lo, hi) = (tensor(lo), tensor(hi));
                return c.finish(Box::new(move |x, _| one(x[0].clamp_tensor(lo.map(|i| &x[i]), hi.map(|i| &x[i])))));
            }
            let (lo, hi) = (number(lo), number(hi));
            c.finish(Box::new(move |x, _| one(x[0].clamp_opt(lo.map(Into::into), hi.map(Into::into)))))
        }
        ("where", _) => {
            let cond = c.input(0, "condition")?.ok_or("no condition")?;
            let other = c.operand(1, "other")?;
            c.finish(Box::new(move |x, _| one(x[0].where_self(&x[cond], other.get(x)))))
        }
        ("masked_fill", _) => {
            let mask = c.input(0, "mask")?.ok_or("no mask")?;
            let value = match c.take(1, "value").map(|v| c.arg(v)).transpose()? {
                Some(Arg::Float(f)) => tapir::Scalar::Float(f),
                Some(Arg::Int(i)) => tapir::Scalar::Int(i),
                Some(Arg::Bool(b)) => tapir::Scalar::Bool(b),
                Some(Arg::Tensor(t)) => {
                    c.inputs.push(t);
                    let v = c.inputs.len() - 1;
                    return c.finish(Box::new(move |x, _| one(x[0].masked_fill_tensor(&x[mask], &x[v]))));
                }
                None => return Err("no value".into()),
            };
            c.finish(Box::new(move |x, _| one(x[0].masked_fill(&x[mask], value))))
        }
        ("nn.functional.leaky_relu", _) => {
            let slope = c.float(0, "negative_slope", 0.01)?;
            c.bool(1, "inplace", false)?;
            c.finish(Box::new(move |x, _| one(x[0].leaky_relu_with_slope(slope))))
        }
        ("nn.functional.elu", _) => {
            let alpha = c.float(0, "alpha", 1.0)?;
            c.bool(1, "inplace", false)?;
            c.finish(Box::new(move |x, _| one(x[0].elu_with_alpha(alpha))))
        }
        ("nn.functional.gelu", _) => {
            let approximate = match c.take(0, "approximate").and_then(|v| v.get("str")).and_then(Value::as_str) {
                Some("tanh") => "tanh",
                _ => "none",
            };
            c.finish(Box::new(move |x, _| one(x[0].gelu(approximate))))
        }
        ("softmax" | "log_softmax", _) => {
            let dim = c.int(0, "dim", None)?;
            let dtype = c.kind(1, "dtype")?;
            let log = op == "log_softmax";
            c.finish(Box::new(move |x, _| {
                one(if log { x[0].log_softmax(dim, dtype) } else { x[0].softmax(dim, dtype) })
            }))
        }
        ("matmul", _) => {
            let other = c.input(0, "other")?.ok_or("no other")?;
            c.finish(Box::new(move |x, _| one(x[0].matmul(&x[other]))))
        }
        ("nn.functional.linear", _) => {
            let w = c.constant(0, "weight")?.ok_or("no weight")?;
            let b = c.constant(1, "bias")?;
            c.finish(Box::new(move |x, k| one(x[0].linear(&k[w], b.map(|b| &k[b])))))
        }
        ("reshape" | "view", _) => {
            let shape = c.int_list(0, "shape")?;
            let view = op == "view";
            c.finish(Box::new(move |x, _| one(if view { x[0].view(&shape) } else { x[0].reshape(&shape) })))
        }
        ("flatten", _) => {
            let (start, end) = (c.int(0, "start_dim", Some(0))?, c.int(1, "end_dim", Some(-1))?);
            c.finish(Box::new(move |x, _| one(x[0].flatten(start, end))))
        }
        ("permute", _) => {
            let dims = c.int_list(0, "dims")?;
            c.finish(Box::new(move |x, _| one(x[0].permute(&dims))))
        }
        ("transpose", _) => {
            let (a, b) = (c.int(0, "dim0", None)?, c.int(1, "dim1", None)?);
            c.finish(Box::new(move |x, _| one(x[0].transpose(a, b))))
        }
        ("squeeze", _) => {
            let dims = c.ints(0, "dim")?;
            c.finish(Box::new(move |x, _| {
                one(match &dims {
                    None => x[0].squeeze(),
                    Some(d) if d.len() == 1 => x[0].squeeze_dim(d[0]),
                    Some(d) => x[0].squeeze_dims(d),
                })
            }))
        }
        ("unsqueeze", _) => {
            let dim = c.int(0, "dim", None)?;
            c.finish(Box::new(move |x, _| one(x[0].unsqueeze(dim))))
        }
        ("split", _) | ("split_with_sizes", _) => {
            let sizes = c.ints(0, "split_size_or_sections")?.ok_or("no split sizes")?;
            let list = variant == "list_args" || op == "split_with_sizes";
            let dim = c.int(1, "dim", Some(0))?;
            c.finish(Box::new(
                move |x, _| if list { x[0].split_with_sizes(&sizes, dim) } else { x[0].split(sizes[0], dim) },
            ))
        }
        ("chunk", _) => {
            let (n, dim) = (c.int(0, "chunks", None)?, c.int(1, "dim", Some(0))?);
            c.finish(Box::new(move |x, _| x[0].chunk(n, dim)))
        }
        ("narrow", _) => {
            let dim = c.int(0, "dim", None)?;
            if let Some(t) = c.pos.get(1).copied().flatten().and_then(|v| c.tensor_of(v)) {
                // A 0-d start tensor: tch's narrow_tensor (captured, so its value is a constant).
                c.pos[1] = None;
                c.consts.push(t);
                let (start, len) = (c.consts.len() - 1, c.int(2, "length", None)?);
                return c.finish(Box::new(move |x, k| one(x[0].narrow_tensor(dim, &k[start], len))));
            }
            let (start, len) = (c.int(1, "start", None)?, c.int(2, "length", None)?);
            c.finish(Box::new(move |x, _| one(x[0].narrow(dim, start, len))))
        }
        ("select", _) => {
            let (dim, index) = (c.int(0, "dim", None)?, c.int(1, "index", None)?);
            c.finish(Box::new(move |x, _| one(x[0].select(dim, index))))
        }
        ("index_select", _) => {
            let dim = c.int(0, "dim", None)?;
            let index = c.input(1, "index")?.ok_or("no index")?;
            c.finish(Box::new(move |x, _| one(x[0].index_select(dim, &x[index]))))
        }
        ("expand", _) => {
            let shape = c.int_list(0, "size")?;
            c.finish(Box::new(move |x, _| one(x[0].expand(&shape, false))))
        }
        ("repeat", _) => {
            let reps = c.int_list(0, "repeats")?;
            c.finish(Box::new(move |x, _| one(x[0].repeat(&reps))))
        }
        ("sum" | "mean" | "amax" | "amin", _) => {
            let dims = c.ints(0, "dim")?;
            let keep = c.bool(1, "keepdim", false)?;
            if c.take(2, "dtype").is_some() {
                return Err("`dtype` has no tapir counterpart".into());
            }
            let op = op.to_owned();
            c.finish(Box::new(move |x, _| {
                let all: Vec<i64> = (0..x[0].dim() as i64).collect();
                let d = dims.clone().unwrap_or(all);
                one(match op.as_str() {
                    "sum" if dims.is_none() && !keep => x[0].sum(None),
                    "mean" if dims.is_none() && !keep => x[0].mean(None),
                    "sum" => x[0].sum_dim_intlist(&d, keep, None),
                    "mean" => x[0].mean_dim(&d, keep, None),
                    "amax" => x[0].amax(&d, keep),
                    _ => x[0].amin(&d, keep),
                })
            }))
        }
        ("max" | "min", "reduction_with_dim") => {
            let (dim, keep) = (c.int(0, "dim", None)?, c.bool(1, "keepdim", false)?);
            let max = op == "max";
            c.finish(Box::new(move |x, _| {
                let (v, i) = if max { x[0].max_dim(dim, keep) } else { x[0].min_dim(dim, keep) };
                vec![v, i]
            }))
        }
        ("max" | "min", "reduction_no_dim") => {
            let max = op == "max";
            c.finish(Box::new(move |x, _| {
                let all: Vec<i64> = (0..x[0].dim() as i64).collect();
                one(if max { x[0].amax(&all, false) } else { x[0].amin(&all, false) })
            }))
        }
        ("argmax" | "argmin", _) => {
            let (dim, keep) = (c.opt_int(0, "dim")?, c.bool(1, "keepdim", false)?);
            let max = op == "argmax";
            c.finish(Box::new(move |x, _| one(if max { x[0].argmax(dim, keep) } else { x[0].argmin(dim, keep) })))
        }
        ("nn.functional.conv1d" | "nn.functional.conv2d", _) => {
            let w = c.constant(0, "weight")?.ok_or("no weight")?;
            let b = c.constant(1, "bias")?;
            let stride = c.ints(2, "stride")?.unwrap_or(vec![1]);
            let named = c.kw.get("padding").copied().or(c.pos.get(3).copied().flatten());
            let named = named.and_then(|v| v.get("str")).and_then(Value::as_str).map(str::to_owned);
            if named.is_some() {
                c.take(3, "padding");
            }
            let padding = c.ints(3, "padding")?.unwrap_or(vec![0]);
            let dilation = c.ints(4, "dilation")?.unwrap_or(vec![1]);
            let groups = c.int(5, "groups", Some(1))?;
            let two = op.ends_with("2d");
            c.finish(Box::new(move |x, k| {
                let b = b.map(|b| &k[b]);
                one(match (&named, two) {
                    (Some(p), true) => x[0].conv2d_padding(&k[w], b, &stride, p, &dilation, groups),
                    (Some(p), false) => x[0].conv1d_padding(&k[w], b, &stride, p, &dilation, groups),
                    (None, true) => x[0].conv2d(&k[w], b, &stride, &padding, &dilation, groups),
                    (None, false) => x[0].conv1d(&k[w], b, &stride, &padding, &dilation, groups),
                })
            }))
        }
        ("nn.functional.conv_transpose2d", _) => {
            let w = c.constant(0, "weight")?.ok_or("no weight")?;
            let b = c.constant(1, "bias")?;
            let stride = c.ints(2, "stride")?.unwrap_or(vec![1]);
            let padding = c.ints(3, "padding")?.unwrap_or(vec![0]);
            let output_padding = c.ints(4, "output_padding")?.unwrap_or(vec![0]);
            let groups = c.int(5, "groups", Some(1))?;
            let dilation = c.ints(6, "dilation")?.unwrap_or(vec![1]);
            c.finish(Box::new(move |x, k| {
                one(x[0].conv_transpose2d(
                    &k[w],
                    b.map(|b| &k[b]),
                    &stride,
                    &padding,
                    &output_padding,
                    groups,
                    &dilation,
                ))
            }))
        }
        ("nn.functional.max_pool2d", _) => {
            let kernel = c.ints(0, "kernel_size")?.ok_or("no kernel")?;
            let stride = c.ints(1, "stride")?.unwrap_or_default();
            let padding = c.ints(2, "padding")?.unwrap_or(vec![0]);
            let dilation = c.ints(3, "dilation")?.unwrap_or(vec![1]);
            let ceil = c.bool(4, "ceil_mode", false)?;
            if c.bool(5, "return_indices", false)? {
                return c.finish(Box::new(move |x, _| {
                    let (v, i) = x[0].max_pool2d_with_indices(&kernel, &stride, &padding, &dilation, ceil);
                    vec![v, i]
                }));
            }
            c.finish(Box::new(move |x, _| one(x[0].max_pool2d(&kernel, &stride, &padding, &dilation, ceil))))
        }
        ("nn.functional.avg_pool2d", _) => {
            let kernel = c.ints(0, "kernel_size")?.ok_or("no kernel")?;
            let stride = c.ints(1, "stride")?.unwrap_or_default();
            let padding = c.ints(2, "padding")?.unwrap_or(vec![0]);
            let ceil = c.bool(3, "ceil_mode", false)?;
            let include = c.bool(4, "count_include_pad", true)?;
            let divisor = c.opt_int(5, "divisor_override")?;
            c.finish(Box::new(move |x, _| one(x[0].avg_pool2d(&kernel, &stride, &padding, ceil, include, divisor))))
        }
        ("nn.functional.adaptive_avg_pool2d", _) => {
            // Python's None keeps that input dimension: the size is written out.
            let v = c.take(0, "output_size").ok_or("no output size")?;
            let hw = {
                let s = c.inputs[0].size();
                [s[s.len() - 2], s[s.len() - 1]]
            };
            let size = match v.get("list").and_then(Value::as_array) {
                Some(l) => {
                    let mut size = hw;
                    for (k, e) in l.iter().take(2).enumerate() {
                        size[k] = e.get("int").and_then(Value::as_i64).unwrap_or(hw[k]);
                    }
                    size
                }
                None => {
                    let n = v.get("int").and_then(Value::as_i64).ok_or("`output_size` is not ints")?;
                    [n, n]
                }
            };
            c.finish(Box::new(move |x, _| one(x[0].adaptive_avg_pool2d(size))))
        }
        ("nn.functional.batch_norm", _) => {
            let mean = c.constant(0, "running_mean")?.ok_or("no running mean")?;
            let var = c.constant(1, "running_var")?.ok_or("no running var")?;
            let w = c.constant(2, "weight")?;
            let b = c.constant(3, "bias")?;
            let training = c.bool(4, "training", false)?;
            let momentum = c.float(5, "momentum", 0.1)?;
            let eps = c.float(6, "eps", 1e-5)?;
            c.finish(Box::new(move |x, k| {
                one(x[0].batch_norm(
                    w.map(|w| &k[w]),
                    b.map(|b| &k[b]),
                    Some(&k[mean]),
                    Some(&k[var]),
                    training,
                    momentum,
                    eps,
                    false,
                ))
            }))
        }
        ("nn.functional.layer_norm", _) => {
            let shape = c.ints(0, "normalized_shape")?.ok_or("no normalized shape")?;
            let w = c.constant(1, "weight")?;
            let b = c.constant(2, "bias")?;
            let eps = c.float(3, "eps", 1e-5)?;
            c.finish(Box::new(move |x, k| one(x[0].layer_norm(&shape, w.map(|w| &k[w]), b.map(|b| &k[b]), eps, false))))
        }
        ("nn.functional.group_norm", _) => {
            let groups = c.int(0, "num_groups", None)?;
            let w = c.constant(1, "weight")?;
            let b = c.constant(2, "bias")?;
            let eps = c.float(3, "eps", 1e-5)?;
            c.finish(Box::new(move |x, k| one(x[0].group_norm(groups, w.map(|w| &k[w]), b.map(|b| &k[b]), eps, false))))
        }
        ("log10", _) => unary!(log10),
        ("exp2", _) => unary!(exp2),
        ("square", _) => unary!(square),
        ("nn.functional.logsigmoid", _) => unary!(log_sigmoid),
        ("isnan", _) => unary!(isnan),
        ("isinf", _) => unary!(isinf),
        ("isfinite", _) => unary!(isfinite),
        ("nn.functional.hardshrink" | "nn.functional.softshrink", _) => {
            if c.float(0, "lambd", 0.5)? != 0.5 {
                return Err("a lambda other than 0.5 has no tch counterpart".into());
            }
            let hard = op == "nn.functional.hardshrink";
            c.finish(Box::new(move |x, _| one(if hard { x[0].hardshrink() } else { x[0].softshrink() })))
        }
        ("nan_to_num", _) => {
            let nan = c.float(0, "nan", 0.0)?;
            let opt = |c: &mut Call, i, name| c.take(i, name).map(|v| c.arg(v)).transpose();
            let num = |a: Option<Arg>| match a {
                Some(Arg::Float(f)) => Ok(Some(f)),
                Some(Arg::Int(i)) => Ok(Some(i as f64)),
                None => Ok(None),
                _ => Err("a non-number bound".to_owned()),
            };
            let (pos, neg) = (num(opt(&mut c, 1, "posinf")?)?, num(opt(&mut c, 2, "neginf")?)?);
            c.finish(Box::new(move |x, _| one(x[0].nan_to_num(nan, pos, neg))))
        }
        ("remainder", _) => binary!(remainder),
        ("fmod", _) => binary!(fmod),
        ("tril" | "triu", _) => {
            let d = c.int(0, "diagonal", Some(0))?;
            let upper = op == "triu";
            c.finish(Box::new(move |x, _| one(if upper { x[0].triu(d) } else { x[0].tril(d) })))
        }
        ("flip", _) => {
            let dims = c.int_list(0, "dims")?;
            c.finish(Box::new(move |x, _| one(x[0].flip(&dims))))
        }
        ("roll", _) => {
            let shifts = c.ints(0, "shifts")?.ok_or("no shifts")?;
            let dims = c.ints(1, "dims")?.unwrap_or_default();
            c.finish(Box::new(move |x, _| one(x[0].roll(&shifts, &dims))))
        }
        ("cumsum", _) => {
            let (dim, dtype) = (c.int(0, "dim", None)?, c.kind(1, "dtype")?);
            c.finish(Box::new(move |x, _| one(x[0].cumsum(dim, dtype))))
        }
        ("outer" | "bmm", _) => {
            let other = c.input(0, if op == "outer" { "vec2" } else { "mat2" })?.ok_or("no other")?;
            let outer = op == "outer";
            c.finish(Box::new(move |x, _| one(if outer { x[0].outer(&x[other]) } else { x[0].bmm(&x[other]) })))
        }
        ("addmm" | "baddbmm", _) => {
            let names = if op == "addmm" { ["mat1", "mat2"] } else { ["batch1", "batch2"] };
            let (a, b) = (c.input(0, names[0])?.ok_or("no a")?, c.input(1, names[1])?.ok_or("no b")?);
            let (beta, alpha) = (c.float(usize::MAX, "beta", 1.0)?, c.float(usize::MAX, "alpha", 1.0)?);
            if op == "addmm" && (beta != 1.0 || alpha != 1.0) {
                return Err("tch's addmm has no beta or alpha".into());
            }
            let batched = op == "baddbmm";
            c.finish(Box::new(move |x, _| {
                one(if batched { x[0].baddbmm(&x[a], &x[b], beta, alpha) } else { x[0].addmm(&x[a], &x[b]) })
            }))
        }
        ("gather", _) => {
            let dim = c.int(0, "dim", None)?;
            let index = c.input(1, "index")?.ok_or("no index")?;
            c.bool(2, "sparse_grad", false)?;
            c.finish(Box::new(move |x, _| one(x[0].gather(dim, &x[index], false))))
        }
        ("scatter" | "scatter_add", _) => {
            let dim = c.int(0, "dim", None)?;
            let index = c.input(1, "index")?.ok_or("no index")?;
            if c.take(usize::MAX, "reduce").is_some() {
                return Err("`reduce` has no tapir counterpart".into());
            }
            let src = match c.operand(2, "src")? {
                Operand::Input(i) => i,
                Operand::Scalar(_) => {
                    return Err("a number `src` (scatter's value form) has no tapir counterpart".into())
                }
            };
            let add = op == "scatter_add";
            c.finish(Box::new(move |x, _| {
                one(if add { x[0].scatter_add(dim, &x[index], &x[src]) } else { x[0].scatter(dim, &x[index], &x[src]) })
            }))
        }
        ("nn.functional.glu", _) => {
            let dim = c.int(0, "dim", Some(-1))?;
            c.finish(Box::new(move |x, _| one(x[0].glu(dim))))
        }
        ("nn.functional.prelu", _) => {
            let w = c.constant(0, "weight")?.ok_or("no weight")?;
            c.finish(Box::new(move |x, k| one(x[0].prelu(&k[w]))))
        }
        ("var" | "std", _) => {
            let dims = c.ints(0, "dim")?.unwrap_or_default();
            let unbiased = c.take(usize::MAX, "unbiased").map(|v| v.get("bool").and_then(Value::as_bool));
            let correction = match (unbiased, c.take(usize::MAX, "correction")) {
                (Some(Some(u)), None) => u as i64,
                (None, Some(v)) => match c.arg(v)? {
                    Arg::Int(i) => i,
                    Arg::Float(f) if f.fract() == 0.0 => f as i64,
                    _ => return Err("a fractional correction has no tapir counterpart".into()),
                },
                (None, None) => 1,
                _ => return Err("unbiased and correction together".into()),
            };
            let keep = c.bool(usize::MAX, "keepdim", false)?;
            let std = op == "std";
            c.finish(Box::new(move |x, _| {
                one(if std {
                    x[0].std_correction(&dims, correction, keep)
                } else {
                    x[0].var_correction(&dims, correction, keep)
                })
            }))
        }
        ("linalg.vector_norm", _) => {
            let ord = c.float(0, "ord", 2.0)?;
            if ![1.0, 2.0, f64::INFINITY].contains(&ord) {
                return Err(format!("ord = {ord}: tapir has 1, 2 and inf"));
            }
            let dims = c.ints(1, "dim")?.unwrap_or_default();
            let keep = c.bool(2, "keepdim", false)?;
            let dtype = c.kind(3, "dtype")?;
            if dtype.is_some() {
                return Err("`dtype` has no tapir counterpart".into());
            }
            c.finish(Box::new(move |x, _| one(x[0].linalg_vector_norm(ord, &dims, keep, None))))
        }
        ("logsumexp", _) => {
            let dims = c.ints(0, "dim")?.ok_or("no dim")?;
            let keep = c.bool(1, "keepdim", false)?;
            c.finish(Box::new(move |x, _| one(x[0].logsumexp(&dims, keep))))
        }
        ("any" | "all", _) => {
            let dims = c.ints(0, "dim")?;
            let keep = c.bool(1, "keepdim", false)?;
            let all = op == "all";
            c.finish(Box::new(move |x, _| {
                one(match (&dims, all) {
                    (None, false) => x[0].any(),
                    (None, true) => x[0].all(),
                    (Some(d), false) => x[0].any_dims(d, keep),
                    (Some(d), true) => x[0].all_dims(d, keep),
                })
            }))
        }
        ("prod", _) => {
            let dim = c.opt_int(0, "dim")?;
            let keep = c.bool(1, "keepdim", false)?;
            let dtype = c.kind(2, "dtype")?;
            c.finish(Box::new(move |x, _| {
                one(match dim {
                    None => x[0].prod(dtype),
                    Some(d) => x[0].prod_dim_int(d, keep, dtype),
                })
            }))
        }
        ("sort" | "argsort", _) => {
            let dim = c.int(0, "dim", Some(-1))?;
            let descending = c.bool(1, "descending", false)?;
            let stable = c.bool(usize::MAX, "stable", false)?;
            if !stable && c.inputs[0].kind() == Kind::Bool {
                return Err("an unstable sort of bools leaves the order of equal entries to the implementation".into());
            }
            let arg = op == "argsort";
            c.finish(Box::new(move |x, _| {
                if arg {
                    return one(x[0].argsort(dim, descending));
                }
                let (v, i) = x[0].sort(dim, descending);
                vec![v, i]
            }))
        }
        ("topk", _) => {
            if c.inputs[0].kind() != Kind::Float {
                return Err("integers tie: which of equal entries topk returns is the implementation's".into());
            }
            let k = c.int(0, "k", None)?;
            let dim = c.int(1, "dim", Some(-1))?;
            let largest = c.bool(2, "largest", true)?;
            if !c.bool(3, "sorted", true)? {
                return Err("unsorted topk leaves the order to the implementation".into());
            }
            c.finish(Box::new(move |x, _| {
                let (v, i) = x[0].topk(k, dim, largest, true);
                vec![v, i]
            }))
        }
        ("repeat_interleave", _) => {
            let repeats = c.int(0, "repeats", None)?;
            let dim = c.opt_int(1, "dim")?;
            c.take(usize::MAX, "output_size");
            c.finish(Box::new(move |x, _| one(x[0].repeat_interleave(repeats, dim))))
        }
        ("nn.functional.pixel_shuffle", _) => {
            let r = c.int(0, "upscale_factor", None)?;
            c.finish(Box::new(move |x, _| one(x[0].pixel_shuffle(r))))
        }
        ("nn.functional.pixel_unshuffle", _) => {
            let r = c.int(0, "downscale_factor", None)?;
            c.finish(Box::new(move |x, _| one(x[0].pixel_unshuffle(r))))
        }
        ("nn.functional.one_hot", _) => {
            let n = c.int(0, "num_classes", Some(-1))?;
            c.finish(Box::new(move |x, _| one(x[0].one_hot(n))))
        }
        ("full_like" | "zeros_like" | "ones_like", _) => {
            let value = if op == "full_like" {
                match c.operand(0, "fill_value")? {
                    Operand::Scalar(s) => Some(s),
                    Operand::Input(_) => return Err("a tensor fill value has no tapir counterpart".into()),
                }
            } else {
                None
            };
            if c.kind(usize::MAX, "dtype")?.is_some() {
                return Err("`dtype` has no tapir counterpart".into());
            }
            let zeros = op == "zeros_like";
            c.finish(Box::new(move |x, _| {
                one(match value {
                    Some(v) => x[0].full_like(v),
                    None if zeros => x[0].zeros_like(),
                    None => x[0].ones_like(),
                })
            }))
        }
        ("nn.functional.pad", mode) => {
            let pad = c.ints(0, "pad")?.ok_or("no pad")?;
            c.take(1, "mode");
            let value = c.float(2, "value", 0.0)?;
            let mode = mode.to_owned();
            c.finish(Box::new(move |x, _| one(x[0].pad(&pad, &mode, value))))
        }
        ("lerp", _) => {
            let end = c.input(0, "end")?.ok_or("no end")?;
            let w = c.operand(1, "weight")?;
            c.finish(Box::new(move |x, _| one(x[0].lerp(&x[end], w.get(x)))))
        }
        ("unflatten", _) => {
            let dim = c.int(0, "dim", None)?;
            let sizes = c.ints(1, "sizes")?.ok_or("no sizes")?;
            c.finish(Box::new(move |x, _| one(x[0].unflatten(dim, &sizes))))
        }
        ("nn.functional.rms_norm", _) => {
            let shape = c.ints(0, "normalized_shape")?.ok_or("no shape")?;
            let w = c.constant(1, "weight")?;
            let eps = match c.take(2, "eps") {
                Some(v) => match c.arg(v)? {
                    Arg::Float(f) => Some(f),
                    _ => return Err("eps is not a float".into()),
                },
                None => None,
            };
            c.finish(Box::new(move |x, k| one(x[0].rms_norm(&shape, w.map(|w| &k[w]), eps))))
        }
        ("nn.functional.max_pool1d" | "nn.functional.avg_pool1d", _) => {
            let max = op == "nn.functional.max_pool1d";
            let kernel = c.ints(0, "kernel_size")?.ok_or("no kernel")?;
            let stride = c.ints(1, "stride")?.unwrap_or_default();
            let padding = c.ints(2, "padding")?.unwrap_or(vec![0]);
            if max {
                let dilation = c.ints(3, "dilation")?.unwrap_or(vec![1]);
                let ceil = c.bool(4, "ceil_mode", false)?;
                if c.bool(5, "return_indices", false)? {
                    return Err("max_pool1d indices have no tapir counterpart".into());
                }
                c.finish(Box::new(move |x, _| one(x[0].max_pool1d(&kernel, &stride, &padding, &dilation, ceil))))
            } else {
                let ceil = c.bool(3, "ceil_mode", false)?;
                let include = c.bool(4, "count_include_pad", true)?;
                c.finish(Box::new(move |x, _| one(x[0].avg_pool1d(&kernel, &stride, &padding, ceil, include))))
            }
        }
        ("nn.functional.adaptive_avg_pool1d", _) => {
            let size = c.ints(0, "output_size")?.ok_or("no size")?;
            c.finish(Box::new(move |x, _| one(x[0].adaptive_avg_pool1d(&size))))
        }
        ("nn.functional.embedding", _) => {
            // OpInfo's sample input is the weight, its first argument the indices.
            let ids = c.input(0, "indices")?.ok_or("no indices")?;
            // Gradient-only options do not change the forward value.
            c.take(1, "padding_idx");
            c.take(usize::MAX, "scale_grad_by_freq");
            c.take(usize::MAX, "sparse");
            if c.take(2, "max_norm").is_some() {
                return Err("`max_norm` has no tapir counterpart".into());
            }
            c.take(3, "norm_type");
            c.finish(Box::new(move |x, _| one(tapir::embedding(&x[0], &x[ids]))))
        }
        ("nn.functional.dropout", _) => {
            let p = c.float(0, "p", 0.5)?;
            let training = c.bool(1, "training", true)?;
            c.bool(2, "inplace", false)?;
            c.finish(Box::new(move |x, _| one(x[0].dropout(p, training))))
        }
        _ => Err(format!("no adapter for {op}.{variant}")),
    }
}

/// FNV-1a of `bytes`, to key the cached dump by the script that made it.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ *b as u64).wrapping_mul(0x100_0000_01b3))
}

fn dump_dir() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("opinfo_samples.py");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("opinfo-{:016x}", fnv(&std::fs::read(&script).unwrap())));
    if !dir.join("samples.json").exists() {
        let python = std::env::var("TAPIR_PYTHON").expect("TAPIR_PYTHON is not set: run ./dev setup");
        let out = std::process::Command::new(python).arg(&script).arg(&dir).output().unwrap();
        assert!(out.status.success(), "opinfo_samples.py failed:\n{}", String::from_utf8_lossy(&out.stderr));
    }
    dir
}

fn tolerance(kind: Kind) -> Tolerance {
    match kind {
        Kind::Float => Tolerance { atol: 1e-5, rtol: 1e-4 },
        Kind::Double => Tolerance { atol: 1e-10, rtol: 1e-9 },
        _ => Tolerance { atol: 0.0, rtol: 0.0 },
    }
}

fn flat(t: &tch::Tensor) -> Vec<f64> {
    Vec::<f64>::try_from(t.to_kind(Kind::Double).flatten(0, -1)).unwrap()
}

/// Compares one output with the expected one: dtype, shape, values.
fn same(got: &tch::Tensor, want: &tch::Tensor) -> Result<(), String> {
    if got.kind() != want.kind() {
        return Err(format!("dtype {:?}, torch {:?}", got.kind(), want.kind()));
    }
    if got.size() != want.size() {
        return Err(format!("shape {:?}, torch {:?}", got.size(), want.size()));
    }
    compare(&flat(got), &flat(want), tolerance(want.kind())).map(|_| ())
}

#[derive(Default)]
struct Counts {
    samples: usize,
    expressible: usize,
    passed: usize,
    refused: usize,
    limited: usize,
}

#[test]
fn opinfo_samples_pass_are_refused_or_are_known_runtime_gaps() {
    let dir = dump_dir();
    let manifest: Value = serde_json::from_slice(&std::fs::read(dir.join("samples.json")).unwrap()).unwrap();
    let tensors: HashMap<String, tch::Tensor> =
        tch::Tensor::read_safetensors(dir.join("tensors.safetensors")).unwrap().into_iter().collect();
    let mut counts: BTreeMap<String, Counts> = BTreeMap::new();
    let mut unexpressible: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    let mut failures = vec![];
    for sample in manifest["samples"].as_array().unwrap() {
        let (op, variant, dtype) =
            (sample["op"].as_str().unwrap(), sample["variant"].as_str().unwrap(), sample["dtype"].as_str().unwrap());
        let key = if variant.is_empty() { op.to_owned() } else { format!("{op}.{variant}") };
        let id = format!("{key}.{dtype}.{}", sample["index"]);
        let n = counts.entry(key.clone()).or_default();
        n.samples += 1;
        let case = match adapt(op, variant, sample, &tensors) {
            Ok(case) => case,
            Err(why) => {
                *unexpressible.entry(key.clone()).or_default().entry(why).or_default() += 1;
                continue;
            }
        };
        n.expressible += 1;
        let want: Vec<tch::Tensor> = sample["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| tensors[k.as_str().unwrap()].shallow_clone())
            .collect();
        let consts: Vec<Tensor> = case.consts.iter().map(Tensor::from).collect();
        let mut tracer = Tracer::new().guard_policy(tapir::GuardPolicy::Allow);
        for (i, t) in case.consts.iter().enumerate() {
            tracer = tracer.constant_name(format!("arg{i}"), t);
        }
        let input_refs: Vec<&tch::Tensor> = case.inputs.iter().collect();
        let refused = |msg: String| REFUSED.iter().any(|(o, m, _)| *o == op && msg.contains(m));
        let traced = match tracer.trace(|x| (case.run)(x, &consts), &input_refs) {
            Ok(t) => t,
            Err(e) if refused(e.to_string()) => {
                n.refused += 1;
                continue;
            }
            Err(e) => {
                failures.push(format!("{id}: trace failed: {e}"));
                continue;
            }
        };
        let eager = traced.eager_outputs();
        if eager.len() != want.len() {
            failures.push(format!("{id}: {} outputs, torch {}", eager.len(), want.len()));
            continue;
        }
        if let Some(e) = eager.iter().zip(&want).find_map(|(g, w)| same(g, w).err()) {
            failures.push(format!("{id}: tapir's eager result differs from torch: {e}"));
            continue;
        }
        let mut outcome = "pass";
        for opset in OPSETS {
            let bytes = match traced.to_onnx_bytes(&ExportOptions::with_opset(opset)) {
                Ok(b) => b,
                Err(e) if refused(e.to_string()) => {
                    outcome = "refused";
                    break;
                }
                Err(e) => {
                    failures.push(format!("{id} @ opset {opset}: export failed: {e}"));
                    outcome = "failed";
                    break;
                }
            };
            let tract_gap = |e: &str| TRACT_LIMITS.iter().any(|(o, d, m)| *o == op && *d == dtype && e.contains(m));
            let tract = tapir::testing::run_tract(&bytes, &input_refs).and_then(|got| {
                match got.iter().zip(&want).find_map(|(g, w)| same(&g.to_kind(w.kind()), w).err()) {
                    Some(e) => Err(format!("tract differs from torch: {e}")),
                    None => Ok(()),
                }
            });
            match tract {
                Ok(()) => {}
                Err(e) if tract_gap(&e) => outcome = "limited",
                Err(e) => {
                    failures.push(format!("{id} @ opset {opset}: tract: {}", e.lines().next().unwrap_or("")));
                    outcome = "failed";
                }
            }
            let ort_limit = ORT_LIMITS.iter().find(|(o, d, _)| *o == op && *d == dtype).map(|(_, _, m)| *m);
            let tol = want.first().map_or(Tolerance { atol: 0.0, rtol: 0.0 }, |w| tolerance(w.kind()));
            save_for_python(&format!("opinfo/{id}"), opset, &bytes, &input_refs, &want, tol);
            if let (Some(m), Some(dir)) = (ort_limit, tapir_conformance::check_dir()) {
                std::fs::write(dir.join(format!("opinfo/{id}/opset{opset}/expect_error")), m).unwrap();
            }
        }
        match outcome {
            "pass" => n.passed += 1,
            "refused" => n.refused += 1,
            "limited" => n.limited += 1,
            _ => {}
        }
    }
    let report = report(&counts, &unexpressible, &manifest);
    println!("{report}");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/opinfo.md");
    if std::env::var_os("TAPIR_BLESS").is_some() {
        std::fs::write(&path, &report).unwrap();
    }
    assert!(failures.is_empty(), "{} samples outside the allowed outcomes:\n{}", failures.len(), failures.join("\n"));
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(have == report, "docs/opinfo.md is stale: rerun this test with TAPIR_BLESS=1");
}

fn report(
    counts: &BTreeMap<String, Counts>,
    unexpressible: &BTreeMap<String, BTreeMap<String, usize>>,
    manifest: &Value,
) -> String {
    let mut s = String::from(
        "# OpInfo conformance\n\n\
         Generated by `tests/opinfo.rs` (rerun it with `TAPIR_BLESS=1` to rewrite this file; the test\n\
         fails when it is stale). PyTorch's OpInfo samples (`reference_inputs`, float32, int64 and\n\
         bool, up to 16 per op and dtype; `tests/opinfo_samples.py`) mapped to tapir's methods.\n\
         Each expressible sample is traced (tapir's eager result must equal torch's), exported at\n\
         opsets 13, 17 and 20, run in tract and ONNX Runtime against torch's output and checked by\n\
         the ONNX checker. A sample that cannot be written with tapir's signatures is not\n\
         expressible; the reasons are listed below the table. \"tract gap\" counts samples that\n\
         meet a listed tract gap; the listed ONNX Runtime gaps apply to their op and dtype in\n\
         `tests/check_models.py`, which counts them separately.\n\n\
         | OpInfo | samples | expressible | share | pass | refused | tract gap |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    let mut total = Counts::default();
    for (op, n) in counts {
        let share = 100.0 * n.expressible as f64 / n.samples.max(1) as f64;
        s += &format!(
            "| `{op}` | {} | {} | {share:.1}% | {} | {} | {} |\n",
            n.samples, n.expressible, n.passed, n.refused, n.limited
        );
        total.samples += n.samples;
        total.expressible += n.expressible;
        total.passed += n.passed;
        total.refused += n.refused;
        total.limited += n.limited;
    }
    let share = 100.0 * total.expressible as f64 / total.samples.max(1) as f64;
    s += &format!(
        "| **all** | {} | {} | {share:.1}% | {} | {} | {} |\n\n",
        total.samples, total.expressible, total.passed, total.refused, total.limited
    );
    s += "## Refused by design\n\n";
    for (op, _, why) in REFUSED {
        s += &format!("- `{op}`: {why}\n");
    }
    s += "\n## Runtime gaps\n\n";
    if TRACT_LIMITS.is_empty() && ORT_LIMITS.is_empty() {
        s += "None.\n";
    }
    for (op, dtype, msg) in TRACT_LIMITS {
        s += &format!("- tract, `{op}` {dtype}: {msg}\n");
    }
    for (op, dtype, msg) in ORT_LIMITS {
        s += &format!("- ONNX Runtime, `{op}` {dtype}: {msg}\n");
    }
    s += "\n## Not expressible\n\n";
    for (op, reasons) in unexpressible {
        for (why, n) in reasons {
            s += &format!("- `{op}` ({n}): {why}\n");
        }
    }
    if let Some(skipped) = manifest["skipped"].as_object() {
        s += "\n## Not dumped\n\nSamples `opinfo_samples.py` could not write (counted, not run):\n\n";
        for (why, n) in skipped {
            s += &format!("- {why} ({n})\n");
        }
    }
    s
}
