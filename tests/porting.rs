//! Porting tch models by changing imports: each model file under `tests/porting/` is written as
//! on `tch::nn` and included twice, once under tch's `use` lines and once under tapir's; nothing
//! else differs. Both copies run on the same weights (the tch copy's `VarStore::save` checkpoint,
//! loaded into the tapir copy with `VarStore::load`, so the names must match) and must give
//! identical outputs, in eval and in train mode; the tapir copy is then traced in eval mode,
//! exported at every opset and run in tract and ONNX Runtime (via `tests/check_models.py`).

#![allow(clippy::unwrap_used)]

mod gpt_on_tch {
    use tch::{nn, Kind, Tensor};
    include!("porting/gpt.rs");
    pub fn build(vs: &nn::VarStore) -> impl nn::ModuleT {
        gpt(vs.root(), 50, 16, 32, 4, 2)
    }
}

mod gpt_on_tapir {
    use tapir::Tensor;
    use tapir_nn as nn;
    use tch::Kind;
    include!("porting/gpt.rs");
    pub fn build(vs: &nn::VarStore) -> impl nn::ModuleT {
        gpt(vs.root(), 50, 16, 32, 4, 2)
    }
}

mod resnet_on_tch {
    use tch::nn;
    include!("porting/resnet.rs");
    pub fn build(vs: &nn::VarStore) -> impl nn::ModuleT {
        resnet(vs.root(), 10)
    }
}

mod resnet_on_tapir {
    use tapir_nn as nn;
    include!("porting/resnet.rs");
    pub fn build(vs: &nn::VarStore) -> impl nn::ModuleT {
        resnet(vs.root(), 10)
    }
}

mod mobilenet_on_tch {
    use tch::nn;
    include!("porting/mobilenet.rs");
    pub fn build(vs: &nn::VarStore) -> impl nn::ModuleT {
        mobilenet(vs.root(), 10)
    }
}

mod mobilenet_on_tapir {
    use tapir_nn as nn;
    include!("porting/mobilenet.rs");
    pub fn build(vs: &nn::VarStore) -> impl nn::ModuleT {
        mobilenet(vs.root(), 10)
    }
}

mod unet_on_tch {
    use tch::{nn, Kind, Tensor};
    include!("porting/unet.rs");
    pub fn build(vs: &nn::VarStore) -> impl nn::ModuleT {
        unet(vs.root())
    }
}

mod unet_on_tapir {
    use tapir::Tensor;
    use tapir_nn as nn;
    use tch::Kind;
    include!("porting/unet.rs");
    pub fn build(vs: &nn::VarStore) -> impl nn::ModuleT {
        unet(vs.root())
    }
}

mod seq2seq_on_tch {
    use tch::nn::{Module, RNN};
    use tch::{nn, IndexOp, Kind, Tensor};
    include!("porting/seq2seq.rs");
    pub fn build(vs: &nn::VarStore) -> impl Fn(&Tensor) -> Tensor {
        let t = Translator::new(vs.root(), 20, 15, 16, 5);
        move |x| t.translate(x)
    }
}

mod seq2seq_on_tapir {
    use tapir::Tensor;
    use tapir_nn as nn;
    use tapir_nn::{Module, RNN};
    use tch::Kind;
    include!("porting/seq2seq.rs");
    pub fn build(vs: &nn::VarStore) -> impl Fn(&Tensor) -> Tensor {
        let t = Translator::new(vs.root(), 20, 15, 16, 5);
        move |x| t.translate(x)
    }
}

use tapir_conformance::{all_opsets, check, Tolerance};
use tch::nn::{ModuleT as _, VarStore};

fn names(vs: &VarStore) -> Vec<String> {
    let mut n: Vec<String> = vs.variables().into_keys().collect();
    n.sort();
    n
}

/// Compares the two copies on `input` (eval, then one train-mode call where `train` is set),
/// then traces and exports the tapir copy.
fn port(
    name: &str,
    (tch_model, tch_vs): (&impl tch::nn::ModuleT, &VarStore),
    (tapir_model, tapir_vs): (&impl tapir::ModuleT, &mut VarStore),
    input: &tch::Tensor,
    train: bool,
) {
    assert_eq!(names(tch_vs), names(tapir_vs), "{name}: parameter names differ");
    // A checkpoint saved by the tch copy loads into the tapir copy.
    let ckpt = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("porting-{name}.ot"));
    tch_vs.save(&ckpt).unwrap();
    tapir_vs.load(&ckpt).unwrap();
    let run_tapir =
        |train| tapir::ModuleT::forward_t(tapir_model, &tapir::Tensor::from(input), train).to_tch().unwrap();
    let (want, got) = tch::no_grad(|| (tch_model.forward_t(input, false), run_tapir(false)));
    assert!(got.equal(&want), "{name}: eval output differs: max {}", (&got - &want).abs().max());
    if train {
        let (want, got) = tch::no_grad(|| (tch_model.forward_t(input, true), run_tapir(true)));
        assert!(got.equal(&want), "{name}: train output differs: max {}", (&got - &want).abs().max());
        // Training updated the same state on both sides.
        for (k, v) in tch_vs.variables() {
            assert!(v.equal(&tapir_vs.variables()[&k]), "{name}: `{k}` after a train step differs");
        }
    }
    let traced = tapir::Tracer::new()
        .parameters(tapir_vs)
        .trace(|x| tapir::ModuleT::forward_t(tapir_model, &x[0], false), &[input])
        .unwrap();
    assert!(traced.unnamed_captures().is_empty(), "{name}: {:?}", traced.unnamed_captures());
    check(&format!("porting/{name}"), &traced, &[input], all_opsets(), Some(Tolerance { atol: 1e-4, rtol: 1e-4 }));
}

