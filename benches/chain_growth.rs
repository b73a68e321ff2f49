//! How export cost grows with the graph: a chain of `n` elementwise ops (`tanh`, `* 0.5`
//! alternating) on `[4, 4]`, for n from 1,000 to 100,000: the eager run, the trace, and the
//! export to bytes (lowering, type checks, optimizations, encoding), medians of 5 runs, with the
//! export's cost per node. Goals (issue 10): per-node cost flat within 20% over the range, and
//! the 12,000-op chain traced + exported within 2x its eager time + 20 ms.
//! Run: `cargo run --release -p tapir-benches --bin chain_growth` (`CHAIN_N=48000` for one size,
//! `CHAIN_PHASES=1` to print the export's phases: lowering, optimization, encoding, dropping).

use std::time::Instant;
use tapir::{ExportOptions, Tensor, Tracer};

fn chain(x: &Tensor, n: usize) -> Tensor {
    let mut h = x.shallow_clone();
    for i in 0..n {
        h = if i % 2 == 0 { h.tanh() } else { &h * 0.5 };
    }
    h
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _guard = tch::no_grad_guard();
    let x = tch::Tensor::randn([4, 4], (tch::Kind::Float, tch::Device::Cpu));
    let opts = if std::env::var_os("CHAIN_NO_OPT").is_some() {
        ExportOptions { optimize: tapir::Optimizations::none(), ..ExportOptions::default() }
    } else {
        ExportOptions::default()
    };
    println!("| ops | eager | trace | export | export per op | trace + export vs 2x eager + 20 ms |");
    println!("| --- | --- | --- | --- | --- | --- |");
    let sizes: Vec<usize> = match std::env::var("CHAIN_N") {
        Ok(n) => vec![n.parse()?],
        Err(_) => vec![1_000, 3_000, 12_000, 48_000, 100_000],
    };
    for n in sizes {
        let (mut eager, mut trace, mut export) = (vec![], vec![], vec![]);
        for _ in 0..5 {
            let t = Instant::now();
            drop(chain(&Tensor::from(&x), n));
            eager.push(t.elapsed().as_secs_f64());
            let t = Instant::now();
            let traced = Tracer::new().trace(|xs| chain(&xs[0], n), &[&x])?;
            trace.push(t.elapsed().as_secs_f64());
            let t = Instant::now();
            let bytes = traced.to_onnx_bytes(&opts)?;
            export.push(t.elapsed().as_secs_f64());
            drop(bytes);
            if std::env::var_os("CHAIN_PHASES").is_some() {
                let t = Instant::now();
                let lowered = tapir::onnx::lower(traced.graph(), &opts)?;
                let lower_s = t.elapsed().as_secs_f64();
                drop(lowered);
                let t = Instant::now();
                let prepared = tapir::onnx::prepare(traced.graph(), &opts, "<memory>")?;
                let prepare_s = t.elapsed().as_secs_f64();
                let t = Instant::now();
                let mut out = Vec::new();
                prepared.write_to(&mut out)?;
                let write_s = t.elapsed().as_secs_f64();
                let t = Instant::now();
                drop(prepared);
                let drop_s = t.elapsed().as_secs_f64();
                eprintln!(
                    "  n={n}: lower {:.1} ms, lower + optimize {:.1} ms, encode {:.1} ms, drop {:.1} ms",
                    lower_s * 1e3,
                    prepare_s * 1e3,
                    write_s * 1e3,
                    drop_s * 1e3
                );
            }
        }
        let (e, t, x_) = (median(eager), median(trace), median(export));
        println!(
            "| {n} | {:.1} ms | {:.1} ms | {:.1} ms | {:.2} us | {:.2} |",
            e * 1e3,
            t * 1e3,
            x_ * 1e3,
            x_ / n as f64 * 1e6,
            (t + x_) / (2.0 * e + 0.020)
        );
    }
    Ok(())
}
