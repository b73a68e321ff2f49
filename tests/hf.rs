//! Hugging Face checkpoints as they come, against `transformers` itself: small GPT-2, BERT,
//! LLaMA and ViT configurations with random weights built by `tests/hf_reference.py` (no network),
//! their checkpoints in every form (`save_pretrained` safetensors, sharded for LLaMA;
//! `torch.save(state_dict())` with tied keys; the older hub layouts) loaded into
//! `tapir_zoo::hf` models with each model's `loader()`, and the eager, tract and ONNX Runtime
//! (`tests/check_models.py`) outputs compared with HF's forward.
//!
//! Tolerance: `max |got - want| <= 1e-5 * max |want|`, near what float32 reaches (eager agrees to
//! about 1e-6 of scale). The test weights have a spread that makes common mistakes visible (see
//! `hf_reference.py`); `mistakes_are_caught` proves three of them fail this tolerance.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use tapir::{Tensor, Tracer};
use tapir_conformance::hf_configs::{bert_config, gpt2_config, llama_config, vit_config};
use tapir_conformance::{save_for_python, Tolerance};
use tapir_nn::{Activation, Loader};
use tapir_zoo::hf::{Bert, BertConfig, Gpt2, Gpt2Config, Llama, LlamaConfig, Vit};
use tch::nn::VarStore;

/// Relative to the largest reference value.
const REL_TOL: f64 = 1e-5;

fn references() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("hf-references");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("hf_reference.py");
        let python = std::env::var("TAPIR_PYTHON").expect("TAPIR_PYTHON is not set: run ./dev setup");
        let out = std::process::Command::new(python).arg(&script).arg(&dir).output().unwrap();
        assert!(out.status.success(), "hf_reference.py failed:\n{}", String::from_utf8_lossy(&out.stderr));
        dir
    })
    .clone()
}

struct Io {
    inputs: Vec<tch::Tensor>,
    outputs: Vec<tch::Tensor>,
}

fn io(model: &str) -> Io {
    let mut all = tch::Tensor::read_safetensors(references().join(model).join("io.safetensors")).unwrap();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    let pick = |p: &str| all.iter().filter(|(k, _)| k.starts_with(p)).map(|(_, t)| t.shallow_clone()).collect();
    Io { inputs: pick("input."), outputs: pick("output.") }
}

/// `Ok(relative error)` within [`REL_TOL`], else the error.
fn compare(got: &tch::Tensor, want: &tch::Tensor) -> Result<f64, String> {
    if got.size() != want.size() {
        return Err(format!("shape {:?}, expected {:?}", got.size(), want.size()));
    }
    let scale = want.abs().max().double_value(&[]);
    let err = (got - want).abs().max().double_value(&[]) / scale;
    if err <= REL_TOL {
        Ok(err)
    } else {
        Err(format!("max error {err:.2e} of scale {scale:.3} (tolerance {REL_TOL:.0e})"))
    }
}

/// The checkpoint forms a model's reference directory holds.
fn forms(model: &str) -> Vec<PathBuf> {
    let d = references().join(model);
    ["pretrained", "state_dict.bin", "legacy.bin"].iter().map(|f| d.join(f)).filter(|p| p.exists()).collect()
}

