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
    let x = tch::Tensor::randn([8, 16], (Kind::Float, Device::Cpu));
    let xt = Tensor::from(&x);
    let mut g = c.benchmark_group("shape_chain_8x16");
    g.bench_function("tch", |b| b.iter(|| black_box(shape_chain_tch(black_box(&x)))));
    g.bench_function("tapir_no_trace", |b| b.iter(|| black_box(shape_chain_tapir(black_box(&xt)))));
    g.finish();
}

criterion_group!(benches, recording);
criterion_main!(benches);
