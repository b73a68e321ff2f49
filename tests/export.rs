//! Smoke: trace an MLP and check it.
use tapir::{trace, Tensor};

#[test]
fn mlp_smoke() {
    tch::manual_seed(0);
    let w1 = tch::Tensor::randn([16, 8], (tch::Kind::Float, tch::Device::Cpu));
    let b1 = tch::Tensor::randn([16], (tch::Kind::Float, tch::Device::Cpu));
    let x = tch::Tensor::randn([4, 8], (tch::Kind::Float, tch::Device::Cpu));
    let (w1, b1) = (Tensor::from(w1), Tensor::from(b1));
    let traced = trace(|x| (x.linear(&w1, Some(&b1)).relu() * 2.0 + 1.0).softmax(-1), &x).unwrap();
    println!("{traced:?}");
    tapir_conformance::check("smoke_mlp", &traced, &[&x], tapir_conformance::all_opsets(), None);
}
