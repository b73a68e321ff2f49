//! MultiheadAttention exports its packed projection as three initializers, without slicing.

#![allow(clippy::unwrap_used)]

use tapir::NodeKind;
use tapir_nn::{Module, MultiheadAttention};

#[test]
fn packed_projection_becomes_three_named_initializers() {
    let vs = tch::nn::VarStore::new(tch::Device::Cpu);
    let mha = MultiheadAttention::new(vs.root() / "encoder" / "attn", 8, 2);
    let x = tch::Tensor::randn([2, 3, 8], (tch::Kind::Float, tch::Device::Cpu));
    let traced = tapir::Tracer::new().parameters(&vs).trace(|x| mha.forward(&x[0]), &[&x]).unwrap();
    assert!(traced.unnamed_captures().is_empty(), "{:?}", traced.unnamed_captures());
    let hist = traced.graph().op_histogram();
    assert_eq!(hist.get("slice"), None, "{hist:?}");
    let mut names: Vec<String> = traced
        .graph()
        .constants()
        .filter_map(|(_, n)| match &n.kind {
            NodeKind::Constant { name, .. } => name.clone(),
            _ => None,
        })
        .collect();
    names.sort();
    let p = "encoder.attn";
    let want: Vec<String> =
        ["in_proj_bias.k", "in_proj_bias.q", "in_proj_bias.v", "in_proj_weight.k", "in_proj_weight.q"]
            .iter()
            .chain(&["in_proj_weight.v", "out_proj.bias", "out_proj.weight"])
            .map(|n| format!("{p}.{n}"))
            .collect();
    assert_eq!(names, want);
    // The same values as eager, after export (tract).
    let bytes = traced.to_onnx_bytes(&tapir::ExportOptions::default()).unwrap();
    let got = tapir::testing::run_tract(&bytes, &[&x]).unwrap();
    assert!(got[0].allclose(&traced.eager_outputs()[0], 1e-5, 1e-5, false));
}

#[test]
fn one_name_for_two_constants_fails_the_trace() {
    let (a, b) = (
        tch::Tensor::ones([2], (tch::Kind::Float, tch::Device::Cpu)),
        tch::Tensor::zeros([2], (tch::Kind::Float, tch::Device::Cpu)),
    );
    let x = tch::Tensor::ones([2], (tch::Kind::Float, tch::Device::Cpu));
    let err = tapir::trace(|x| x + tapir::named_constant(&a, "w") + tapir::named_constant(&b, "w"), &x)
        .unwrap_err()
        .to_string();
    assert!(err.contains("`w`") && err.contains("names two different tensors"), "{err}");
    assert!(err.contains("tests/attention.rs:"), "the error names the caller's line: {err}");
}
