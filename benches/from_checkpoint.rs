//! A zoo model (default resnet50) from a safetensors checkpoint to a saved ONNX file, three ways,
//! each in a process of its own, interleaved over rounds:
//!
//! - `shape-only`: placeholder parameters (`tapir_nn::placeholder_parameters`), a shape-only
//!   trace, the weights bound to the memory-mapped checkpoint and streamed into the file;
//! - `real`: the model built and loaded (`tapir_nn::Loader`), traced with real data, saved;
//! - `floor`: writing the same number of bytes from memory, with fsync (the physical floor).
//!
//! Each prints its phases (build, load, trace, bind, save) and its peak extra memory (`VmHWM`
//! above the resident size before it started, after resetting the high-water mark). Goals
//! (issue 10): shape-only total at most 1.3x the floor, its trace under 5 ms, peak extra
//! memory under 10% of the weights.
//! Run: `cargo run --release -p tapir-benches --bin from_checkpoint [MODEL] [ROUNDS]`
//! (`FROM_CHECKPOINT_OPT=none` exports as lowered, without the graph optimizations).

use std::io::Write;
use std::process::Command;
use std::time::Instant;

use tapir_benches::status_kb;

fn options() -> tapir::ExportOptions {
    let mut o = tapir::ExportOptions { external_data: tapir::ExternalData::Always, ..Default::default() };
    if std::env::var("FROM_CHECKPOINT_OPT").is_ok_and(|v| v == "none") {
        o.optimize = tapir::Optimizations::none();
    }
    o
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// One way, in this (child) process: prints `way<TAB>phases<TAB>total ms<TAB>peak extra KiB`.
fn child(way: &str, model: &str, checkpoint: &str, out: &str) -> Result<(), Box<dyn std::error::Error>> {
    let _guard = tch::no_grad_guard();
    // libtorch's one-time set-up (thread pool, allocator) is not the export's.
    drop(tch::Tensor::ones([1 << 10], (tch::Kind::Float, tch::Device::Cpu)).sum(tch::Kind::Float));
    let before = status_kb("VmRSS:");
    if std::env::var_os("FROM_CHECKPOINT_RSS").is_some() {
        eprintln!("{way}: before: anon {} KiB, file {} KiB", status_kb("RssAnon:"), status_kb("RssFile:"));
    }
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let start = Instant::now();
    let mut phases = vec![];
    match way {
        "shape-only" => {
            let t = Instant::now();
            let vs = tch::nn::VarStore::new(tch::Device::Cpu);
            let m = tapir_nn::placeholder_parameters(|| tapir_zoo::build(model, &vs)).ok_or("unknown model")?;
            let x = m.example_input(1)?;
            phases.push(("build", ms(t)));
            let t = Instant::now();
            let mut traced =
                tapir::Tracer::new().parameters(&vs).shape_only().trace(|x| m.module.forward_t(&x[0], false), &[&x])?;
            phases.push(("trace", ms(t)));
            let t = Instant::now();
            traced.bind_weights(&tapir_nn::Checkpoint::open(checkpoint)?)?;
            phases.push(("bind", ms(t)));
            if std::env::var_os("FROM_CHECKPOINT_RSS").is_some() {
                eprintln!("{way}: peak before saving {} KiB", status_kb("VmHWM:").saturating_sub(before));
                let prepared = tapir::onnx::prepare(traced.graph(), &options(), "<memory>")?;
                eprintln!("{way}: peak after preparing {} KiB", status_kb("VmHWM:").saturating_sub(before));
                drop(prepared);
            }
            let t = Instant::now();
            traced.save_onnx(out, &options())?;
            phases.push(("save", ms(t)));
        }
        "real" => {
            let t = Instant::now();
            let mut vs = tch::nn::VarStore::new(tch::Device::Cpu);
            let m = tapir_zoo::build(model, &vs).ok_or("unknown model")?;
            let x = m.example_input(1)?;
            phases.push(("build", ms(t)));
            let t = Instant::now();
            tapir_nn::Loader::new().load(&mut vs, checkpoint)?;
            phases.push(("load", ms(t)));
            let t = Instant::now();
            let traced = tapir::Tracer::new().parameters(&vs).trace(|x| m.module.forward_t(&x[0], false), &[&x])?;
            phases.push(("trace", ms(t)));
            let t = Instant::now();
            traced.save_onnx(out, &options())?;
            phases.push(("save", ms(t)));
        }
        "floor" => {
            // As many bytes as the shape-only way wrote (model and data file), from memory.
            let len = std::fs::metadata(out)?.len() + std::fs::metadata(format!("{out}.data"))?.len();
            let bytes = vec![1u8; len as usize];
            let before = status_kb("VmRSS:");
            let _ = std::fs::write("/proc/self/clear_refs", "5");
            let t = Instant::now();
            let path = format!("{out}.floor");
            let mut f = std::fs::File::create(&path)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            phases.push(("write + fsync", ms(t)));
            std::fs::remove_file(&path)?;
            let text: Vec<String> = phases.iter().map(|(p, v)| format!("{p} {v:.1}")).collect();
            println!("{way}\t{}\t{:.1}\t{}", text.join(", "), ms(t), status_kb("VmHWM:").saturating_sub(before));
            return Ok(());
        }
        _ => return Err("unknown way".into()),
    }
    let total = ms(start);
    let peak = status_kb("VmHWM:").saturating_sub(before);
    if std::env::var_os("FROM_CHECKPOINT_RSS").is_some() {
        eprintln!(
            "{way}: before {before} KiB, after: anon {} KiB, file {} KiB",
            status_kb("RssAnon:"),
            status_kb("RssFile:")
        );
    }
    let text: Vec<String> = phases.iter().map(|(p, v)| format!("{p} {v:.1}")).collect();
    println!("{way}\t{}\t{total:.1}\t{peak}", text.join(", "));
    Ok(())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 5 {
        return child(&args[1], &args[2], &args[3], &args[4]);
    }
    let model = args.get(1).map(String::as_str).unwrap_or("resnet50");
    let rounds: usize = args.get(2).map(|r| r.parse()).transpose()?.unwrap_or(5);
    let dir = std::env::temp_dir().join(format!("tapir-from-checkpoint-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let checkpoint = dir.join("weights.safetensors");
    let weights_kb = {
        let vs = tch::nn::VarStore::new(tch::Device::Cpu);
        let _m = tapir_zoo::build(model, &vs).ok_or("unknown model")?;
        vs.save(&checkpoint)?;
        vs.variables().values().map(|v| v.numel() * v.kind().elt_size_in_bytes()).sum::<usize>() as f64 / 1024.0
    };
    let out = dir.join("model.onnx");
    let (checkpoint, out) = (checkpoint.to_str().ok_or("path")?, out.to_str().ok_or("path")?);
    let mut results: Vec<(String, Vec<f64>, Vec<f64>, String)> = vec![];
    for _ in 0..rounds {
        for way in ["shape-only", "floor", "real"] {
            let run = Command::new(&args[0]).args([way, model, checkpoint, out]).output()?;
            let text = String::from_utf8_lossy(&run.stdout);
            if std::env::var_os("FROM_CHECKPOINT_RSS").is_some() {
                eprint!("{}", String::from_utf8_lossy(&run.stderr));
            }
            let fields: Vec<&str> = text.trim().split('\t').collect();
            let [_, phases, total, peak] = fields.as_slice() else {
                return Err(format!("{way} failed: {}", String::from_utf8_lossy(&run.stderr)).into());
            };
            match results.iter_mut().find(|r| r.0 == way) {
                Some(r) => {
                    r.1.push(total.parse()?);
                    r.2.push(peak.parse()?);
                    r.3 = phases.to_string();
                }
                None => results.push((way.to_owned(), vec![total.parse()?], vec![peak.parse()?], phases.to_string())),
            }
        }
    }
    let floor = results.iter().find(|r| r.0 == "floor").map(|r| median(r.1.clone())).ok_or("no floor")?;
    println!("{model}: weights {:.1} MB, {rounds} rounds, medians (phases: last round, ms)\n", weights_kb / 1024.0);
    println!(
        "| way | total | / floor | peak extra memory | / weights | phases |\n| --- | --- | --- | --- | --- | --- |"
    );
    for (way, totals, peaks, phases) in &results {
        let (t, p) = (median(totals.clone()), median(peaks.clone()));
        println!("| {way} | {t:.1} ms | {:.2} | {:.1} MB | {:.3} | {phases} |", t / floor, p / 1024.0, p / weights_kb);
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
