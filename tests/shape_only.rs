//! Shape-only tracing (`Tracer::shape_only`): every op runs its shape and dtype rules instead of
//! its eager rule. The exported model must be byte for byte the one a real-data trace of the
//! same code gives: the zoo and the Hugging Face families, static and with dynamic dimensions,
//! at several opsets. What a shape-only trace cannot do is a typed error.

#![allow(clippy::unwrap_used)]

use tapir::{CaptureError, Error, ExportOptions, Tensor, Tracer};
use tapir_conformance::hf_configs::{bert_config, gpt2_config, llama_config, vit_config};
use tapir_zoo::hf::{Bert, Gpt2, Llama, Vit};
use tch::nn::VarStore;
use tch::{Device, Kind};

const OPSETS: [i64; 2] = [13, 28];

/// Traces `f` both ways with `tracer` and asserts equal exports at every opset in [`OPSETS`].
fn assert_same_export(
    name: &str,
    tracer: impl Fn() -> Tracer,
    inputs: &[&tch::Tensor],
    f: impl Fn(&[Tensor]) -> Vec<Tensor>,
) {
    let real = tracer().trace(&f, inputs).unwrap_or_else(|e| panic!("{name}: real trace: {e}"));
    let fast = tracer().shape_only().trace(&f, inputs).unwrap_or_else(|e| panic!("{name}: shape-only trace: {e}"));
    assert!(fast.is_shape_only() && fast.eager_outputs().is_empty());
    assert_eq!(format!("{real:?}"), format!("{fast:?}"), "{name}: printed graphs differ");
    for opset in OPSETS {
        let options = ExportOptions::with_opset(opset);
        let (a, b) = (real.to_onnx_bytes(&options).unwrap(), fast.to_onnx_bytes(&options).unwrap());
        assert!(a == b, "{name} @ opset {opset}: shape-only export differs from the real-data export");
    }
}

#[test]
fn zoo_exports_are_identical() {
    for &name in tapir_zoo::MODELS {
        tch::manual_seed(7);
        let vs = VarStore::new(Device::Cpu);
        let model = tapir_zoo::build(name, &vs).unwrap();
        let x = model.example_input(2).unwrap();
        let f = |x: &[Tensor]| vec![model.module.forward_t(&x[0], false)];
        assert_same_export(name, || Tracer::new().parameters(&vs), &[&x], f);
        if name == "resnet50" {
            continue; // resnet18 has the same ops; a dynamic resnet50 adds only test time
        }
        assert_same_export(
            &format!("{name} (dynamic batch)"),
            || Tracer::new().parameters(&vs).dynamic_batch(),
            &[&x],
            f,
        );
        if name == "encoder" {
            let seq = || Tracer::new().parameters(&vs).dynamic_batch().dynamic_dim("input", 1, tapir::Dim::new("seq"));
            assert_same_export("encoder (dynamic batch and seq)", seq, &[&x], f);
        }
    }
}

#[test]
fn transformers_families_exports_are_identical() {
    tch::manual_seed(8);
    let ids = tch::Tensor::randint(100, [2, 7], (Kind::Int64, Device::Cpu));
    let pixels = tch::Tensor::randn([2, 3, 32, 32], (Kind::Float, Device::Cpu));
    let dynamic = |vs: &VarStore, seq: bool| {
        let t = Tracer::new().parameters(vs).dynamic_batch();
        if seq {
            t.dynamic_dim("input", 1, tapir::Dim::new("seq"))
        } else {
            t
        }
    };
    let vs = VarStore::new(Device::Cpu);
    let m = Gpt2::new(&vs.root(), gpt2_config());
    let f = |x: &[Tensor]| vec![m.forward(&x[0])];
    assert_same_export("gpt2", || Tracer::new().parameters(&vs), &[&ids], f);
    assert_same_export("gpt2 (dynamic)", || dynamic(&vs, true), &[&ids], f);

    let vs = VarStore::new(Device::Cpu);
    let m = Bert::new(&vs.root(), bert_config());
    let f = |x: &[Tensor]| {
        let (h, p) = m.forward(&x[0]);
        vec![h, p]
    };
    assert_same_export("bert", || Tracer::new().parameters(&vs), &[&ids], f);
    assert_same_export("bert (dynamic)", || dynamic(&vs, true), &[&ids], f);

    let vs = VarStore::new(Device::Cpu);
    let m = Llama::new(&vs.root(), llama_config());
    let f = |x: &[Tensor]| vec![m.forward(&x[0])];
    assert_same_export("llama", || Tracer::new().parameters(&vs), &[&ids], f);
    assert_same_export("llama (dynamic)", || dynamic(&vs, true), &[&ids], f);

    let vs = VarStore::new(Device::Cpu);
    let m = Vit::new(&vs.root(), vit_config());
    let f = |x: &[Tensor]| {
        let (h, p) = m.forward(&x[0]);
        vec![h, p]
    };
    assert_same_export("vit", || Tracer::new().parameters(&vs), &[&pixels], f);
    assert_same_export("vit (dynamic)", || dynamic(&vs, false), &[&pixels], f);
}

