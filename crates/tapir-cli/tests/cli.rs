//! The `tapir` binary on bad input: plain one-line messages, documented exit codes, and no file
//! replaced by an export that failed.

#![allow(clippy::unwrap_used)]

use std::process::Command;

fn tapir(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tapir")).args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// One line, a sentence, no Rust debug structures.
fn assert_plain(stderr: &str) {
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    for debug in ["Os {", "IoError", "panicked", "Kind(", "{ code"] {
        assert!(!stderr.contains(debug), "{stderr}");
    }
}

#[test]
fn an_input_too_large_to_allocate_is_an_error_not_a_panic() {
    let out = temp("huge.onnx");
    let (code, stderr) = tapir(&["export", "resnet18", "--batch", "1000000", "--out", out.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    assert_plain(&stderr);
    assert!(stderr.contains("batch size 1000000"), "{stderr}");
    assert!(!out.exists());
}

#[test]
fn a_missing_weights_file_is_named_once() {
    let out = temp("m.onnx");
    let (code, stderr) =
        tapir(&["export", "mlp", "--weights", "/nonexistent/w.safetensors", "--out", out.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    assert_plain(&stderr);
    assert_eq!(stderr.matches("/nonexistent/w.safetensors").count(), 1, "{stderr}");
    assert!(stderr.contains("No such file"), "{stderr}");
}

#[test]
fn a_flag_is_not_taken_as_a_value() {
    let (code, stderr) = tapir(&["export", "mlp", "--out", "--opset", "20"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("a value is required for '--out"), "{stderr}");
    assert_plain(&stderr);
}

#[test]
fn a_model_that_fails_its_check_is_not_written() {
    let traced = tapir::trace(|x| x.relu(), &tch::Tensor::randn([2, 3], (tch::Kind::Float, tch::Device::Cpu))).unwrap();
    let path = temp("checked.onnx");
    std::fs::write(&path, b"the previous model").unwrap();
    let options = tapir::ExportOptions::default();
    let err = tapir_cli::save_checked("relu", &traced, &path, &options, |_| Err("MISMATCH".into())).unwrap_err();
    assert!(err.contains("MISMATCH") && err.contains("left as it was"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), b"the previous model");
    let (size, verdict) = tapir_cli::save_checked("relu", &traced, &path, &options, |_| Ok("ok".into())).unwrap();
    assert_eq!((size, verdict.as_str()), (std::fs::metadata(&path).unwrap().len(), "ok"));
}

#[test]
fn graph_draws_a_picture_or_writes_dot() {
    let svg = temp("mlp.svg");
    let (code, stderr) = tapir(&["graph", "mlp", "--out", svg.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.contains("<svg") && text.contains("linear"), "not an SVG of the model");
    let dot = temp("mlp.dot");
    let (code, stderr) = tapir(&["graph", "mlp", "--out", dot.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let text = std::fs::read_to_string(&dot).unwrap();
    assert!(text.starts_with("digraph tapir {") && text.contains("label=\"net.0\""), "{text}");
    let (code, stderr) = tapir(&["graph", "mlp"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--out"), "{stderr}");
    assert_plain(&stderr);
}

#[test]
fn export_is_dynamic_in_the_batch_unless_static() {
    let inspect = |model: &std::path::Path| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tapir"))
            .args(["inspect", model.to_str().unwrap()])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let model = temp("static.onnx");
    let (code, stderr) = tapir(&["export", "mlp", "--static", "--out", model.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(inspect(&model).contains("input  input: f32[1,784]"));
    let model = temp("seq.onnx");
    let (code, stderr) = tapir(&["export", "lstm", "--dynamic", "seq", "--out", model.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let text = inspect(&model);
    assert!(
        text.contains("input  input: f32[batch,seq,64]") && text.contains("output output: f32[batch,10]"),
        "{text}"
    );
    // A model without a sequence dimension: a one-line error, nothing written.
    let model = temp("mlp_seq.onnx");
    let (code, stderr) = tapir(&["export", "mlp", "--dynamic", "seq", "--out", model.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("no sequence dimension"), "{stderr}");
    assert!(!model.exists());
    let (code, _) = tapir(&["export", "mlp", "--static", "--dynamic", "seq", "--out", model.to_str().unwrap()]);
    assert_eq!(code, 2, "--static and --dynamic conflict");
}

#[test]
fn inspect_reads_a_model_file() {
    let model = temp("inspect.onnx");
    let (code, stderr) = tapir(&["export", "mlp", "--out", model.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tapir"))
        .args(["inspect", model.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        "opset: ai.onnx 20",
        "input  input: f32[batch,784]",
        "output output: f32[batch,10]",
        "Gemm x3",
        "parameters: 669706 in 6 initializers",
    ] {
        assert!(text.contains(want), "missing `{want}` in:\n{text}");
    }
    let (code, stderr) = tapir(&["inspect", temp("missing.onnx").to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    assert_plain(&stderr);
}

#[test]
fn export_in_half_precision() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_tapir")).args(args).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        (out.status.code().unwrap_or(-1), text)
    };
    let (full, half) = (temp("mlp32.onnx"), temp("mlp16.onnx"));
    let (code, text) = run(&["export", "mlp", "--out", full.to_str().unwrap()]);
    assert_eq!(code, 0, "{text}");
    let (code, text) = run(&["export", "mlp", "--fp16", "--out", half.to_str().unwrap()]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("dtype  f16"), "{text}");
    // Checked in ONNX Runtime when this build has it (within 1e-2 of the output's scale).
    assert!(text.contains("ort    ok") || text.contains("not checked"), "{text}");
    let ratio = std::fs::metadata(&half).unwrap().len() as f64 / std::fs::metadata(&full).unwrap().len() as f64;
    assert!(ratio < 0.51, "{ratio}");
    let bf16 = temp("mlp_bf16.onnx");
    let (code, text) = run(&["export", "mlp", "--bf16", "--opset", "22", "--out", bf16.to_str().unwrap()]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("not checked: no CPU runtime here runs bfloat16"), "{text}");
    let (code, stderr) = tapir(&["export", "mlp", "--half-io", "--out", half.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert_plain(&stderr);
    let (code, stderr) = tapir(&["export", "mlp", "--fp16", "--bf16", "--out", half.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert_plain(&stderr);
}

#[test]
fn graph_draws_an_onnx_file() {
    let model = temp("drawn.onnx");
    let (code, stderr) = tapir(&["export", "resnet18", "--out", model.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let dot = temp("drawn.dot");
    let (code, stderr) = tapir(&["graph", model.to_str().unwrap(), "--out", dot.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let text = std::fs::read_to_string(&dot).unwrap();
    assert!(text.starts_with("digraph onnx {"), "{text}");
    // Module scopes from node names, weights in tooltips, source locations, typed inputs.
    assert!(text.contains("label=\"layer1.0\"") && text.contains("conv1.weight.bn_folded: f32[64, 3, 7, 7]"), "{text}");
    assert!(text.contains("Conv\\nkernel_shape=[3, 3]") && text.contains("resnet.rs:"), "{text}");
    assert!(text.contains("input\\nf32[batch, 3, 224, 224]"), "{text}");
    let svg = temp("drawn.svg");
    let (code, stderr) = tapir(&["graph", model.to_str().unwrap(), "--out", svg.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
    let (code, stderr) = tapir(&["graph", "/nonexistent/m.onnx", "--out", svg.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    assert_plain(&stderr);
}
