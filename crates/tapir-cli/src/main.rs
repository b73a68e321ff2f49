//! The `tapir` command-line tool.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use tapir::{ExportOptions, HalfPrecision, NodeKind, Traced, Tracer};
use tapir_zoo::examples::{causal_mask, mlp, AttentionBlock, SmallCnn};
use tch::nn::VarStore;
use tch::{Device, Kind};

/// What the exit code says (the end of `tapir --help`).
const EXIT_CODES: &str = "\
EXIT CODES:
    0  success
    1  the command failed (an unknown model, unreadable weights, an op tapir cannot trace or
       export, a failed check, an I/O error); the message says which, and no file was replaced
    2  the command line is wrong
    3  an internal error (a bug in tapir)";

/// tapir: trace Rust models written on tch into ONNX.
#[derive(Parser)]
#[command(name = "tapir", version, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Export a zoo model to ONNX.
    ///
    /// Build a zoo model (mlp, resnet18, resnet50, encoder, lstm), load its weights from a
    /// PyTorch state_dict saved as safetensors (random initialization without --weights),
    /// trace it in eval mode on a random input, check it against eager (tract; ONNX Runtime for
    /// --fp16), and write the ONNX model. Nothing is written on any error.
    Export {
        /// The zoo model.
        model: String,
        #[command(flatten)]
        zoo: ZooArgs,
        /// The model file to write.
        #[arg(long, value_name = "M.onnx")]
        out: PathBuf,
        /// ONNX opset to export (13 to 28).
        #[arg(long, default_value_t = 20)]
        opset: i64,
        /// Store weights and compute in float16 (normalizations and softmax stay float32;
        /// inputs and outputs stay float32 unless --half-io).
        #[arg(long, conflicts_with = "bf16")]
        fp16: bool,
        /// Store weights and compute in bfloat16 (as --fp16; use opset 22 or later, where Conv
        /// and LSTM take bfloat16). No CPU runtime here runs bfloat16: the model is not checked.
        #[arg(long)]
        bf16: bool,
        /// With --fp16 or --bf16: the model's float inputs and outputs take the half type too.
        #[arg(long)]
        half_io: bool,
        /// Export straight from --weights without loading them: the model is built with
        /// placeholder parameters, traced shape-only (each op's shape and dtype rules, no
        /// arithmetic) and its weights streamed from the file into the ONNX file. Fast and
        /// lean whatever the model's size, but nothing is computed to check the model against:
        /// it is written unchecked (export once without this flag to check it).
        #[arg(long, requires = "weights")]
        shape_only: bool,
    },
    /// Draw a zoo model's traced graph or an ONNX file (SVG or DOT).
    ///
    /// Trace a zoo model as export does, or read an ONNX file (a name ending in .onnx, any
    /// producer), and draw its graph: ops as boxes with their attributes (and output types, for a
    /// trace), module scopes as clusters, edges labelled with tensors, weights folded into the
    /// ops that use them, guards highlighted, source locations as tooltips. A .svg is laid out
    /// and drawn by tapir itself (no Graphviz needed); any other name gets DOT text.
    Graph {
        /// The zoo model, or an ONNX file (M.onnx).
        model: String,
        #[command(flatten)]
        zoo: ZooArgs,
        /// The picture (.svg) or DOT file (.dot) to write.
        #[arg(long, value_name = "G.svg|G.dot")]
        out: PathBuf,
    },
    /// Describe an ONNX model file.
    ///
    /// Read an ONNX model file (any producer) and print its opsets, inputs and outputs with
    /// shapes, op histogram, parameter count and bytes, and tapir's metadata (guards, unnamed
    /// captures).
    Inspect {
        /// The ONNX file.
        file: PathBuf,
    },
    /// Trace, export and check the example models.
    ///
    /// Trace the example models (MLP, small CNN, attention block) with random weights, export
    /// them, check each in tract against eager tch, and print a summary. Each model is written as
    /// OUT/<model>/model.onnx with io.safetensors beside it (inputs and eager outputs) for
    /// tests/check_models.py.
    Demo {
        /// The output folder.
        #[arg(long, default_value = "target/demo")]
        out: PathBuf,
        /// ONNX opset to export (13 to 28).
        #[arg(long, default_value_t = 20)]
        opset: i64,
    },
    /// Time tracing and export of a zoo model (for benches/suite.py).
    ///
    /// Build and load the zoo model as export does, trace and save it once to warm up, once more
    /// to measure the peak memory an export adds, then RUNS times timed; print one JSON line:
    /// trace_ms, export_ms and times_ms (their sums) per run, bytes, peak_extra_kb.
    TimeExport {
        /// The zoo model.
        model: String,
        #[command(flatten)]
        zoo: ZooArgs,
        /// The model file to write.
        #[arg(long, value_name = "M.onnx")]
        out: PathBuf,
        /// ONNX opset to export (13 to 28).
        #[arg(long, default_value_t = 20)]
        opset: i64,
        /// Timed runs.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
        runs: u32,
        /// Time `export --shape-only`: the model has placeholder parameters; each run traces
        /// shape-only, binds the weights to --weights and saves.
        #[arg(long, requires = "weights")]
        shape_only: bool,
    },
}

