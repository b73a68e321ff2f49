//! The recording path: a tapir op with no trace active must cost a tch op plus one thread-local
//! read; inside a trace, one node append more.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use tapir::Tensor;
use tch::{Device, Kind};

fn chain_tch(x: &tch::Tensor) -> tch::Tensor {
    ((x + 1.0).relu() * 2.0).tanh()
}

fn chain_tapir(x: &Tensor) -> Tensor {
    ((x + 1.0).relu() * 2.0).tanh()
}

fn shape_chain_tch(x: &tch::Tensor) -> tch::Tensor {
    x.transpose(0, 1).softmax(-1, tch::Kind::Float).sum_dim_intlist(&[0i64][..], true, None).squeeze_dim(0)
}

fn shape_chain_tapir(x: &Tensor) -> Tensor {
    x.transpose(0, 1).softmax(-1, None).sum_dim_intlist([0], true, None).squeeze_dim(0)
}

/// 100 ops on a small tensor: 25 rounds of add, relu, mul, tanh.
fn long_chain_tch(x: &tch::Tensor) -> tch::Tensor {
    (0..25).fold(x.shallow_clone(), |y, _| ((y + 0.5).relu() * 0.5).tanh())
}

fn long_chain_tapir(x: &Tensor) -> Tensor {
    (0..25).fold(x.shallow_clone(), |y, _| ((y + 0.5).relu() * 0.5).tanh())
}

/// Median over `rounds` of the time of `reps` calls of `f` and of `g`, run alternately (which
/// goes first alternates too), so machine drift hits both alike. Returns (median f, median g).
fn interleaved(rounds: usize, reps: usize, f: impl Fn(), g: impl Fn()) -> (f64, f64) {
    let time = |h: &dyn Fn()| {
        let t = std::time::Instant::now();
        for _ in 0..reps {
            h();
        }
        t.elapsed().as_secs_f64() / reps as f64
    };
    let (mut a, mut b) = (vec![], vec![]);
    for r in 0..rounds {
        if r % 2 == 0 {
            a.push(time(&f));
            b.push(time(&g));
        } else {
            b.push(time(&g));
            a.push(time(&f));
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    (median(&mut a), median(&mut b))
}

fn off_path_ratio(x: &tch::Tensor, xt: &Tensor) {
    let (tch_s, tapir_s) = interleaved(
        41,
        200,
        || drop(black_box(long_chain_tch(black_box(x)))),
        || drop(black_box(long_chain_tapir(black_box(xt)))),
    );
    println!(
        "off_path_100_ops_16 interleaved medians: tch {:.2} us, tapir {:.2} us, tapir / tch {:.4}",
        tch_s * 1e6,
        tapir_s * 1e6,
        tapir_s / tch_s
    );
}

fn recording(c: &mut Criterion) {
    let _guard = tch::no_grad_guard();
    for n in [16i64, 4096] {
        let x = tch::Tensor::randn([n], (Kind::Float, Device::Cpu));
        let xt = Tensor::from(&x);
        let mut g = c.benchmark_group(format!("elementwise_chain_{n}"));
        g.bench_function("tch", |b| b.iter(|| black_box(chain_tch(black_box(&x)))));
        g.bench_function("tapir_no_trace", |b| b.iter(|| black_box(chain_tapir(black_box(&xt)))));
        g.bench_function("tapir_traced_whole_trace", |b| {
            b.iter(|| black_box(tapir::trace(chain_tapir, black_box(&x)).map(|t| t.graph().node_count())))
        });
        g.finish();
    }
    // The off-path goal: a tapir op with no trace costs < 2% over the tch op on this chain.
    let x = tch::Tensor::randn([16], (Kind::Float, Device::Cpu));
    let xt = Tensor::from(&x);
    let mut g = c.benchmark_group("off_path_100_ops_16");
    g.bench_function("tch", |b| b.iter(|| black_box(long_chain_tch(black_box(&x)))));
    g.bench_function("tapir_no_trace", |b| b.iter(|| black_box(long_chain_tapir(black_box(&xt)))));
    g.finish();
    // Only under `cargo bench` (which passes `--bench`), not in `cargo test`'s single pass.
    if std::env::args().any(|a| a == "--bench") {
        off_path_ratio(&x, &xt);
    }

    let x = tch::Tensor::randn([8, 16], (Kind::Float, Device::Cpu));
    let xt = Tensor::from(&x);
    let mut g = c.benchmark_group("shape_chain_8x16");

    g.bench_function("tch", |b| b.iter(|| black_box(shape_chain_tch(black_box(&x)))));
    g.bench_function("tapir_no_trace", |b| b.iter(|| black_box(shape_chain_tapir(black_box(&xt)))));
    g.finish();
}

criterion_group!(benches, recording);
criterion_main!(benches);
