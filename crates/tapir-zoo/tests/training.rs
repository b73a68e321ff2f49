//! Training with tch's Adam over the VarStore, exporting mid-training: the loss decreases,
//! exporting changes no parameter, gradient or batch-norm statistic, and the exported model
//! matches the eager model in eval mode.

#![allow(clippy::unwrap_used)]

use tapir::{ExportOptions, Tensor, Tracer};
use tapir_nn::ModuleT;
use tapir_zoo::training::{synthetic_batch, train_step, TinyCnn};
use tch::nn::OptimizerConfig;

/// Copies of every variable and every gradient, by name.
fn snapshot(vs: &tch::nn::VarStore) -> Vec<(String, tch::Tensor, Option<tch::Tensor>)> {
    let mut v: Vec<_> = vs
        .variables()
        .into_iter()
        .map(|(k, t)| {
            let grad = t.grad();
            let grad = grad.defined().then(|| grad.copy());
            (k, t.detach().copy(), grad)
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn assert_same(a: &[(String, tch::Tensor, Option<tch::Tensor>)], b: &[(String, tch::Tensor, Option<tch::Tensor>)]) {
    assert_eq!(a.len(), b.len());
    for ((ka, ta, ga), (kb, tb, gb)) in a.iter().zip(b) {
        assert_eq!(ka, kb);
        assert!(ta.equal(tb), "{ka} changed");
        match (ga, gb) {
            (Some(x), Some(y)) => assert!(x.equal(y), "gradient of {ka} changed"),
            (None, None) => {}
            _ => panic!("gradient of {ka} appeared or vanished"),
        }
    }
}

#[test]
fn export_mid_training_disturbs_nothing() {
    tch::manual_seed(0);
    let vs = tch::nn::VarStore::new(tch::Device::Cpu);
    let model = TinyCnn::new(&vs.root());
    let mut opt = tch::nn::Adam::default().build(&vs, 1e-2).unwrap();
    let (example, _) = synthetic_batch(4);
    let mut losses = vec![];
    for step in 1..=300 {
        losses.push(train_step(&model, &mut opt, 64));
        if step == 150 || step == 300 {
            let before = snapshot(&vs);
            let traced = Tracer::new().parameters(&vs).trace(|x| model.forward_t(&x[0], false), &[&example]).unwrap();
            let bytes = traced.to_onnx_bytes(&ExportOptions::default()).unwrap();
            // The exported model matches the eager model in eval mode, on another input too.
            let (other, _) = synthetic_batch(4);
            let eager = tch::no_grad(|| model.forward_t(&Tensor::from(&other), false).to_tch().unwrap());
            let got = tapir::testing::run_tract(&bytes, &[&other]).unwrap();
            assert!(got[0].allclose(&eager, 1e-4, 1e-5, false), "step {step}: exported model differs from eager eval");
            assert_same(&before, &snapshot(&vs));
            assert!(traced.unnamed_captures().is_empty());
        }
    }
    let first: f64 = losses[..20].iter().sum::<f64>() / 20.0;
    let last: f64 = losses[losses.len() - 20..].iter().sum::<f64>() / 20.0;
    assert!(last < 0.6 * first, "loss did not decrease: {first:.3} -> {last:.3}");
}
