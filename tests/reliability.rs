//! Misuse, faults and scale: captured weights changed after the trace, models over 2 GiB,
//! saves to links, devices, FIFOs and from many threads, clashing names, scopes kept past their
//! trace, panics after a failed op. `docs/reliability.md` lists each case with its test here.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use tapir::{CaptureError, Error, ExportError, ExportOptions, ExternalData, Tensor, Tracer};
use tapir_conformance::{save_file_for_python, Tolerance};
use tch::nn::VarStore;
use tch::{Device, Kind};

fn x() -> tch::Tensor {
    tch::Tensor::randn([2, 3], (Kind::Float, Device::Cpu))
}

/// A fresh folder under the system temp folder, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("tapir-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    fn path(&self) -> &Path {
        &self.0
    }
    fn entries(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A linear layer whose weight and bias live in `vs` as `fc.weight`, `fc.bias`.
fn linear_model(vs: &VarStore) -> (tch::Tensor, tch::Tensor) {
    let fc = vs.root() / "fc";
    let w = fc.randn("weight", &[4, 3], 0.0, 1.0);
    let b = fc.randn("bias", &[4], 0.0, 1.0);
    (w, b)
}

fn trace_linear(vs: &VarStore, w: &tch::Tensor, b: &tch::Tensor, input: &tch::Tensor) -> tapir::Traced {
    let (w, b) = (Tensor::from(w), Tensor::from(b));
    Tracer::new().parameters(vs).trace(|x| x[0].linear(&w, Some(&b)), &[input]).unwrap()
}

fn assert_changed(err: Error, name: &str, now: &str) {
    let msg = err.to_string();
    assert!(matches!(err, Error::Export(ExportError::ConstantChanged { .. })), "{msg}");
    assert!(msg.contains(&format!("`{name}`")) && msg.contains(now) && msg.contains("tests/reliability.rs:"), "{msg}");
}

// 1. Captured weights are read memory-safely at export.

#[test]
fn export_refuses_weights_whose_dtype_changed_after_the_trace() {
    let input = x();
    for (change, now) in [("half", "f16[4,3]"), ("double", "f64[4,3]")] {
        let mut vs = VarStore::new(Device::Cpu);
        let (w, b) = linear_model(&vs);
        let traced = trace_linear(&vs, &w, &b, &input);
        match change {
            "half" => vs.half(),
            _ => vs.double(),
        }
        let err = traced.to_onnx_bytes(&ExportOptions::default()).unwrap_err();
        assert_changed(err, "fc.weight", now);
        let dir = TempDir::new("changed");
        assert!(traced.save_onnx(dir.path().join("m.onnx"), &ExportOptions::default()).is_err());
        assert!(dir.entries().is_empty(), "{:?}", dir.entries());
    }
}

#[test]
fn export_refuses_weights_given_data_of_another_shape() {
    let vs = VarStore::new(Device::Cpu);
    let (mut w, b) = linear_model(&vs);
    let traced = trace_linear(&vs, &w, &b, &x());
    tch::no_grad(|| w.set_data(&tch::Tensor::zeros([2, 2], (Kind::Float, Device::Cpu))));
    let err = traced.to_onnx_bytes(&ExportOptions::default()).unwrap_err();
    assert_changed(err, "fc.weight", "f32[2,2]");
}

#[test]
fn export_refuses_a_checkpoint_of_another_dtype_loaded_after_the_trace() {
    let dir = TempDir::new("ckpt");
    let mut vs = VarStore::new(Device::Cpu);
    let (w, b) = linear_model(&vs);
    let traced = trace_linear(&vs, &w, &b, &x());
    // tch's VarStore::load adopts the file's dtype.
    let file = dir.path().join("half.safetensors");
    let (wh, bh) = (w.to_kind(Kind::Half), b.to_kind(Kind::Half));
    tch::Tensor::write_safetensors(&[("fc.weight", &wh), ("fc.bias", &bh)], &file).unwrap();
    vs.load(&file).unwrap();
    assert_eq!(w.kind(), Kind::Half);
    let err = traced.to_onnx_bytes(&ExportOptions::default()).unwrap_err();
    assert_changed(err, "fc.weight", "f16[4,3]");
}

#[test]
fn same_shape_updates_after_the_trace_are_exported_as_updated() {
    let input = x();
    let vs = VarStore::new(Device::Cpu);
    let (mut w, mut b) = linear_model(&vs);
    let traced = trace_linear(&vs, &w, &b, &input);
    // In place (an optimizer step) and by new data of the same dtype and shape.
    tch::no_grad(|| {
        let _ = w.f_mul_scalar_(2.0).unwrap();
        b.set_data(&tch::Tensor::ones([4], (Kind::Float, Device::Cpu)));
    });
    let bytes = traced.to_onnx_bytes(&ExportOptions::default()).unwrap();
    let got = tapir::testing::run_tract(&bytes, &[&input]).unwrap();
    let want = input.linear(&w, Some(&b));
    assert!(got[0].allclose(&want, 1e-5, 1e-5, false), "exported weights are the current ones");
}

// 2. Models over 2 GiB: external data.

#[test]
fn external_data_on_request_round_trips() {
    tch::manual_seed(1);
    let input = tch::Tensor::randn([3, 64], (Kind::Float, Device::Cpu));
    let vs = VarStore::new(Device::Cpu);
    let root = vs.root();
    let (w1, w2) =
        ((&root / "l1").randn("weight", &[300, 64], 0.0, 0.1), (&root / "l2").randn("weight", &[5, 300], 0.0, 0.1));
    let small = (&root / "l2").randn("bias", &[5], 0.0, 0.1); // 20 bytes: stays inline
    let (w1, w2, small) = (Tensor::from(&w1), Tensor::from(&w2), Tensor::from(&small));
    let traced = Tracer::new()
        .parameters(&vs)
        .trace(|x| x[0].linear(&w1, None::<&Tensor>).relu().linear(&w2, Some(&small)), &[&input])
        .unwrap();
    let options = ExportOptions { external_data: ExternalData::Always, ..ExportOptions::default() };
    let dir = TempDir::new("external");
    let path = dir.path().join("m.onnx");
    let n = traced.save_onnx(&path, &options).unwrap();
    assert_eq!(dir.entries(), vec!["m.onnx", "m.onnx.data"]);
    let (model_len, data_len) =
        (std::fs::metadata(&path).unwrap().len(), std::fs::metadata(dir.path().join("m.onnx.data")).unwrap().len());
    assert_eq!(n, model_len + data_len);
    assert!(model_len < 4096, "weights are not inline: {model_len} bytes");
    // l1.weight at offset 0, l2.weight at the next 64-byte boundary.
    assert_eq!(data_len, (300 * 64 * 4usize).div_ceil(64) as u64 * 64 + 5 * 300 * 4);
    let got = tapir::testing::run_tract_file(&path, &[&input]).unwrap();
    assert!(got[0].allclose(&traced.eager_outputs()[0], 1e-5, 1e-4, false));
    save_file_for_python("reliability/external_small", &traced, &options, &[&input], Tolerance::for_kind(Kind::Float));
}

/// A 2.2 GB embedding table: saved with its weights as external data (automatically), refused
/// in memory and with `ExternalData::Never`; tract runs it from the file here, and
/// `tests/check_models.py` runs the ONNX checker (by path) and ONNX Runtime on it.
#[test]
fn models_over_2_gib_get_external_data() {
    let (rows, dim) = (540_000i64, 1_000i64); // 2.16e9 bytes of f32
    let table = tch::Tensor::rand([rows, dim], (Kind::Float, Device::Cpu));
    let ids = tch::Tensor::from_slice(&[0i64, 7, rows - 1, 123_456]).reshape([2, 2]);
    let t = Tensor::from(&table);
    let traced = Tracer::new()
        .constant_name("table", &table)
        .input_names(["ids"])
        .trace(|x| tapir::embedding(&t, &x[0]) * 2.0, &[&ids])
        .unwrap();
    let err = traced.to_onnx_bytes(&ExportOptions::default()).unwrap_err();
    assert!(matches!(err, Error::Export(ExportError::TooLarge { .. })), "{err}");
    let dir = TempDir::new("big");
    let never = ExportOptions { external_data: ExternalData::Never, ..ExportOptions::default() };
    let err = traced.save_onnx(dir.path().join("m.onnx"), &never).unwrap_err();
    assert!(err.to_string().contains("2 GiB"), "{err}");
    assert!(dir.entries().is_empty());
    let saved = match save_file_for_python(
        "reliability/over_2gib",
        &traced,
        &ExportOptions::default(),
        &[&ids],
        Tolerance::for_kind(Kind::Float),
    ) {
        Some(path) => path,
        None => {
            let path = dir.path().join("m.onnx");
            traced.save_onnx(&path, &ExportOptions::default()).unwrap();
            path
        }
    };
    let mut data_name = saved.file_name().unwrap().to_os_string();
    data_name.push(".data");
    let data = saved.with_file_name(data_name);
    assert!(std::fs::metadata(&data).unwrap().len() >= (rows * dim * 4) as u64);
    assert!(std::fs::metadata(&saved).unwrap().len() < 4096);
    let got = tapir::testing::run_tract_file(&saved, &[&ids]).unwrap();
    assert!(got[0].equal(&traced.eager_outputs()[0]));
}

// 3. Saves never clobber what is at the path.

fn model_bytes(traced: &tapir::Traced) -> Vec<u8> {
    traced.to_onnx_bytes(&ExportOptions::default()).unwrap()
}

#[cfg(unix)]
#[test]
fn saving_through_a_symlink_replaces_its_target() {
    let dir = TempDir::new("link");
    let traced = Tracer::new().trace(|x| x[0].relu(), &[&x()]).unwrap();
    let real = dir.path().join("real.onnx");
    std::fs::write(&real, b"old").unwrap();
    let link = dir.path().join("link.onnx");
    std::os::unix::fs::symlink("real.onnx", &link).unwrap();
    traced.save_onnx(&link, &ExportOptions::default()).unwrap();
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read(&real).unwrap(), model_bytes(&traced));
    // A dangling link: its target is created.
    let dangling = dir.path().join("dangling.onnx");
    std::os::unix::fs::symlink("new.onnx", &dangling).unwrap();
    traced.save_onnx(&dangling, &ExportOptions::default()).unwrap();
    assert_eq!(std::fs::read(dir.path().join("new.onnx")).unwrap(), model_bytes(&traced));
    assert_eq!(dir.entries(), vec!["dangling.onnx", "link.onnx", "new.onnx", "real.onnx"]);
}

