//! Porting tch models by changing imports: each model file under `tests/porting/` is written as
//! on `tch::nn` and included twice, once under tch's `use` lines and once under tapir's. Both
//! copies run on the same weights (the tapir copy's VarStore is copied from the tch copy's by
//! name) and must give identical outputs; the tapir copy is then traced, exported at every opset
//! and run in tract and ONNX Runtime (via `tests/check_models.py`).

#![allow(clippy::unwrap_used)]

mod on_tch {
    use tch::{nn, Kind, Tensor};
    include!("porting/gpt.rs");
    pub fn build(vs: &nn::VarStore) -> impl nn::ModuleT {
        gpt(vs.root(), 50, 16, 32, 4, 2)
    }
}

mod on_tapir {
    use tapir::Tensor;
    use tapir_nn as nn;
    use tch::Kind;
    include!("porting/gpt.rs");
    pub fn build(vs: &nn::VarStore) -> impl nn::ModuleT {
        gpt(vs.root(), 50, 16, 32, 4, 2)
    }
}

use tapir_conformance::{all_opsets, check, Tolerance};

#[test]
fn gpt_ports_by_changing_imports() {
    use tch::nn::ModuleT as _;
    tch::manual_seed(0);
    let tch_vs = tch::nn::VarStore::new(tch::Device::Cpu);
    let tch_model = on_tch::build(&tch_vs);
    let mut tapir_vs = tch::nn::VarStore::new(tch::Device::Cpu);
    let tapir_model = on_tapir::build(&tapir_vs);
    // Same parameter names on both sides, so the weights copy over by name.
    let mut names_tch: Vec<String> = tch_vs.variables().into_keys().collect();
    let mut names_tapir: Vec<String> = tapir_vs.variables().into_keys().collect();
    names_tch.sort();
    names_tapir.sort();
    assert_eq!(names_tch, names_tapir);
    tapir_vs.copy(&tch_vs).unwrap();

    let ids = tch::Tensor::randint(50, [2, 12], (tch::Kind::Int64, tch::Device::Cpu));
    let want = tch::no_grad(|| tch_model.forward_t(&ids, false));
    let got =
        tch::no_grad(|| tapir::ModuleT::forward_t(&tapir_model, &tapir::Tensor::from(&ids), false)).to_tch().unwrap();
    assert!(got.equal(&want), "the tapir copy differs from the tch copy: max {}", (&got - &want).abs().max());

    let traced = tapir::Tracer::new()
        .parameters(&tapir_vs)
        .trace(|x| tapir::ModuleT::forward_t(&tapir_model, &x[0], false), &[&ids])
        .unwrap();
    assert!(traced.unnamed_captures().is_empty(), "{:?}", traced.unnamed_captures());
    check("porting/gpt", &traced, &[&ids], all_opsets(), Some(Tolerance { atol: 1e-4, rtol: 1e-4 }));
}
