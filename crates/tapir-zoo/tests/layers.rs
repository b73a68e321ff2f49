//! Single layers against PyTorch: weights and outputs from `tests/layer_reference.py` (run with
//! the project's Python), loaded by name into tapir-nn layers, run eagerly and exported (tract).

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use tapir::{Tensor, Tracer};
use tapir_nn::*;
use tch::nn::VarStore;

fn references() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("layer-references");
    let python = std::env::var("TAPIR_PYTHON").expect("TAPIR_PYTHON is not set: run ./dev setup");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/layer_reference.py");
    let out = std::process::Command::new(python).arg(script).arg(&dir).output().unwrap();
    assert!(out.status.success(), "layer_reference.py: {}", String::from_utf8_lossy(&out.stderr));
    dir
}

struct Case {
    inputs: Vec<tch::Tensor>,
    outputs: Vec<tch::Tensor>,
    atol: f64,
    rtol: f64,
}

fn case(dir: &Path, name: &str, vs: &mut VarStore) -> Case {
    let d = dir.join(name);
    load_safetensors(vs, d.join("weights.safetensors")).unwrap();
    let bytes = std::fs::read(d.join("io.safetensors")).unwrap();
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let meta = meta.metadata().clone().unwrap();
    let mut io = tch::Tensor::read_safetensors(d.join("io.safetensors")).unwrap();
    io.sort_by(|a, b| a.0.cmp(&b.0));
    let pick = |p: &str| io.iter().filter(|(k, _)| k.starts_with(p)).map(|(_, t)| t.shallow_clone()).collect();
    Case {
        inputs: pick("input."),
        outputs: pick("output."),
        atol: meta["atol"].parse().unwrap(),
        rtol: meta["rtol"].parse().unwrap(),
    }
}

/// Runs `f` eagerly and traced + exported in tract, and compares both with PyTorch.
fn check(name: &str, c: &Case, vs: &VarStore, f: impl Fn(&[Tensor]) -> Vec<Tensor>) {
    let inputs: Vec<&tch::Tensor> = c.inputs.iter().collect();
    let wrapped: Vec<Tensor> = c.inputs.iter().map(Tensor::from).collect();
    let eager: Vec<tch::Tensor> = f(&wrapped).iter().map(|t| t.to_tch().unwrap()).collect();
    let traced = Tracer::new().parameters(vs).trace(&f, &inputs).unwrap();
    let onnx = traced.to_onnx_bytes(&tapir::ExportOptions::default()).unwrap();
    let tract = tapir::testing::run_tract(&onnx, &inputs).unwrap();
    for (k, want) in c.outputs.iter().enumerate() {
        for (runtime, got) in [("eager", &eager[k]), ("tract", &tract[k])] {
            assert_eq!(got.size(), want.size(), "{name}: {runtime} output {k} shape");
            assert!(
                got.allclose(want, c.rtol, c.atol, false),
                "{name}: {runtime} output {k} differs from PyTorch: max error {}",
                (got - want).abs().max().double_value(&[])
            );
        }
    }
}

