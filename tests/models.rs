//! Whole models, with random weights in a tch VarStore: an MLP, a small CNN, an attention block.
//! Each is traced, exported at every opset, checked in tract and saved for ONNX Runtime and the
//! ONNX checker.

#![allow(clippy::unwrap_used)]

use tapir::Tracer;
use tapir_conformance::{all_opsets, check, Tolerance};
use tapir_zoo::examples::{causal_mask, mlp, AttentionBlock, SmallCnn};
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
    let as_lowered = tapir::ExportOptions { optimize: tapir::Optimizations::none(), ..Default::default() };
    let bytes = traced.to_onnx_bytes(&as_lowered).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.contains("block1.conv.weight") && text.contains("block2.bn.running_var"),
        "initializers carry VarStore paths"
    );
    // Optimized (the default), each BatchNormalization is folded into its Conv, whose new
    // weight and bias are named after what they replace.
    let bytes = traced.to_onnx_bytes(&tapir::ExportOptions::default()).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains("BatchNormalization") && !text.contains("running_var"), "batch norms folded");
    assert!(text.contains("block1.conv.weight.bn_folded") && text.contains("block1.bn.bias.bn_folded"));
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

/// Each graph optimization, on and off, on zoo models: the optimized model gives the same outputs
/// in tract (and, saved for `tests/check_models.py`, in ONNX Runtime) with fewer nodes.
#[test]
fn optimizations_keep_outputs_and_shrink_graphs() {
    use prost::Message;
    use tapir::Optimizations;
    let nodes = |bytes: &[u8]| {
        let m = tapir::onnx::proto::ModelProto::decode(bytes).unwrap();
        let g = m.graph.unwrap();
        let bn = g.node.iter().filter(|n| n.op_type.as_deref() == Some("BatchNormalization")).count();
        (g.node.len(), bn, g.initializer.len())
    };
    let cases: [(&str, tch::Tensor); 3] = [
        ("resnet18", tch::Tensor::randn([2, 3, 64, 64], (Kind::Float, Device::Cpu))),
        ("encoder", tch::Tensor::randint(1000, [2, 16], (Kind::Int64, Device::Cpu))),
        ("lstm", tch::Tensor::randn([2, 9, 64], (Kind::Float, Device::Cpu))),
    ];
    for (name, x) in cases {
        tch::manual_seed(5);
        let vs = VarStore::new(Device::Cpu);
        let model = tapir_zoo::build(name, &vs).unwrap();
        let traced = Tracer::new().parameters(&vs).trace(|x| model.module.forward_t(&x[0], false), &[&x]).unwrap();
        let mut counts = vec![];
        for (label, optimize) in [
            ("none", Optimizations::none()),
            ("constants", Optimizations { fold_constants: true, ..Optimizations::none() }),
            ("batch_norm", Optimizations { fold_batch_norm: true, ..Optimizations::none() }),
            ("dedup", Optimizations { dedup_constants: true, ..Optimizations::none() }),
            ("cse", Optimizations { eliminate_common_subexpressions: true, ..Optimizations::none() }),
            ("transposes", Optimizations { merge_transposes: true, ..Optimizations::none() }),
            ("all", Optimizations::default()),
        ] {
            let options = tapir::ExportOptions { optimize, ..Default::default() };
            let bytes = traced.to_onnx_bytes(&options).unwrap();
            let got = tapir::testing::run_tract(&bytes, &[&x]).unwrap();
            let eager = &traced.eager_outputs()[0];
            let scale = eager.abs().max().double_value(&[]).max(1.0);
            let err = (&got[0] - eager).abs().max().double_value(&[]);
            assert!(err <= 1e-4 * scale, "{name} with {label}: max error {err} (scale {scale})");
            tapir_conformance::save_for_python(
                &format!("optimize/{name}_{label}"),
                options.opset,
                &bytes,
                &[&x],
                traced.eager_outputs(),
                Tolerance { atol: 1e-4 * scale, rtol: 1e-4 },
            );
            counts.push(nodes(&bytes));
        }
        let (none, all) = (counts[0], counts[6]);
        assert!(all.0 < none.0, "{name}: {} nodes optimized, {} as lowered", all.0, none.0);
        assert_eq!(all.1, 0, "{name}: a BatchNormalization was left");
        assert!(all.2 <= none.2, "{name}: {} initializers optimized, {} as lowered", all.2, none.2);
        println!(
            "{name}: {} nodes / {} initializers as lowered, {} / {} optimized ({counts:?})",
            none.0, none.2, all.0, all.2
        );
    }
}

/// Common-subexpression elimination on a model with dynamic batch and sequence length: the size
/// computations each layer repeats are computed once, no two nodes compute the same thing, and
/// the outputs match eager at other sizes in tract and ONNX Runtime.
#[test]
fn common_subexpressions_are_computed_once() {
    use prost::Message;
    use tapir::{Dim, Optimizations};
    tch::manual_seed(5);
    let vs = VarStore::new(Device::Cpu);
    let model = tapir_zoo::build("encoder", &vs).unwrap();
    let x = tch::Tensor::randint(1000, [2, 16], (Kind::Int64, Device::Cpu));
    let tracer = Tracer::new().parameters(&vs).dynamic_dim("input", 0, Dim::new("batch")).dynamic_dim(
        "input",
        1,
        Dim::new("seq"),
    );
    let f = |x: &[tapir::Tensor]| model.module.forward_t(&x[0], false);
    let traced = tracer.trace(f, &[&x]).unwrap();
    let without = Optimizations { eliminate_common_subexpressions: false, ..Optimizations::default() };
    let graph = |optimize: Optimizations| {
        let bytes = traced.to_onnx_bytes(&tapir::ExportOptions { optimize, ..Default::default() }).unwrap();
        (tapir::onnx::proto::ModelProto::decode(bytes.as_slice()).unwrap().graph.unwrap(), bytes)
    };
    let ((before, _), (after, bytes)) = (graph(without), graph(Optimizations::default()));
    assert!(after.node.len() < before.node.len(), "{} nodes, {} without", after.node.len(), before.node.len());
    let mut keys = std::collections::HashSet::new();
    for n in &after.node {
        let attrs: Vec<Vec<u8>> = n.attribute.iter().map(|a| a.encode_to_vec()).collect();
        assert!(keys.insert((n.op_type().to_owned(), n.input.clone(), attrs)), "{} computed twice", n.name());
    }
    for (batch, seq) in [(2, 16), (1, 5), (3, 23)] {
        let x = tch::Tensor::randint(1000, [batch, seq], (Kind::Int64, Device::Cpu));
        let eager = f(&[tapir::Tensor::from(&x)]).to_tch().unwrap();
        let scale = eager.abs().max().double_value(&[]).max(1.0);
        for got in
            [tapir::testing::run_tract(&bytes, &[&x]).unwrap(), tapir::testing::run_onnxruntime(&bytes, &[&x]).unwrap()]
        {
            let err = (&got[0] - &eager).abs().max().double_value(&[]);
            assert!(err <= 1e-4 * scale, "batch {batch}, seq {seq}: error {err}");
        }
    }
    println!("encoder, dynamic batch and seq: {} nodes without CSE, {} with", before.node.len(), after.node.len());
}