#[cfg(unix)]
#[test]
fn saving_to_a_device_or_fifo_writes_to_it() {
    use std::os::unix::fs::FileTypeExt;
    let traced = Tracer::new().trace(|x| x[0].relu(), &[&x()]).unwrap();
    traced.save_onnx("/dev/null", &ExportOptions::default()).unwrap();
    assert!(std::fs::metadata("/dev/null").unwrap().file_type().is_char_device());
    let dir = TempDir::new("fifo");
    let fifo = dir.path().join("pipe.onnx");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    traced.save_onnx(&fifo, &ExportOptions::default()).unwrap();
    assert_eq!(reader.join().unwrap(), model_bytes(&traced));
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    // External data cannot go beside a device.
    let options = ExportOptions { external_data: ExternalData::Always, ..ExportOptions::default() };
    let err = traced.save_onnx("/dev/null", &options).unwrap_err();
    assert!(err.to_string().contains("regular file"), "{err}");
}

/// Eight threads save different models to one path, inline and with external data: every save
/// succeeds and the path ends with one complete model (with its own data file).
#[test]
fn concurrent_saves_to_one_path_leave_one_complete_model() {
    for external in [ExternalData::Never, ExternalData::Always] {
        let dir = TempDir::new("concurrent");
        let path = dir.path().join("m.onnx");
        let options = ExportOptions { external_data: external, ..ExportOptions::default() };
        let results: Vec<(Vec<u8>, Vec<u8>)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|i| {
                    let (path, options, dir) = (&path, &options, dir.path());
                    s.spawn(move || {
                        // Model i: a weight of 1024 + i rows (so data files differ), i + 1 relus.
                        let w = tch::Tensor::full([1024 + i, 3], i as f64, (Kind::Float, Device::Cpu));
                        let wt = Tensor::from(&w);
                        let traced = Tracer::new()
                            .constant_name("w", &w)
                            .trace(
                                |x| {
                                    let mut h = x[0].linear(&wt, None::<&Tensor>);
                                    for _ in 0..=i {
                                        h = h.relu();
                                    }
                                    h
                                },
                                &[&x()],
                            )
                            .unwrap();
                        // The expected pair, saved alone first.
                        let own = dir.join(format!("own{i}"));
                        std::fs::create_dir_all(&own).unwrap();
                        traced.save_onnx(own.join("m.onnx"), options).unwrap();
                        let model = std::fs::read(own.join("m.onnx")).unwrap();
                        let data = std::fs::read(own.join("m.onnx.data")).unwrap_or_default();
                        for _ in 0..4 {
                            traced.save_onnx(path, options).unwrap();
                        }
                        (model, data)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let model = std::fs::read(&path).unwrap();
        let data = std::fs::read(path.with_file_name("m.onnx.data")).unwrap_or_default();
        assert!(results.contains(&(model, data)), "the saved model and data file belong to one save ({external:?})");
        let mut left = dir.entries();
        left.retain(|e| !e.starts_with("own"));
        let want: Vec<&str> =
            if external == ExternalData::Always { vec!["m.onnx", "m.onnx.data"] } else { vec!["m.onnx"] };
        assert_eq!(left, want, "no temporary files are left");
    }
}

// 4. A panic after a failed op returns the op's error.

#[test]
fn a_panic_after_a_failed_op_returns_that_error() {
    let err = Tracer::new()
        .trace(
            |x| {
                let y = x[0].matmul(&x[0]); // [2,3] @ [2,3] fails
                let rows = y.size()[0]; // and code that did not expect it panics
                y.reshape([rows, -1])
            },
            &[&x()],
        )
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("`matmul`") && msg.contains("tests/reliability.rs:"), "{msg}");
    assert!(!tapir::is_tracing());
    // A panic with no failed op still propagates.
    let caught = std::panic::catch_unwind(|| Tracer::new().trace(|_| -> Tensor { panic!("model bug") }, &[&x()]));
    assert!(caught.is_err());
}

#[test]
fn sizes_of_a_given_rank_are_errors_not_panics() {
    let t = Tensor::from(x());
    assert_eq!(t.size2().unwrap(), (2, 3));
    let err = t.size3().unwrap_err().to_string();
    assert!(err.contains("3 dimension") && err.contains("[2, 3]") && err.contains("tests/reliability.rs:"), "{err}");
    let failed = t.matmul(&t);
    assert!(failed.size2().unwrap_err().to_string().contains("`matmul`"));
    let carried = Tensor::from_error(failed.size4().unwrap_err());
    assert!(carried.to_tch().unwrap_err().to_string().contains("`matmul`"));
}

// 6. Graph input and output names must be distinct and non-empty.

#[test]
fn clashing_input_and_output_names_are_errors() {
    let (a, b) = (x(), x());
    let cases: [(&[&str], &[&str], &str); 4] = [
        (&["a", "a"], &["y"], "input name `a` is given twice"),
        (&["a", "b"], &["y", "y"], "output name `y` is given twice"),
        (&["a", "b"], &["b", "y"], "output name `b` is also the name of an input"),
        (&["", "b"], &["y"], "input name `` is empty"),
    ];
    for (inputs, outputs, want) in cases {
        let err = Tracer::new()
            .input_names(inputs.iter().copied())
            .output_names(outputs.iter().copied())
            .trace(|i| (&i[0] + &i[1], &i[0] * &i[1]), &[&a, &b])
            .unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::Capture(CaptureError::BadName { .. })), "{msg}");
        assert!(msg.contains(want) && msg.contains("tests/reliability.rs:"), "{msg}");
    }
    // The default output name `output` clashes with an input named so.
    let err = Tracer::new().input_names(["output"]).trace(|i| i[0].relu(), &[&a]).unwrap_err();
    assert!(err.to_string().contains("`output` is also the name of an input"), "{err}");
}