/// How a zoo model is built and traced.
#[derive(clap::Args)]
struct ZooArgs {
    /// Safetensors file with the model's state_dict (PyTorch names).
    #[arg(long, value_name = "W.safetensors")]
    weights: Option<PathBuf>,
    /// Batch size of the traced input (default 2 when the batch is dynamic, 1 with --static).
    #[arg(long, value_parser = clap::value_parser!(i64).range(1..))]
    batch: Option<i64>,
    /// Bake the traced shapes into the model (by default the batch dimension is dynamic).
    #[arg(long = "static", conflicts_with = "dynamic")]
    static_shapes: bool,
    /// Also make this dimension dynamic: `seq` (the sequence length of encoder and lstm).
    #[arg(long, value_name = "DIM", value_parser = ["seq"])]
    dynamic: Vec<String>,
}

/// The parsed command line, as the commands read it.
struct Args {
    out: PathBuf,
    opset: i64,
    model: Option<String>,
    weights: Option<PathBuf>,
    batch: i64,
    /// Dynamic dimensions: (axis, name) of the input; empty for a static export.
    dynamic: Vec<(usize, &'static str)>,
    /// Half-precision conversion at export.
    half: Option<HalfPrecision>,
    /// Trace shape-only and stream the weights from `weights` (`tapir export --shape-only`).
    shape_only: bool,
}

impl Args {
    fn new(out: PathBuf, opset: i64) -> Self {
        Args { out, opset, model: None, weights: None, batch: 1, dynamic: vec![], half: None, shape_only: false }
    }