#[test]
fn gpt_ports_by_changing_imports() {
    tch::manual_seed(0);
    let tch_vs = VarStore::new(tch::Device::Cpu);
    let tch_model = gpt_on_tch::build(&tch_vs);
    let mut tapir_vs = VarStore::new(tch::Device::Cpu);
    let tapir_model = gpt_on_tapir::build(&tapir_vs);
    let ids = tch::Tensor::randint(50, [2, 12], (tch::Kind::Int64, tch::Device::Cpu));
    port("gpt", (&tch_model, &tch_vs), (&tapir_model, &mut tapir_vs), &ids, false);
}

#[test]
fn resnet_ports_by_changing_imports() {
    tch::manual_seed(1);
    let tch_vs = VarStore::new(tch::Device::Cpu);
    let tch_model = resnet_on_tch::build(&tch_vs);
    let mut tapir_vs = VarStore::new(tch::Device::Cpu);
    let tapir_model = resnet_on_tapir::build(&tapir_vs);
    // A few training-mode passes give the batch norms running statistics of their own.
    for _ in 0..3 {
        let x = tch::Tensor::randn([4, 3, 16, 16], (tch::Kind::Float, tch::Device::Cpu));
        let _ = tch::no_grad(|| tch_model.forward_t(&x, true));
    }
    let x = tch::Tensor::randn([2, 3, 16, 16], (tch::Kind::Float, tch::Device::Cpu));
    port("resnet", (&tch_model, &tch_vs), (&tapir_model, &mut tapir_vs), &x, true);
}

#[test]
fn seq2seq_ports_by_changing_imports() {
    tch::manual_seed(2);
    let tch_vs = VarStore::new(tch::Device::Cpu);
    let tch_model = seq2seq_on_tch::build(&tch_vs);
    let mut tapir_vs = VarStore::new(tch::Device::Cpu);
    let tapir_model = seq2seq_on_tapir::build(&tapir_vs);
    let tch_model = tch::nn::func(move |x| tch_model(x));
    let tapir_model = tapir::func(move |x| tapir_model(x));
    let ids = tch::Tensor::randint(20, [6], (tch::Kind::Int64, tch::Device::Cpu));
    port("seq2seq", (&tch_model, &tch_vs), (&tapir_model, &mut tapir_vs), &ids, false);
}

#[test]
fn mobilenet_ports_by_changing_imports() {
    tch::manual_seed(3);
    let tch_vs = VarStore::new(tch::Device::Cpu);
    let tch_model = mobilenet_on_tch::build(&tch_vs);
    let mut tapir_vs = VarStore::new(tch::Device::Cpu);
    let tapir_model = mobilenet_on_tapir::build(&tapir_vs);
    for _ in 0..2 {
        let x = tch::Tensor::randn([4, 3, 32, 32], (tch::Kind::Float, tch::Device::Cpu));
        let _ = tch::no_grad(|| tch_model.forward_t(&x, true));
    }
    let x = tch::Tensor::randn([2, 3, 32, 32], (tch::Kind::Float, tch::Device::Cpu));
    // No train-mode comparison: dropout draws random masks.
    port("mobilenet", (&tch_model, &tch_vs), (&tapir_model, &mut tapir_vs), &x, false);
}

#[test]
fn unet_ports_by_changing_imports() {
    tch::manual_seed(4);
    let tch_vs = VarStore::new(tch::Device::Cpu);
    let tch_model = unet_on_tch::build(&tch_vs);
    let mut tapir_vs = VarStore::new(tch::Device::Cpu);
    let tapir_model = unet_on_tapir::build(&tapir_vs);
    let x = tch::Tensor::randn([2, 3, 8, 8], (tch::Kind::Float, tch::Device::Cpu));
    port("unet", (&tch_model, &tch_vs), (&tapir_model, &mut tapir_vs), &x, true);
}
