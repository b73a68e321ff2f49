//! The `tapir` command-line tool.

use std::path::PathBuf;
use std::process::ExitCode;
use tapir::internals::graph::NodeKind;
use tapir::{ExportOptions, Traced, Tracer};
use tapir_cli::examples::{causal_mask, mlp, AttentionBlock, SmallCnn};
use tapir_cli::verify;
use tch::nn::VarStore;
use tch::{Device, Kind};

const HELP: &str = "\
tapir: trace Rust models written on tch into ONNX

USAGE:
    tapir demo [--out DIR] [--opset N]
    tapir time-export [--out DIR] [--opset N]

COMMANDS:
    demo    Trace the example models (MLP, small CNN, attention block) with random weights,
            export them, check each in tract against eager tch, and print a summary.
            Each model is written as DIR/<model>/model.onnx with io.safetensors beside it
            (inputs and eager outputs) for tests/check_models.py.

    time-export
            Trace and export an MLP 784-512-512-10 (batch 8) to DIR/mlp784.onnx 20 times and
            print the median trace and export times in milliseconds as JSON (used by
            benches/compare_pytorch.py).

OPTIONS:
    --out DIR    Output folder (default: target/demo)
    --opset N    ONNX opset to export (default: 20; supported: 13 to 28)
    -h, --help   Print this help
";

struct Args {
    command: Command,
    out: PathBuf,
    opset: i64,
}

#[derive(Clone, Copy, PartialEq)]
enum Command {
    Demo,
    TimeExport,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut parsed = Args { command: Command::Demo, out: PathBuf::from("target/demo"), opset: 20 };
    match args.next().as_deref() {
        Some("demo") => {}
        Some("time-export") => parsed.command = Command::TimeExport,
        Some("-h" | "--help") | None => return Ok(None),
        Some(other) => return Err(format!("unknown command `{other}` (try --help)")),
    }
    while let Some(a) = args.next() {
        match a.as_str() {
            "--out" => parsed.out = PathBuf::from(args.next().ok_or("--out needs a folder")?),
            "--opset" => {
                let v = args.next().ok_or("--opset needs a number")?;
                parsed.opset = v.parse().map_err(|_| format!("--opset: `{v}` is not a number"))?;
            }
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unknown option `{other}` (try --help)")),
        }
    }
    Ok(Some(parsed))
}

fn summarize(name: &str, traced: &Traced, inputs: &[&tch::Tensor], args: &Args) -> Result<(), String> {
    let dir = args.out.join(name);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join("model.onnx");
    let options = ExportOptions::with_opset(args.opset);
    let size = traced.save_onnx(&path, &options).map_err(|e| e.to_string())?;
    let bytes = std::fs::read(&path).map_err(|e| e.to_string())?;
    let g = traced.graph();
    println!("== {name}: {} ({size} bytes, opset {})", path.display(), args.opset);
    for n in g.inputs() {
        if let NodeKind::Input { name } = &g.node(*n).kind {
            println!("   input  {name}: {}", g.node(*n).outputs[0]);
        }
    }
    for o in g.outputs() {
        println!("   output {}: {}", o.name, g.meta(o.value));
    }
    let hist: Vec<String> = g.op_histogram().iter().map(|(op, n)| format!("{op} x{n}")).collect();
    println!("   ops    {}", hist.join(", "));
    println!("   params {} in {} initializers", g.parameter_count(), g.constants().count());
    let verdict = match verify::run_tract(&bytes, inputs) {
        Err(e) => format!("FAILED to run: {e}"),
        Ok(outs) => {
            let mut worst = 0.0f64;
            let mut bad = None;
            for ((_, got), want) in outs.iter().zip(traced.eager_outputs()) {
                let want: Vec<f64> = Vec::<f64>::try_from(want.to_kind(Kind::Double).flatten(0, -1)).unwrap_or_default();
                match verify::compare(got, &want, verify::Tolerance { atol: 1e-4, rtol: 1e-4 }) {
                    Ok(e) => worst = worst.max(e),
                    Err(e) => bad = Some(e),
                }
            }
            match bad {
                Some(e) => format!("MISMATCH: {e}"),
                None => format!("ok (max abs error vs eager {worst:.2e})"),
            }
        }
    };
    println!("   tract  {verdict}");
    verify::save_io(&dir, inputs, traced.eager_outputs(), verify::Tolerance { atol: 1e-4, rtol: 1e-4 });
    if verdict.starts_with("ok") {
        Ok(())
    } else {
        Err(format!("{name}: tract {verdict}"))
    }
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

fn median_ms(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn time_export(args: &Args) -> Result<(), String> {
    use std::time::Instant;
    let _guard = tch::no_grad_guard();
    tch::manual_seed(0);
    let vs = VarStore::new(Device::Cpu);
    let root = vs.root();
    let layers = [
        tapir_cli::examples::Linear::new(&root / "0", 784, 512),
        tapir_cli::examples::Linear::new(&root / "2", 512, 512),
        tapir_cli::examples::Linear::new(&root / "4", 512, 10),
    ];
    let forward = |x: &tapir::Tensor| layers[2].forward(&layers[1].forward(&layers[0].forward(x).relu()).relu());
    let x = tch::Tensor::randn([8, 784], (Kind::Float, Device::Cpu));
    std::fs::create_dir_all(&args.out).map_err(|e| e.to_string())?;
    let path = args.out.join("mlp784.onnx");
    let (mut trace_ms, mut export_ms) = (vec![], vec![]);
    for _ in 0..20 {
        let t0 = Instant::now();
        let traced = Tracer::new().parameters(&vs).trace(|x| forward(&x[0]), &[&x]).map_err(|e| e.to_string())?;
        let t1 = Instant::now();
        traced.save_onnx(&path, &ExportOptions::with_opset(args.opset)).map_err(|e| e.to_string())?;
        let t2 = Instant::now();
        trace_ms.push((t1 - t0).as_secs_f64() * 1e3);
        export_ms.push((t2 - t1).as_secs_f64() * 1e3);
    }
    let size = std::fs::metadata(&path).map_err(|e| e.to_string())?.len();
    println!(
        "{{\"trace_ms\": {:.3}, \"export_ms\": {:.3}, \"bytes\": {size}}}",
        median_ms(trace_ms),
        median_ms(export_ms)
    );
    Ok(())
}

fn main() -> ExitCode {
    match parse(std::env::args().skip(1)) {
        Ok(None) => {
            print!("{HELP}");
            ExitCode::SUCCESS
        }
        Ok(Some(args)) => match if args.command == Command::Demo { demo(&args) } else { time_export(&args) } {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