    fn zoo(model: String, zoo: ZooArgs, out: PathBuf, opset: i64) -> Self {
        let mut dynamic = vec![];
        if !zoo.static_shapes {
            dynamic.push((0, "batch"));
            if zoo.dynamic.iter().any(|d| d == "seq") {
                dynamic.push((1, "seq"));
            }
        }
        let batch = zoo.batch.unwrap_or(if dynamic.is_empty() { 1 } else { 2 });
        Args { out, opset, model: Some(model), weights: zoo.weights, batch, dynamic, half: None, shape_only: false }
    }
}

fn summarize(name: &str, traced: &Traced, inputs: &[&tch::Tensor], args: &Args) -> Result<(), String> {
    let dir = args.out.join(name);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let result = save_and_report(name, traced, inputs, &dir.join("model.onnx"), args);
    #[cfg(feature = "check")]
    tapir::testing::save_io(&dir, inputs, traced.eager_outputs(), tapir::Tolerance { atol: 1e-4, rtol: 1e-4 });
    result
}

/// The check an exported model must pass before it is written, and its verdict: tract within
/// 1e-4 of the output's scale; ONNX Runtime within 1e-2 for float16 (tract cannot translate a
/// float16 `Gemm`); none for bfloat16, which no CPU runtime here runs.
#[cfg(feature = "check")]
fn verdict(
    bytes: &[u8],
    inputs: &[&tch::Tensor],
    eager: &[tch::Tensor],
    half: Option<&HalfPrecision>,
) -> Result<String, String> {
    match half.map(|h| h.dtype) {
        None => tapir::testing::tract_verdict(bytes, inputs, eager),
        Some(tapir::DType::F16) => match tapir::testing::onnxruntime_available() {
            Ok(()) => tapir::testing::onnxruntime_verdict(bytes, inputs, eager, 1e-2),
            Err(why) => Ok(format!("not checked: ONNX Runtime is not available ({why})")),
        },
        Some(_) => Ok("not checked: no CPU runtime here runs bfloat16 (check it on the target runtime)".to_owned()),
    }
}

#[cfg(not(feature = "check"))]
fn verdict(_: &[u8], _: &[&tch::Tensor], _: &[tch::Tensor], _: Option<&HalfPrecision>) -> Result<String, String> {
    Ok("not checked: this tapir was built without its `check` feature".to_owned())
}

/// Exports the model, checks it in tract against the eager outputs, and only then writes it to
/// `path`; prints the summary: inputs, outputs, op histogram, parameters, file size, and tract's
/// verdict. A model that fails the check is not written.
fn save_and_report(
    name: &str,
    traced: &Traced,
    inputs: &[&tch::Tensor],
    path: &std::path::Path,
    args: &Args,
) -> Result<(), String> {
    let opset = args.opset;
    let options = ExportOptions { half_precision: args.half.clone(), ..ExportOptions::with_opset(opset) };
    let check = |bytes: &[u8]| verdict(bytes, inputs, traced.eager_outputs(), args.half.as_ref());
    let (size, verdict) = tapir_cli::save_checked(name, traced, path, &options, check)?;
    print_summary(name, traced, path, size, &verdict, args);
    Ok(())
}

/// The summary of a written model: inputs, outputs, op histogram, parameters, file size, and the
/// check's verdict.
fn print_summary(name: &str, traced: &Traced, path: &std::path::Path, size: u64, verdict: &str, args: &Args) {
    let opset = args.opset;
    let g = traced.graph();
    println!("== {name}: {} ({size} bytes, opset {opset})", path.display());
    for n in g.inputs() {
        if let NodeKind::Input { name } = &g.node(*n).kind {
            println!("   input  {name}: {}", g.type_text(tapir::ValueRef { node: *n, output: 0 }));
        }
    }
    for o in g.outputs() {
        println!("   output {}: {}", o.name, g.type_text(o.value));
    }
    let hist: Vec<String> = g.op_histogram().iter().map(|(op, n)| format!("{op} x{n}")).collect();
    println!("   ops    {}", hist.join(", "));
    println!("   params {} in {} initializers", g.parameter_count(), g.constants().count());
    if let Some(half) = &args.half {
        println!("   dtype  {} (float32 kept for: {})", half.dtype, half.float32_ops.join(", "));
    }
    // The runtime that checked the model: tract, or ONNX Runtime for float16 (see `verdict`).
    let runtime = match (args.shape_only, args.half.is_some()) {
        (true, _) => "check ",
        (false, true) => "ort   ",
        (false, false) => "tract ",
    };
    println!("   {runtime} {verdict}");
}

fn demo(args: &Args) -> Result<(), String> {
    tch::manual_seed(0);
    let opts = (Kind::Float, Device::Cpu);
    let mut failures = vec![];

    let vs = VarStore::new(Device::Cpu);
    let model = mlp(&vs);
    let x = tch::Tensor::randn([8, 32], opts);
    let traced = Tracer::new().parameters(&vs).trace(|x| model(&x[0]), &[&x]).map_err(|e| e.to_string())?;
    failures.extend(summarize("mlp", &traced, &[&x], args).err());

    let vs = VarStore::new(Device::Cpu);
    let cnn = SmallCnn::new(vs.root(), 10);
    let x = tch::Tensor::randn([4, 3, 32, 32], opts);
    let traced = Tracer::new()
        .parameters(&vs)
        .input_names(["image"])
        .output_names(["logits"])
        .trace(|x| cnn.forward(&x[0]), &[&x])
        .map_err(|e| e.to_string())?;
    failures.extend(summarize("small_cnn", &traced, &[&x], args).err());

    let vs = VarStore::new(Device::Cpu);
    let block = AttentionBlock::new(vs.root() / "block", 64, 4);
    let (x, mask) = (tch::Tensor::randn([2, 16, 64], opts), causal_mask(16));
    let traced = Tracer::new()
        .parameters(&vs)
        .input_names(["x", "mask"])
        .trace(|i| block.forward(&i[0], &i[1]), &[&x, &mask])
        .map_err(|e| e.to_string())?;
    failures.extend(summarize("attention", &traced, &[&x, &mask], args).err());

    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}

/// Builds zoo model `args.model`, loads its weights if given, and makes its example input.
/// With `args.shape_only`, the model has placeholder parameters and nothing is loaded.
fn load_zoo(args: &Args) -> Result<(VarStore, tapir_zoo::ZooModel, tch::Tensor), String> {
    let name = args.model.as_deref().unwrap_or_default();
    let mut vs = VarStore::new(Device::Cpu);
    let unknown = || format!("unknown model `{name}` (known: {})", tapir_zoo::MODELS.join(", "));
    let model = if args.shape_only {
        tapir_nn::placeholder_parameters(|| tapir_zoo::build(name, &vs)).ok_or_else(unknown)?
    } else {
        tapir_zoo::build(name, &vs).ok_or_else(unknown)?
    };
    if let Some(w) = args.weights.as_ref().filter(|_| !args.shape_only) {
        tapir_nn::load_safetensors(&mut vs, w).map_err(|e| e.to_string().replace("\n  - ", " | "))?;
    }
    tch::manual_seed(0);
    let input = model
        .example_input(args.batch)
        .map_err(|e| format!("cannot create an input of batch size {} for {name}: {}", args.batch, tch_message(&e)))?;
    if args.dynamic.iter().any(|(_, dim)| *dim == "seq") && !matches!(name, "encoder" | "lstm") {
        return Err(format!("`{name}` has no sequence dimension: --dynamic seq is for encoder and lstm"));
    }
    Ok((vs, model, input))
}

/// Traces a loaded zoo model in eval mode, with `args.dynamic`'s dimensions dynamic.
fn trace_loaded(
    args: &Args,
    vs: &VarStore,
    model: &tapir_zoo::ZooModel,
    input: &tch::Tensor,
) -> Result<Traced, String> {
    let mut tracer = Tracer::new().parameters(vs);
    if args.shape_only {
        tracer = tracer.shape_only();
    }
    for (axis, dim) in &args.dynamic {
        tracer = tracer.dynamic_dim("input", *axis, tapir::Dim::new(*dim));
    }
    tracer.trace(|x| model.module.forward_t(&x[0], false), &[input]).map_err(|e| e.to_string())
}

/// Builds zoo model `args.model`, loads its weights if given, and traces it in eval mode, with
/// `args.dynamic`'s dimensions dynamic. Returns the trace, its input and the model.
fn trace_zoo(args: &Args) -> Result<(Traced, tch::Tensor, tapir_zoo::ZooModel), String> {
    let (vs, model, input) = load_zoo(args)?;
    let traced = trace_loaded(args, &vs, &model, &input)?;
    Ok((traced, input, model))
}

/// Inputs at other sizes of the dynamic dimensions, cut from and tiled out of `input`: size 1
/// and one more than traced, for each dynamic axis.
fn other_sizes(input: &tch::Tensor, dynamic: &[(usize, &'static str)]) -> Result<Vec<Vec<tch::Tensor>>, String> {
    let mut sets = vec![];
    for (axis, _) in dynamic {
        let axis = *axis as i64;
        let one = input.f_narrow(axis, 0, 1).map_err(|e| tch_message(&e))?;
        let more = tch::Tensor::f_cat(&[input, &one], axis).map_err(|e| tch_message(&e))?;
        sets.push(vec![one]);
        sets.push(vec![more]);
    }
    Ok(sets)
}

fn export(args: &Args) -> Result<(), String> {
    if args.shape_only {
        return export_shape_only(args);
    }
    let (traced, input, model) = trace_zoo(args)?;
    let name = args.model.as_deref().unwrap_or_default();
    if !args.dynamic.is_empty() {
        // The dynamic model is checked at other sizes (eager, replay and tract) before writing.
        let sets = other_sizes(&input, &args.dynamic)?;
        // The tolerance of the check before saving: 1e-4 of the output's scale.
        let max_abs = |t: &tch::Tensor| t.f_abs().and_then(|a| a.f_max()).and_then(|m| m.f_double_value(&[])).ok();
        let scale = traced.eager_outputs().iter().filter_map(max_abs).fold(1.0f64, f64::max);
        let opts = tapir::CheckOptions {
            tolerance: tapir::Tolerance { atol: 1e-4 * scale, rtol: 1e-4 },
            tract: true,
            onnxruntime: false,
            opset: args.opset,
        };
        let report = traced.check(|x| model.module.forward_t(&x[0], false), &sets, &opts);
        if !report.is_ok() {
            return Err(format!(
                "{name}: the dynamic model fails at other sizes: {}",
                report.to_string().trim_end().replace('\n', " ")
            ));
        }
    }
    save_and_report(name, &traced, &[&input], &args.out, args)
}

/// `tapir export --shape-only`: placeholders, a shape-only trace, the weights bound to the
/// checkpoint and streamed into the file (written unchecked: nothing was computed).
fn export_shape_only(args: &Args) -> Result<(), String> {
    let name = args.model.as_deref().unwrap_or_default();
    let weights = args.weights.as_ref().ok_or("--shape-only needs --weights")?;
    let (mut traced, _, _) = trace_zoo(args)?;
    let checkpoint = tapir_nn::Checkpoint::open(weights).map_err(|e| e.to_string())?;
    traced.bind_weights(&checkpoint).map_err(|e| e.to_string().replace("\n  - ", " | "))?;
    let options = ExportOptions { half_precision: args.half.clone(), ..ExportOptions::with_opset(args.opset) };
    let size = traced.save_onnx(&args.out, &options).map_err(|e| format!("cannot save {name}: {e}"))?;
    let verdict =
        "not checked: a shape-only trace computes no outputs to compare with (export without --shape-only to check)";
    print_summary(name, &traced, &args.out, size, verdict, args);
    Ok(())
}

/// Writes the traced graph's picture (.svg, laid out by layout-rs) or DOT text (any other
/// extension), to a temporary file renamed into place.
fn graph(args: &Args) -> Result<(), String> {
    let name = args.model.as_deref().unwrap_or_default();
    let (dot, ops) = if name.to_ascii_lowercase().ends_with(".onnx") {
        use prost::Message;
        let bytes = std::fs::read(name).map_err(|e| format!("{name}: {e}"))?;
        let model = tapir::onnx::proto::ModelProto::decode(bytes.as_slice())
            .map_err(|e| format!("{name} is not an ONNX model: {e}"))?;
        let ops = model.graph.as_ref().map_or(0, |g| g.node.len());
        (tapir_cli::draw::onnx_to_dot(&model), ops)
    } else {
        let (traced, _, _) = trace_zoo(args)?;
        (traced.to_dot(), traced.graph().op_histogram().values().sum::<usize>())
    };
    let svg = args.out.extension().is_some_and(|e| e.eq_ignore_ascii_case("svg"));
    let content = if svg { render_svg(&dot)? } else { dot };
    let tmp = args.out.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, &content).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &args.out).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("{}: {e}", args.out.display())
    })?;
    println!("wrote {} ({} bytes, {ops} ops)", args.out.display(), content.len());
    Ok(())
}