/// Loads every form into a fresh model, compares eager outputs with HF's, then traces the model
/// loaded from `save_pretrained`'s files, exports it and compares tract's outputs (ONNX Runtime's
/// through `check_models.py`). Returns each form's load report.
fn check_model<M>(
    name: &str,
    build: impl Fn(&VarStore) -> M,
    loader: impl Fn() -> Loader,
    forward: impl Fn(&M, &Tensor) -> Vec<Tensor>,
) -> Vec<(String, tapir_nn::LoadReport)> {
    let io = io(name);
    let mut reports = vec![];
    for form in forms(name) {
        let mut vs = VarStore::new(tch::Device::Cpu);
        let model = build(&vs);
        let shown = form.file_name().unwrap().to_string_lossy().into_owned();
        let report = loader().load(&mut vs, &form).unwrap_or_else(|e| panic!("{name} {shown}: {e}"));
        // The same checkpoint bound to a placeholder model's shape-only trace, by the same
        // loader's rules, exports the same bytes as the loaded model's real-data trace.
        {
            let inputs: Vec<&tch::Tensor> = io.inputs.iter().collect();
            let f = |m: &M, x: &[Tensor]| forward(m, &x[0]);
            let real = Tracer::new().parameters(&vs).trace(|x| f(&model, x), &inputs).unwrap();
            let empty = VarStore::new(tch::Device::Cpu);
            let placeholders = tapir_nn::placeholder_parameters(|| build(&empty));
            let mut fast =
                Tracer::new().parameters(&empty).shape_only().trace(|x| f(&placeholders, x), &inputs).unwrap();
            let checkpoint = tapir_nn::Checkpoint::open(&form).unwrap();
            let bound = loader().bind(&mut fast, &empty, &checkpoint).unwrap_or_else(|e| panic!("{name} {shown}: {e}"));
            assert_eq!(bound.loaded, report.loaded, "{name} {shown}: bound and loaded keys");
            let options = tapir::ExportOptions::default();
            let (a, b) = (real.to_onnx_bytes(&options).unwrap(), fast.to_onnx_bytes(&options).unwrap());
            assert!(a == b, "{name} {shown}: the export bound to the checkpoint differs from the loaded model's");
        }
        let eager = forward(&model, &Tensor::from(&io.inputs[0]));
        for (k, (got, want)) in eager.iter().zip(&io.outputs).enumerate() {
            let got = got.to_tch().unwrap();
            compare(&got, want).unwrap_or_else(|e| panic!("{name} from {shown}: eager output {k}: {e}"));
        }
        if shown == "pretrained" {
            let inputs: Vec<&tch::Tensor> = io.inputs.iter().collect();
            let traced = Tracer::new().parameters(&vs).trace(|x| forward(&model, &x[0]), &inputs).unwrap();
            assert!(traced.unnamed_captures().is_empty(), "{name}: {:?}", traced.unnamed_captures());
            let bytes = traced.to_onnx_bytes(&tapir::ExportOptions::default()).unwrap();
            let tract = tapir::testing::run_tract(&bytes, &inputs).unwrap();
            for (k, (got, want)) in tract.iter().zip(&io.outputs).enumerate() {
                compare(got, want).unwrap_or_else(|e| panic!("{name}: tract output {k}: {e}"));
            }
            let scale = io.outputs.iter().map(|o| o.abs().max().double_value(&[])).fold(0.0, f64::max);
            let tol = Tolerance { atol: REL_TOL * scale, rtol: 0.0 };
            save_for_python(&format!("hf_{name}"), 20, &bytes, &inputs, &io.outputs, tol);
        }
        reports.push((shown, report));
    }
    reports
}

#[test]
fn gpt2_matches_transformers() {
    let reports =
        check_model("gpt2", |vs| Gpt2::new(&vs.root(), gpt2_config()), Gpt2::loader, |m, x| vec![m.forward(x)]);
    let by_form = |f: &str| &reports.iter().find(|(n, _)| n == f).unwrap().1;
    // save_pretrained drops the tied head; state_dict() holds it (same storage); the old hub
    // layout has no prefix and mask buffers.
    assert!(by_form("pretrained").tied.is_empty() && by_form("pretrained").renamed.is_empty());
    assert_eq!(by_form("state_dict.bin").tied, [("lm_head.weight".into(), "transformer.wte.weight".into())]);
    let legacy = by_form("legacy.bin");
    assert_eq!(legacy.skipped, ["h.0.attn.bias", "h.0.attn.masked_bias", "h.1.attn.bias", "h.1.attn.masked_bias"]);
    assert!(legacy.renamed.contains(&("wte.weight".into(), "transformer.wte.weight".into())));
}

#[test]
fn bert_matches_transformers() {
    let reports = check_model(
        "bert",
        |vs| Bert::new(&vs.root(), bert_config()),
        Bert::loader,
        |m, x| {
            let (h, p) = m.forward(x);
            vec![h, p]
        },
    );
    let legacy = &reports.iter().find(|(n, _)| n == "legacy.bin").unwrap().1;
    assert!(legacy.skipped.contains(&"cls.predictions.bias".to_owned()));
    assert!(legacy.skipped.contains(&"bert.embeddings.position_ids".to_owned()));
    assert!(legacy.renamed.contains(&("bert.embeddings.LayerNorm.gamma".into(), "embeddings.LayerNorm.weight".into())));
}

#[test]
fn llama_matches_transformers() {
    let reports = check_model(
        "llama",
        |vs| Llama::new(&vs.root(), llama_config()),
        || Llama::loader(&llama_config()),
        |m, x| vec![m.forward(x)],
    );
    let legacy = &reports.iter().find(|(n, _)| n == "legacy.bin").unwrap().1;
    assert_eq!(legacy.skipped.len(), 2, "{legacy}");
    // The sharded save really is sharded.
    assert!(references().join("llama/pretrained/model.safetensors.index.json").exists());
}

#[test]
fn vit_matches_transformers() {
    check_model(
        "vit",
        |vs| Vit::new(&vs.root(), vit_config()),
        Vit::loader,
        |m, x| {
            let (h, p) = m.forward(x);
            vec![h, p]
        },
    );
}