// 7. A scope guard kept past its trace leaves the next trace's scopes alone.

#[test]
fn a_scope_guard_from_another_trace_leaves_this_traces_scopes_alone() {
    let mut kept = None;
    Tracer::new()
        .trace(
            |x| {
                kept = Some(tapir::enter_scope("old"));
                x[0].relu()
            },
            &[&x()],
        )
        .unwrap();
    let traced = Tracer::new()
        .trace(
            |x| {
                let _scope = tapir::enter_scope("block");
                drop(kept.take()); // must not pop `block`
                x[0].relu()
            },
            &[&x()],
        )
        .unwrap();
    let bytes = traced.to_onnx_bytes(&ExportOptions::default()).unwrap();
    let model = <tapir::onnx::proto::ModelProto as prost::Message>::decode(&bytes[..]).unwrap();
    let names: Vec<_> = model.graph.unwrap().node.iter().map(|n| n.name.clone().unwrap()).collect();
    assert_eq!(names, vec!["block/Relu"]);
}

#[test]
fn malformed_conv_arguments_are_errors_not_panics() {
    let x = Tensor::from(tch::Tensor::randn([1, 3, 5, 5], (Kind::Float, Device::Cpu)));
    let w = Tensor::from(tch::Tensor::randn([2, 3, 3, 3], (Kind::Float, Device::Cpu)));
    for out in [
        x.conv2d_padding(&w, None::<&Tensor>, [1], "same", [], 1),
        x.conv2d_padding(&w, None::<&Tensor>, [1], "sideways", [1], 1),
        x.conv2d_padding(&w, None::<&Tensor>, [2], "same", [1], 1),
        x.conv2d(&w, None::<&Tensor>, [], [], [], 1),
    ] {
        let err = out.to_tch().unwrap_err().to_string();
        assert!(err.contains("`conv`") && err.contains("tests/reliability.rs:"), "{err}");
    }
}