fn shape_only_error(e: Error) -> (String, String) {
    match e {
        Error::Capture(CaptureError::ShapeOnly { op, reason, .. }) => (op.to_owned(), reason),
        other => panic!("expected a shape-only refusal, got {other}"),
    }
}

#[test]
fn reading_a_value_is_a_typed_error() {
    let x = tch::Tensor::ones([3], (Kind::Float, Device::Cpu));
    let e = Tracer::new()
        .shape_only()
        .trace(
            |x| {
                let s = x[0].sum(tch::Kind::Float);
                let s = s.double_value(&[])?;
                Ok(&x[0] * s)
            },
            &[&x],
        )
        .unwrap_err();
    let (op, reason) = shape_only_error(e);
    assert_eq!(op, "sum");
    assert!(reason.contains("double_value"), "{reason}");
    // The same code traces with real data (with a guard).
    let real = Tracer::new()
        .guard_policy(tapir::GuardPolicy::Allow)
        .trace(|x| Ok::<_, CaptureError>(&x[0] * x[0].sum(tch::Kind::Float).double_value(&[])?), &[&x])
        .unwrap();
    assert_eq!(real.guards().len(), 1);
}

/// A custom op with neither a shape nor a dtype rule.
#[derive(Debug)]
struct NoRules;

impl tapir::op::OpDef for NoRules {
    type Output = tch::Tensor;
    fn name(&self) -> &'static str {
        "no_rules"
    }
    fn eager(&self, x: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        x[0].f_neg()
    }
    fn lower(&self, cx: &mut dyn tapir::op::Emit) -> Result<tapir::op::Outputs, tapir::op::LowerError> {
        let x = cx.input(0);
        tapir::op::emit::one(cx.node("Neg", &[x], vec![]))
    }
}

#[test]
fn an_op_without_rules_is_a_typed_error() {
    let x = tch::Tensor::ones([2, 3], (Kind::Float, Device::Cpu));
    let f = |x: &[Tensor]| tapir::op::record(NoRules, &[&x[0].relu()]);
    let e = Tracer::new().shape_only().trace(f, &[&x]).unwrap_err();
    let (op, reason) = shape_only_error(e);
    assert_eq!(op, "no_rules");
    assert!(reason.contains("no shape rule"), "{reason}");
    assert!(e_location_names_this_file(f, &x));
    // With real data it traces.
    Tracer::new().trace(f, &[&x]).unwrap();
}

/// The refusal names the caller's line (the closure's, in this file).
fn e_location_names_this_file(f: impl Fn(&[Tensor]) -> Tensor, x: &tch::Tensor) -> bool {
    let e = Tracer::new().shape_only().trace(f, &[x]).unwrap_err();
    e.to_string().contains("tests/shape_only.rs")
}

/// A custom op whose dtype rule is wrong, for the debug-build check.
#[derive(Debug)]
struct WrongDtype;

impl tapir::op::OpDef for WrongDtype {
    type Output = tch::Tensor;
    fn name(&self) -> &'static str {
        "wrong_dtype"
    }
    fn eager(&self, x: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
        x[0].f_to_kind(Kind::Double)
    }
    fn lower(&self, cx: &mut dyn tapir::op::Emit) -> Result<tapir::op::Outputs, tapir::op::LowerError> {
        let x = cx.input(0);
        tapir::op::emit::one(cx.node("Cast", &[x], vec![("to", tapir::op::Attr::Int(11))]))
    }
    fn shape(&self, inputs: &[tapir::op::SymDims]) -> Option<Vec<tapir::op::SymDims>> {
        Some(vec![inputs[0].clone()])
    }
    fn dtypes(&self, inputs: &[tapir::TensorMeta]) -> Option<tapir::op::dtype::DTypes> {
        tapir::op::dtype::same(inputs) // wrong: the eager rule gives f64
    }
}