/// A model with one deliberate mistake, loaded from the correct checkpoint: its eager output
/// must fail the tolerance.
fn assert_caught<M>(
    what: &str,
    model: &str,
    build: impl Fn(&VarStore) -> M,
    loader: Loader,
    forward: impl Fn(&M, &Tensor) -> Tensor,
) {
    let io = io(model);
    let mut vs = VarStore::new(tch::Device::Cpu);
    let m = build(&vs);
    loader.load(&mut vs, references().join(model).join("pretrained")).unwrap();
    let got = forward(&m, &Tensor::from(&io.inputs[0])).to_tch().unwrap();
    match compare(&got, &io.outputs[0]) {
        Ok(err) => panic!("{what} was not caught: relative error {err:.2e}"),
        Err(e) => eprintln!("{what}: caught ({e})"),
    }
}

#[test]
fn mistakes_are_caught() {
    assert_caught(
        "BERT with LayerNorm eps 1e-5 instead of 1e-12",
        "bert",
        |vs| Bert::new(&vs.root(), BertConfig { layer_norm_eps: 1e-5, ..bert_config() }),
        Bert::loader(),
        |m, x| m.forward(x).0,
    );
    assert_caught(
        "GPT-2 with exact instead of tanh GELU",
        "gpt2",
        |vs| Gpt2::new(&vs.root(), Gpt2Config { activation: Activation::Gelu, ..gpt2_config() }),
        Gpt2::loader(),
        |m, x| m.forward(x),
    );
    assert_caught(
        "LLaMA with attention scaled by 1/sqrt(hidden) instead of 1/sqrt(head_dim)",
        "llama",
        |vs| Llama::new(&vs.root(), LlamaConfig { attention_scale: Some(1.0 / 32f64.sqrt()), ..llama_config() }),
        Llama::loader(&llama_config()),
        |m, x| m.forward(x),
    );
}

/// Loads `model`'s `save_pretrained` checkpoint with `build`/`loader`, traces `forward` with the
/// given dynamic axes of input 0, and checks the export at other sizes (replay, tract at three
/// opsets, ONNX Runtime through `check_models.py`).
fn check_dynamic_export<M>(
    model: &str,
    build: impl Fn(&VarStore) -> M,
    loader: Loader,
    forward: impl Fn(&M, &Tensor) -> Vec<Tensor>,
    dims: &[(usize, &str)],
    other_inputs: Vec<tch::Tensor>,
) {
    let io = io(model);
    let mut vs = VarStore::new(tch::Device::Cpu);
    let m = build(&vs);
    loader.load(&mut vs, references().join(model).join("pretrained")).unwrap();
    let tracer = dims
        .iter()
        .fold(Tracer::new().parameters(&vs), |t, (axis, name)| t.dynamic_dim("input", *axis, tapir::Dim::new(*name)));
    let f = |x: &[Tensor]| forward(&m, &x[0]);
    let traced = tracer.trace(f, &[&io.inputs[0]]).unwrap();
    let mut sets = vec![vec![io.inputs[0].shallow_clone()]];
    sets.extend(other_inputs.into_iter().map(|x| vec![x]));
    let scale = io.outputs.iter().map(|o| o.abs().max().double_value(&[])).fold(0.0, f64::max);
    let tol = Tolerance { atol: REL_TOL * scale, rtol: 0.0 };
    tapir_conformance::check_dynamic(&format!("hf_{model}_dynamic"), &traced, f, &sets, Some(tol));
}

#[test]
fn transformers_models_export_with_dynamic_batch_and_sequence() {
    let ids = |b: i64, t: i64| tch::Tensor::randint(100, [b, t], (tch::Kind::Int64, tch::Device::Cpu));
    let batch_seq = [(0, "batch"), (1, "seq")];
    check_dynamic_export(
        "gpt2",
        |vs| Gpt2::new(&vs.root(), gpt2_config()),
        Gpt2::loader(),
        |m, x| vec![m.forward(x)],
        &batch_seq,
        vec![ids(1, 3), ids(3, 12)],
    );
    check_dynamic_export(
        "bert",
        |vs| Bert::new(&vs.root(), bert_config()),
        Bert::loader(),
        |m, x| {
            let (h, p) = m.forward(x);
            vec![h, p]
        },
        &batch_seq,
        vec![ids(1, 2), ids(4, 9)],
    );
    check_dynamic_export(
        "llama",
        |vs| Llama::new(&vs.root(), llama_config()),
        Llama::loader(&llama_config()),
        |m, x| vec![m.forward(x)],
        &batch_seq,
        vec![ids(1, 5), ids(3, 16)],
    );
    let pixels = |b: i64| tch::Tensor::randn([b, 3, 32, 32], (tch::Kind::Float, tch::Device::Cpu));
    check_dynamic_export(
        "vit",
        |vs| Vit::new(&vs.root(), vit_config()),
        Vit::loader(),
        |m, x| {
            let (h, p) = m.forward(x);
            vec![h, p]
        },
        &[(0, "batch")],
        vec![pixels(1), pixels(3)],
    );
}
