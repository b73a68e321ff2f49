//! Whole models, with random weights in a tch VarStore: an MLP, a small CNN, an attention block.
//! Each is traced, exported at every opset, checked in tract and saved for ONNX Runtime and the
//! ONNX checker.

#![allow(clippy::unwrap_used)]

use tapir::Tracer;
use tapir_cli::examples::{causal_mask, mlp, AttentionBlock, SmallCnn};
use tapir_conformance::{all_opsets, check, Tolerance};
use tch::nn::VarStore;
use tch::{Device, Kind};

#[test]
fn mlp_exports() {
    tch::manual_seed(1);
    let vs = VarStore::new(Device::Cpu);
    let model = mlp(&vs);
    let x = tch::Tensor::randn([8, 32], (Kind::Float, Device::Cpu));
    let traced = Tracer::new().parameters(&vs).trace(|x| model(&x[0]), &[&x]).unwrap();
    assert!(traced.unnamed_captures().is_empty(), "{:?}", traced.unnamed_captures());
    check("models/mlp", &traced, &[&x], all_opsets(), None);
}

#[test]
fn small_cnn_exports() {
    tch::manual_seed(2);
    let vs = VarStore::new(Device::Cpu);
    let cnn = SmallCnn::new(vs.root(), 10);
    let x = tch::Tensor::randn([2, 3, 16, 16], (Kind::Float, Device::Cpu));
    let traced = Tracer::new()
        .parameters(&vs)
        .input_names(["image"])
        .output_names(["logits"])
        .trace(|x| cnn.forward(&x[0]), &[&x])
        .unwrap();
    assert!(traced.unnamed_captures().is_empty());
    let bytes = traced.to_onnx_bytes(&tapir::ExportOptions::default()).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.contains("block1.conv.weight") && text.contains("block2.bn.running_var"),
        "initializers carry VarStore paths"
    );
    check("models/small_cnn", &traced, &[&x], all_opsets(), Some(Tolerance { atol: 1e-4, rtol: 1e-4 }));
}

#[test]
fn attention_block_exports() {
    tch::manual_seed(3);
    let vs = VarStore::new(Device::Cpu);
    let block = AttentionBlock::new(vs.root() / "block", 32, 4);
    let x = tch::Tensor::randn([2, 6, 32], (Kind::Float, Device::Cpu));
    // Causal mask, [1, 1, T, T], 1 = attend.
    let mask = causal_mask(6);
    let traced = Tracer::new()
        .parameters(&vs)
        .input_names(["x", "mask"])
        .trace(|i| block.forward(&i[0], &i[1]), &[&x, &mask])
        .unwrap();
    check("models/attention", &traced, &[&x, &mask], all_opsets(), Some(Tolerance { atol: 1e-4, rtol: 1e-4 }));
}
