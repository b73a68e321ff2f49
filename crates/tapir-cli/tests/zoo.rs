//! The zoo against PyTorch: weights and reference outputs come from PyTorch itself
//! (`tests/zoo_reference.py`, run with the project's Python), the ONNX model from `tapir export`;
//! tract must reproduce PyTorch's output within 1e-4 of its scale. The models are left under
//! `$TAPIR_CHECK_DIR/zoo` with PyTorch's inputs and outputs, so `tests/check_models.py` checks
//! them with the ONNX checker and ONNX Runtime too.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn work_dir(name: &str) -> PathBuf {
    let base = match std::env::var_os("TAPIR_CHECK_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("tapir-checks"),
    };
    let d = base.join(name);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn python() -> String {
    std::env::var("TAPIR_PYTHON").expect("TAPIR_PYTHON is not set: run ./dev setup (it writes .cargo/config.toml)")
}

fn references(dir: &Path, batch: i64, models: &[&str]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/zoo_reference.py");
    let out = Command::new(python()).arg(script).arg(dir).arg(batch.to_string()).args(models).output().unwrap();
    assert!(out.status.success(), "zoo_reference.py failed:\n{}", String::from_utf8_lossy(&out.stderr));
}

fn tapir(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tapir")).args(args).output().unwrap()
}

fn load_io(path: &Path) -> (tch::Tensor, tch::Tensor, f64) {
    let bytes = std::fs::read(path).unwrap();
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let atol: f64 = meta.metadata().as_ref().unwrap()["atol"].parse().unwrap();
    let tensors = tch::Tensor::read_safetensors(path).unwrap();
    let get = |k: &str| tensors.iter().find(|(n, _)| n == k).unwrap().1.shallow_clone();
    (get("input.000"), get("output.000"), atol)
}

#[test]
fn zoo_matches_pytorch() {
    let dir = work_dir("zoo");
    let models = ["mlp", "resnet18", "resnet50", "encoder", "lstm"];
    references(&dir, 2, &models);
    for m in models {
        let d = dir.join(m);
        let (w, onnx) = (d.join("weights.safetensors"), d.join("model.onnx"));
        let out =
            tapir(&["export", m, "--weights", w.to_str().unwrap(), "--out", onnx.to_str().unwrap(), "--batch", "2"]);
        assert!(out.status.success(), "tapir export {m}: {}", String::from_utf8_lossy(&out.stderr));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("tract  ok"), "{stdout}");
        let (x, y, atol) = load_io(&d.join("io.safetensors"));
        let got = tapir::testing::run_tract(&std::fs::read(&onnx).unwrap(), &[&x]).unwrap();
        let err = (&got[0] - &y).abs().max().double_value(&[]);
        assert!(err <= atol, "{m}: tract vs PyTorch max error {err:e} > {atol:e}");
        // Initializers carry the PyTorch names.
        let bytes = std::fs::read(&onnx).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        let expected = match m {
            "mlp" => "net.2.weight",
            "encoder" => "enc.layers.3.self_attn.in_proj_weight",
            "lstm" => "lstm.weight_hh_l1",
            _ => "layer4.1.conv2.weight",
        };
        assert!(text.contains(expected), "{m}: no initializer named {expected}");
        // Straight from PyTorch's checkpoint without loading it: the same file, byte for byte.
        let fast = d.join("model-shape-only.onnx");
        let args = ["export", m, "--weights", w.to_str().unwrap(), "--out", fast.to_str().unwrap(), "--batch", "2"];
        let out = tapir(&[&args[..], &["--shape-only"]].concat());
        assert!(out.status.success(), "tapir export {m} --shape-only: {}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("not checked"));
        assert!(std::fs::read(&fast).unwrap() == bytes, "{m}: the --shape-only export differs");
        std::fs::remove_file(&fast).unwrap();
    }
}

fn one_line_error(out: &std::process::Output) -> String {
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    err
}

#[test]
fn export_errors_are_one_line_and_write_nothing() {
    let dir = work_dir("cli-errors");
    references(&dir, 1, &["mlp"]);
    let out_path = dir.join("never.onnx");
    let out = out_path.to_str().unwrap();

    let e = one_line_error(&tapir(&["export", "alexnet", "--out", out]));
    assert!(e.contains("unknown model `alexnet`") && e.contains("resnet50"), "{e}");

    let garbage = dir.join("garbage.safetensors");
    std::fs::write(&garbage, b"not a safetensors file").unwrap();
    let e = one_line_error(&tapir(&["export", "mlp", "--weights", garbage.to_str().unwrap(), "--out", out]));
    assert!(e.contains("garbage.safetensors"), "{e}");

    // A state_dict with one key renamed and one reshaped.
    let good = tch::Tensor::read_safetensors(dir.join("mlp/weights.safetensors")).unwrap();
    let bad: Vec<(String, tch::Tensor)> = good
        .into_iter()
        .map(|(k, t)| match k.as_str() {
            "net.0.bias" => ("net.0.biass".to_owned(), t),
            "net.4.weight" => (k, t.narrow(0, 0, 5)),
            _ => (k, t),
        })
        .collect();
    let bad_path = dir.join("bad.safetensors");
    tch::Tensor::write_safetensors(&bad, &bad_path).unwrap();
    let e = one_line_error(&tapir(&["export", "mlp", "--weights", bad_path.to_str().unwrap(), "--out", out]));
    assert!(e.contains("missing key `net.0.bias`") && e.contains("unexpected key `net.0.biass`"), "{e}");
    assert!(e.contains("key `net.4.weight`: shape [5, 512] in the file, [10, 512] in the model"), "{e}");

    let e = one_line_error(&tapir(&["export", "mlp", "--out", dir.join("no/such/dir/m.onnx").to_str().unwrap()]));
    assert!(e.contains("no/such/dir/m.onnx"), "{e}");

    let e = one_line_error(&tapir(&["export", "mlp", "--out", out, "--batch", "0"]));
    assert!(e.contains("--batch"), "{e}");
    assert!(!out_path.exists(), "nothing written on error");
    let names: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(!names.iter().any(|n| n.contains(".tmp")), "no temporary files left: {names:?}");
}

#[test]
fn help_documents_every_flag() {
    let out = tapir(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for command in ["export", "graph", "inspect", "demo", "EXIT CODES"] {
        assert!(help.contains(command), "--help does not mention {command}");
    }
    let out = tapir(&["export", "--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in ["--weights", "--out", "--batch", "--opset", "--shape-only"] {
        assert!(help.contains(flag), "export --help does not mention {flag}");
    }
}
