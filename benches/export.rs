//! Export cost: lowering plus writing to memory, for the example models.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use tapir::{ExportOptions, Tracer};
use tapir_zoo::examples::{causal_mask, mlp, AttentionBlock};
use tch::nn::VarStore;
use tch::{Device, Kind};

fn export(c: &mut Criterion) {
    let _guard = tch::no_grad_guard();
    let opts = ExportOptions::default();

    let vs = VarStore::new(Device::Cpu);
    let model = mlp(&vs);
    let x = tch::Tensor::randn([8, 32], (Kind::Float, Device::Cpu));
    let traced = Tracer::new().parameters(&vs).trace(|x| model(&x[0]), &[&x]).expect("trace");
    c.bench_function("mlp/trace", |b| {
        b.iter(|| Tracer::new().trace(|x| model(&x[0]), &[&x]).map(|t| t.graph().node_count()))
    });
    c.bench_function("mlp/export_bytes", |b| b.iter(|| black_box(traced.to_onnx_bytes(&opts).map(|v| v.len()))));

    let vs = VarStore::new(Device::Cpu);
    let block = AttentionBlock::new(vs.root() / "block", 256, 8);
    let (x, mask) = (tch::Tensor::randn([2, 64, 256], (Kind::Float, Device::Cpu)), causal_mask(64));
    let traced = Tracer::new().parameters(&vs).trace(|i| block.forward(&i[0], &i[1]), &[&x, &mask]).expect("trace");
    c.bench_function("attention256/export_bytes", |b| {
        b.iter(|| black_box(traced.to_onnx_bytes(&opts).map(|v| v.len())))
    });
}

/// Per-node export cost: a chain of `n` elementwise ops (lowering, type checking, encoding).
fn long_chain(c: &mut Criterion) {
    let _guard = tch::no_grad_guard();
    let opts = ExportOptions::default();
    let x = tch::Tensor::randn([4, 4], (Kind::Float, Device::Cpu));
    for n in [3_000, 12_000] {
        let traced = Tracer::new()
            .trace(
                |x| {
                    let mut h = x[0].shallow_clone();
                    for i in 0..n {
                        h = if i % 2 == 0 { h.tanh() } else { &h * 0.5 };
                    }
                    h
                },
                &[&x],
            )
            .expect("trace");
        c.bench_function(&format!("chain{n}/export_bytes"), |b| {
            b.iter(|| black_box(traced.to_onnx_bytes(&opts).map(|v| v.len())))
        });
    }
}

criterion_group!(benches, export, long_chain);
criterion_main!(benches);