/// Prints what an ONNX file holds (see the help text).
fn inspect(args: &Args) -> Result<(), String> {
    use prost::Message;
    use tapir::onnx::proto::{ModelProto, ValueInfoProto};
    let path = PathBuf::from(args.model.as_deref().unwrap_or_default());
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let model =
        ModelProto::decode(bytes.as_slice()).map_err(|e| format!("{} is not an ONNX model: {e}", path.display()))?;
    let graph = model.graph.unwrap_or_default();
    let describe = |v: &ValueInfoProto| -> String {
        let name = v.name.clone().unwrap_or_default();
        match tapir_cli::tensor_type(v, ",") {
            Some(t) => format!("{name}: {t}"),
            None => format!("{name}: (not a tensor)"),
        }
    };
    println!("{}", path.display());
    let producer =
        format!("{} {}", model.producer_name.unwrap_or_default(), model.producer_version.unwrap_or_default());
    println!("  producer: {}; IR version {}", producer.trim(), model.ir_version.unwrap_or(0));
    for o in &model.opset_import {
        let domain = o.domain.clone().filter(|d| !d.is_empty()).unwrap_or_else(|| "ai.onnx".to_owned());
        println!("  opset: {domain} {}", o.version.unwrap_or(0));
    }
    let initializers: std::collections::HashSet<&str> =
        graph.initializer.iter().filter_map(|t| t.name.as_deref()).collect();
    for i in graph.input.iter().filter(|i| !initializers.contains(i.name.as_deref().unwrap_or_default())) {
        println!("  input  {}", describe(i));
    }
    for o in &graph.output {
        println!("  output {}", describe(o));
    }
    let mut histogram: std::collections::BTreeMap<String, usize> = Default::default();
    for n in &graph.node {
        let domain = n.domain.clone().filter(|d| !d.is_empty()).map(|d| format!("{d}::")).unwrap_or_default();
        *histogram.entry(format!("{domain}{}", n.op_type.clone().unwrap_or_default())).or_default() += 1;
    }
    let ops: Vec<String> = histogram.iter().map(|(k, v)| format!("{k} x{v}")).collect();
    println!("  nodes: {} ({})", graph.node.len(), ops.join(", "));
    let (mut count, mut size, mut external) = (0i64, 0i64, 0usize);
    for t in &graph.initializer {
        let n: i64 = t.dims.iter().product();
        count += n;
        size += n * tapir::DType::from_onnx_code(t.data_type.unwrap_or(0)).map_or(0, |d| d.size_bytes() as i64);
        external += (t.data_location == Some(1)) as usize;
    }
    let external = if external > 0 { format!(", {external} in external data") } else { String::new() };
    println!("  parameters: {count} in {} initializers, {size} bytes{external}", graph.initializer.len());
    for p in &model.metadata_props {
        println!("  metadata {}: {}", p.key.clone().unwrap_or_default(), p.value.clone().unwrap_or_default());
    }
    Ok(())
}