#[test]
fn layers_match_pytorch() {
    let dir = references();

    let mut vs = VarStore::new(tch::Device::Cpu);
    let m = Conv1d::new(vs.root(), 4, 6, 3, ConvConfig { stride: 2, padding: 1, ..Default::default() });
    let c = case(&dir, "conv1d", &mut vs);
    check("conv1d", &c, &vs, |x| vec![m.forward(&x[0])]);

    let mut vs = VarStore::new(tch::Device::Cpu);
    let m = ConvTranspose2d::new(
        vs.root(),
        4,
        6,
        3,
        ConvConfig { stride: 2, padding: 1, groups: 2, ..Default::default() },
        1,
    );
    let c = case(&dir, "conv_transpose2d", &mut vs);
    check("conv_transpose2d", &c, &vs, |x| vec![m.forward(&x[0])]);

    let mut vs = VarStore::new(tch::Device::Cpu);
    let m = GroupNorm::new(vs.root(), 3, 6, 1e-5);
    let c = case(&dir, "group_norm", &mut vs);
    check("group_norm", &c, &vs, |x| vec![m.forward(&x[0])]);

    let mut vs = VarStore::new(tch::Device::Cpu);
    let m = Gru::new(vs.root(), 5, 7, 2, true, true);
    let c = case(&dir, "gru_bidirectional_h0", &mut vs);
    check("gru", &c, &vs, |x| {
        let (y, h) = m.forward(&x[0], Some(&x[1]));
        vec![y, h]
    });

    let mut vs = VarStore::new(tch::Device::Cpu);
    let m = Lstm::new(vs.root(), 5, 7, 1, true, false);
    let c = case(&dir, "lstm_bidirectional_states", &mut vs);
    check("lstm", &c, &vs, |x| {
        let (y, (h, cn)) = m.forward(&x[0], Some((&x[1], &x[2])));
        vec![y, h, cn]
    });

    let mut vs = VarStore::new(tch::Device::Cpu);
    let m = MultiheadAttention::new(vs.root(), 16, 4);
    let c = case(&dir, "mha_masks", &mut vs);
    check("mha_masks", &c, &vs, |x| vec![m.attend(&x[0], &x[1], &x[1], Some(&x[2]), Some(&x[3]))]);

    let mut vs = VarStore::new(tch::Device::Cpu);
    let m = TransformerEncoderLayer::new(vs.root(), 16, 4, 32, Activation::Relu, true);
    let c = case(&dir, "encoder_layer_prenorm_relu", &mut vs);
    check("encoder_layer_prenorm_relu", &c, &vs, |x| vec![m.forward_t(&x[0], false)]);

    let mut vs = VarStore::new(tch::Device::Cpu);
    let m = tapir_nn::HfConv1D::new(vs.root(), 8, 12);
    let c = case(&dir, "hf_conv1d", &mut vs);
    check("hf_conv1d", &c, &vs, |x| vec![m.forward(&x[0])]);

    let mut vs = VarStore::new(tch::Device::Cpu);
    let m = tapir_nn::RotaryEmbedding::new(8, 10000.0);
    let c = case(&dir, "rotary", &mut vs);
    check("rotary", &c, &vs, |x| vec![m.apply(&x[0])]);

    let mut vs = VarStore::new(tch::Device::Cpu);
    let m = RMSNorm::new(vs.root(), &[8], None);
    let c = case(&dir, "rms_norm", &mut vs);
    check("rms_norm", &c, &vs, |x| vec![m.forward(&x[0])]);

    let mut vs = VarStore::new(tch::Device::Cpu);
    let m = PReLU::new(vs.root(), 3, 0.2);
    let c = case(&dir, "prelu", &mut vs);
    check("prelu", &c, &vs, |x| vec![m.forward(&x[0])]);

    let mut vs = VarStore::new(tch::Device::Cpu);
    let c = case(&dir, "upsample", &mut vs);
    let ups = [
        Upsample::scale(2.0, UpsampleMode::Nearest),
        Upsample::size([7, 9], UpsampleMode::Nearest),
        Upsample::scale(1.5, UpsampleMode::Bilinear),
        Upsample { align_corners: true, ..Upsample::size([6, 8], UpsampleMode::Bilinear) },
        Upsample::scale(2.0, UpsampleMode::Bicubic),
    ];
    check("upsample", &c, &vs, |x| ups.iter().map(|u| u.forward(&x[0])).collect());

    let mut vs = VarStore::new(tch::Device::Cpu);
    let c = case(&dir, "activations", &mut vs);
    let acts: Vec<Box<dyn Module>> = vec![
        Box::new(LeakyReLU { negative_slope: 0.2 }),
        Box::new(ELU { alpha: 0.5 }),
        Box::new(GELU { tanh: true }),
        Box::new(Elementwise::SiLU),
        Box::new(Elementwise::Hardswish),
        Box::new(Elementwise::Hardsigmoid),
        Box::new(Elementwise::ReLU6),
        Box::new(Elementwise::Hardtanh),
        Box::new(Elementwise::Softplus),
        Box::new(Elementwise::Mish),
        Box::new(Elementwise::SELU),
        Box::new(Elementwise::CELU),
        Box::new(Elementwise::LogSigmoid),
        Box::new(Elementwise::Hardshrink),
        Box::new(Elementwise::Softshrink),
        Box::new(Softmax { dim: 1, log: false }),
        Box::new(Softmax { dim: -1, log: true }),
    ];
    check("activations", &c, &vs, |x| acts.iter().map(|a| a.forward(&x[0])).collect());
}

#[test]
fn batch_norm_train_mode_updates_running_stats_like_pytorch() {
    let dir = references();
    let mut vs = VarStore::new(tch::Device::Cpu);
    let m = BatchNorm::new(vs.root(), 3);
    let c = case(&dir, "batchnorm_after_training", &mut vs);
    for x in &c.inputs {
        let _ = m.forward_t(&Tensor::from(x), true);
    }
    assert_eq!(m.num_batches_tracked.as_ref().unwrap().int64_value(&[]), 3);
    assert!(m.running_mean.allclose(&c.outputs[1], 1e-4, 1e-6, false), "running_mean");
    assert!(m.running_var.allclose(&c.outputs[2], 1e-4, 1e-6, false), "running_var");
    let y = m.forward_t(&Tensor::from(&c.inputs[0]), false).to_tch().unwrap();
    assert!(y.allclose(&c.outputs[0], 1e-4, 1e-5, false), "eval output");
}

#[test]
fn load_errors_name_every_key() {
    let dir = references();
    let mut vs = VarStore::new(tch::Device::Cpu);
    let _m = Conv1d::new(vs.root(), 4, 6, 5, ConvConfig::default()); // kernel 5, file has 3
    let e = load_safetensors(&mut vs, dir.join("conv1d/weights.safetensors")).unwrap_err().to_string();
    assert!(e.contains("key `weight`: shape [6, 4, 3] in the file, [6, 4, 5] in the model"), "{e}");
    let mut vs = VarStore::new(tch::Device::Cpu);
    let _m = Linear::new(vs.root() / "fc", 4, 6);
    let e = load_safetensors(&mut vs, dir.join("conv1d/weights.safetensors")).unwrap_err().to_string();
    assert!(e.contains("missing key `fc.weight`") && e.contains("unexpected key `weight`"), "{e}");
}