#[test]
#[cfg(debug_assertions)]
fn debug_builds_check_rules_against_eager_results() {
    let x = tch::Tensor::ones([2], (Kind::Float, Device::Cpu));
    let e = Tracer::new().trace(|x| tapir::op::record(WrongDtype, &[&x[0]]), &[&x]).unwrap_err();
    assert!(e.to_string().contains("dtype rule"), "{e}");
}

/// A model built with placeholder parameters, traced shape-only, its weights bound to a
/// checkpoint: the export is the one of the same model loaded from the checkpoint and traced
/// with real data, byte for byte (optimized, with batch norms folded from the file's bytes,
/// and as lowered); with external data too.
#[test]
fn export_straight_from_a_checkpoint() {
    let dir = std::env::temp_dir().join(format!("tapir-shape-only-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["resnet18", "encoder", "lstm"] {
        let path = dir.join(format!("{name}.safetensors"));
        tch::manual_seed(11);
        let vs = VarStore::new(Device::Cpu);
        let _ = tapir_zoo::build(name, &vs).unwrap();
        vs.save(&path).unwrap();

        let mut loaded = VarStore::new(Device::Cpu);
        let real_model = tapir_zoo::build(name, &loaded).unwrap();
        tapir_nn::load_safetensors(&mut loaded, &path).unwrap();
        let x = real_model.example_input(2).unwrap();
        let real =
            Tracer::new().parameters(&loaded).trace(|x| real_model.module.forward_t(&x[0], false), &[&x]).unwrap();

        let vs = VarStore::new(Device::Cpu);
        let model = tapir_nn::placeholder_parameters(|| tapir_zoo::build(name, &vs).unwrap());
        let real_vars = vs
            .variables()
            .into_iter()
            .filter(|(k, v)| !tapir::is_placeholder(v) && !k.ends_with("num_batches_tracked"));
        assert_eq!(real_vars.count(), 0, "{name}: every parameter and running statistic is a placeholder");
        let mut fast =
            Tracer::new().parameters(&vs).shape_only().trace(|x| model.module.forward_t(&x[0], false), &[&x]).unwrap();
        let e = fast.to_onnx_bytes(&ExportOptions::default()).unwrap_err();
        assert!(e.to_string().contains("placeholder"), "{name}: unbound export: {e}");
        let checkpoint = tapir_nn::Checkpoint::open(&path).unwrap();
        let used = fast
            .graph()
            .constants()
            .filter(|(_, n)| matches!(&n.kind, tapir::NodeKind::Constant { name: Some(_), .. }));
        let used = used.count();
        assert_eq!(fast.bind_weights(&checkpoint).unwrap(), used, "{name}");
        drop(checkpoint); // the bound weights keep the file mapped
        for options in [
            ExportOptions::with_opset(13),
            ExportOptions::with_opset(28),
            ExportOptions { optimize: tapir::Optimizations::none(), ..ExportOptions::with_opset(20) },
        ] {
            let (a, b) = (real.to_onnx_bytes(&options).unwrap(), fast.to_onnx_bytes(&options).unwrap());
            assert!(a == b, "{name} @ opset {}: the export from the checkpoint differs", options.opset);
        }
        let options = ExportOptions { external_data: tapir::ExternalData::Always, ..ExportOptions::default() };
        // Same file name in two directories: the model names its data file.
        let (a, b) = (dir.join("real").join(format!("{name}.onnx")), dir.join("fast").join(format!("{name}.onnx")));
        std::fs::create_dir_all(dir.join("real")).unwrap();
        std::fs::create_dir_all(dir.join("fast")).unwrap();
        real.save_onnx(&a, &options).unwrap();
        fast.save_onnx(&b, &options).unwrap();
        for suffix in ["", ".data"] {
            let read = |p: &std::path::Path| std::fs::read(format!("{}{suffix}", p.display())).unwrap();
            assert!(read(&a) == read(&b), "{name}: saved files differ ({suffix})");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn binding_problems_are_listed() {
    let dir = std::env::temp_dir().join(format!("tapir-bind-problems-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("w.safetensors");
    let w = tch::Tensor::zeros([3, 4], (Kind::Float, Device::Cpu));
    let i = tch::Tensor::zeros([2], (Kind::Int64, Device::Cpu));
    tch::Tensor::write_safetensors(&[("fc.weight", &w), ("fc.bias", &i)], &path).unwrap();
    let vs = VarStore::new(Device::Cpu);
    let fc = tapir_nn::placeholder_parameters(|| tapir_nn::Linear::new(vs.root() / "fc", 3, 2));
    let x = tch::Tensor::zeros([1, 3], (Kind::Float, Device::Cpu));
    let mut traced =
        Tracer::new().parameters(&vs).shape_only().trace(|x| tapir_nn::Module::forward(&fc, &x[0]), &[&x]).unwrap();
    let checkpoint = tapir_nn::Checkpoint::open(&path).unwrap();
    let problems = match traced.bind_weights(&checkpoint) {
        Err(Error::Weights { problems }) => problems,
        other => panic!("expected binding problems, got {other:?}"),
    };
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems.iter().any(|p| p.starts_with("`fc.weight`: shape [3, 4]")), "{problems:?}");
    assert!(problems.iter().any(|p| p.starts_with("`fc.bias`: dtype Int64")), "{problems:?}");
    // Nothing was bound: the export still refuses the placeholders.
    assert!(traced.to_onnx_bytes(&ExportOptions::default()).is_err());
    // Loading into placeholders is refused too, naming what to do instead.
    let path = dir.join("fc.safetensors");
    let (w, b) =
        (tch::Tensor::zeros([2, 3], (Kind::Float, Device::Cpu)), tch::Tensor::zeros([2], (Kind::Float, Device::Cpu)));
    tch::Tensor::write_safetensors(&[("fc.weight", &w), ("fc.bias", &b)], &path).unwrap();
    let mut vs = vs;
    let e = tapir_nn::load_safetensors(&mut vs, &path).unwrap_err().to_string();
    assert!(e.contains("placeholder") && e.contains("bind_weights"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Sizes a rule states conditions on fail a shape-only trace as torch fails the real one.
#[test]
fn sizes_that_do_not_fit_fail_the_trace() {
    let a = tch::Tensor::ones([2, 3], (Kind::Float, Device::Cpu));
    let b = tch::Tensor::ones([4, 5], (Kind::Float, Device::Cpu));
    for (what, f) in [
        ("broadcast", (|x: &[Tensor]| &x[0] + &x[1]) as fn(&[Tensor]) -> Tensor),
        ("matmul", |x: &[Tensor]| x[0].matmul(&x[1])),
        ("reshape", |x: &[Tensor]| x[0].reshape([4, 2])),
    ] {
        assert!(Tracer::new().trace(f, &[&a, &b]).is_err(), "{what}: torch refuses it");
        let e = Tracer::new().shape_only().trace(f, &[&a, &b]).unwrap_err().to_string();
        assert!(e.contains("do not fit") && e.contains("tests/shape_only.rs"), "{what}: {e}");
    }
}

/// A part of a placeholder taken on the tch side cannot be captured (export could not tell
/// which part); the same part taken with `named_slice`, or a traced op, can.
#[test]
fn a_part_of_a_placeholder_taken_on_the_tch_side_is_refused() {
    let w = tapir::placeholder(&[6, 4], Kind::Float, Device::Cpu).unwrap();
    let x = tch::Tensor::ones([2, 4], (Kind::Float, Device::Cpu));
    let part = w.narrow(0, 2, 2);
    let e = Tracer::new().shape_only().trace(|x| x[0].matmul(&Tensor::from(&part).tr()), &[&x]).unwrap_err();
    assert!(e.to_string().contains("named_slice"), "{e}");
    let sliced = |x: &[Tensor]| x[0].matmul(&tapir::named_slice(&w, 0, 2, 2, "w.part").tr());
    let traced = Tracer::new().shape_only().trace(sliced, &[&x]).unwrap();
    let slice = traced.graph().constants().find_map(|(_, n)| match &n.kind {
        tapir::NodeKind::Constant { data, .. } => data.slice_of().cloned(),
        _ => None,
    });
    assert_eq!(slice, Some(tapir::SliceOf { parent: String::new(), dim: 0, start: 2, len: 2 }));
    let traced_op = |x: &[Tensor]| x[0].matmul(&Tensor::from(&w).narrow(0, 2, 2).tr());
    Tracer::new().shape_only().trace(traced_op, &[&x]).unwrap();
}