/// DOT text laid out and drawn as SVG by layout-rs (pure Rust: no Graphviz on the machine).
fn render_svg(dot: &str) -> Result<String, String> {
    use layout::backends::svg::SVGWriter;
    use layout::gv::{DotParser, GraphBuilder};
    let mut parser = DotParser::new(dot);
    let tree = parser.process().map_err(|e| format!("internal error: the DOT text does not parse: {e}"))?;
    let mut builder = GraphBuilder::new();
    builder.visit_graph(&tree);
    let mut graph = builder.get();
    let mut svg = SVGWriter::new();
    graph.do_it(false, false, false, &mut svg);
    Ok(svg.finalize())
}

/// The first line of a tch error, without libtorch's C++ backtrace.
fn tch_message(e: &tch::TchError) -> String {
    let text = e.to_string();
    text.lines().next().unwrap_or_default().trim().to_owned()
}

/// A `/proc/self/status` field in KiB (0 where there is none, as off Linux).
fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':')?.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn time_export(args: &Args, runs: u32) -> Result<(), String> {
    use std::time::Instant;
    let _guard = tch::no_grad_guard();
    let (vs, model, input) = load_zoo(args)?;
    let options = ExportOptions::with_opset(args.opset);
    let once = || -> Result<(f64, f64, u64), String> {
        let t0 = Instant::now();
        let mut traced = trace_loaded(args, &vs, &model, &input)?;
        let t1 = Instant::now();
        if let Some(w) = args.weights.as_ref().filter(|_| args.shape_only) {
            let checkpoint = tapir_nn::Checkpoint::open(w).map_err(|e| e.to_string())?;
            traced.bind_weights(&checkpoint).map_err(|e| e.to_string())?;
        }
        let size = traced.save_onnx(&args.out, &options).map_err(|e| e.to_string())?;
        let t2 = Instant::now();
        Ok(((t1 - t0).as_secs_f64() * 1e3, (t2 - t1).as_secs_f64() * 1e3, size))
    };
    once()?;
    // The peak an export adds: reset the high-water mark (Linux), export, read it back.
    let before = status_kb("VmRSS");
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let (_, _, size) = once()?;
    let peak_extra_kb = status_kb("VmHWM").saturating_sub(before);
    let (mut trace_ms, mut export_ms) = (vec![], vec![]);
    for _ in 0..runs {
        let (t, e, _) = once()?;
        trace_ms.push(t);
        export_ms.push(e);
    }
    let list = |v: &[f64]| v.iter().map(|x| format!("{x:.3}")).collect::<Vec<_>>().join(", ");
    let total: Vec<f64> = trace_ms.iter().zip(&export_ms).map(|(t, e)| t + e).collect();
    println!(
        "{{\"trace_ms\": [{}], \"export_ms\": [{}], \"times_ms\": [{}], \"bytes\": {size}, \"peak_extra_kb\": {peak_extra_kb}}}",
        list(&trace_ms),
        list(&export_ms),
        list(&total)
    );
    Ok(())
}

