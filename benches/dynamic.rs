//! The cost of dynamic shapes: tracing (and exporting) a zoo model with dynamic dimensions
//! against the same model traced static, beside its eager forward pass (the floor of a trace).
//! `benches/dynamic_ort.py` compares the exported models' latency in ONNX Runtime.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use tapir::{Dim, ExportOptions, Tensor, Tracer};
use tch::{Device, Kind};

/// A zoo model, its example input, and its dynamic axes with their names.
type Case = (&'static str, tch::Tensor, Vec<(usize, &'static str)>);

fn cases() -> Vec<Case> {
    vec![
        ("mlp", tch::Tensor::randn([8, 784], (Kind::Float, Device::Cpu)), vec![(0, "batch")]),
        ("resnet18", tch::Tensor::randn([2, 3, 64, 64], (Kind::Float, Device::Cpu)), vec![(0, "batch")]),
        ("encoder", tch::Tensor::randint(1000, [2, 32], (Kind::Int64, Device::Cpu)), vec![(0, "batch"), (1, "seq")]),
        ("lstm", tch::Tensor::randn([2, 16, 64], (Kind::Float, Device::Cpu)), vec![(0, "batch"), (1, "seq")]),
    ]
}

fn dynamic(c: &mut Criterion) {
    let _guard = tch::no_grad_guard();
    tch::set_num_threads(1);
    for (name, input, axes) in cases() {
        tch::manual_seed(0);
        let vs = tch::nn::VarStore::new(Device::Cpu);
        let Some(model) = tapir_zoo::build(name, &vs) else { continue };
        let f = |x: &[Tensor]| model.module.forward_t(&x[0], false);
        let static_tracer = Tracer::new().parameters(&vs);
        let mut dynamic_tracer = Tracer::new().parameters(&vs);
        for (axis, dim) in &axes {
            dynamic_tracer = dynamic_tracer.dynamic_dim("input", *axis, Dim::new(*dim));
        }
        let mut g = c.benchmark_group(format!("dynamic_{name}"));
        let x = Tensor::from(&input);
        g.bench_function("eager", |b| b.iter(|| black_box(model.module.forward_t(black_box(&x), false))));
        g.bench_function("trace_static", |b| b.iter(|| black_box(static_tracer.trace(f, &[&input]).is_ok())));
        g.bench_function("trace_dynamic", |b| b.iter(|| black_box(dynamic_tracer.trace(f, &[&input]).is_ok())));
        let opts = ExportOptions::default();
        if let (Ok(s), Ok(d)) = (static_tracer.trace(f, &[&input]), dynamic_tracer.trace(f, &[&input])) {
            g.bench_function("export_static", |b| b.iter(|| black_box(s.to_onnx_bytes(&opts).map(|v| v.len()))));
            g.bench_function("export_dynamic", |b| b.iter(|| black_box(d.to_onnx_bytes(&opts).map(|v| v.len()))));
        }
        g.finish();
    }
}

criterion_group!(benches, dynamic);
criterion_main!(benches);