fn main() -> ExitCode {
    // A panic is a bug in tapir, never the user's fault: say so in one sentence, exit code 3.
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let at = info.location().map(|l| format!(" at {l}")).unwrap_or_default();
        eprintln!("error: internal error in tapir{at}: {what} (please report this)");
    }));
    match std::panic::catch_unwind(run) {
        Ok(code) => code,
        Err(_) => ExitCode::from(3),
    }
}

fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                print!("{e}");
                return ExitCode::SUCCESS;
            }
            if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                eprint!("{e}");
                return ExitCode::from(2);
            }
            // One sentence, as every other error: clap's first line, without its usage block.
            let text = e.to_string();
            let first = text.split("\n\n").next().unwrap_or_default();
            let sentence: Vec<&str> = first.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
            let sentence = sentence.join(" ");
            eprintln!("error: {} (try --help)", sentence.trim_start_matches("error: "));
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Cmd::Export { model, zoo, out, opset, fp16, bf16, half_io, shape_only } => {
            let mut args = Args::zoo(model, zoo, out, opset);
            args.shape_only = shape_only;
            let half = match (fp16, bf16) {
                (true, _) => Some(HalfPrecision::float16()),
                (_, true) => Some(HalfPrecision::bfloat16()),
                _ => None,
            };
            args.half = half.map(|h| HalfPrecision { keep_io_float32: !half_io, ..h });
            if half_io && args.half.is_none() {
                eprintln!("error: --half-io needs --fp16 or --bf16 (try --help)");
                return ExitCode::from(2);
            }
            export(&args)
        }
        Cmd::Graph { model, zoo, out } => graph(&Args::zoo(model, zoo, out, 20)),
        Cmd::Inspect { file } => {
            let mut args = Args::new(PathBuf::new(), 20);
            args.model = Some(file.display().to_string());
            inspect(&args)
        }
        Cmd::Demo { out, opset } => demo(&Args::new(out, opset)),
        Cmd::TimeExport { model, zoo, out, opset, runs, shape_only } => {
            let mut args = Args::zoo(model, zoo, out, opset);
            args.shape_only = shape_only;
            time_export(&args, runs)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
