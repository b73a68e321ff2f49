//! Tracing semantics: guards and policies, replay, trace checking, the testing helper, scopes,
//! refused ops, unnamed captures.

#![allow(clippy::unwrap_used)]

use tapir::{enter_scope, testing, trace, CheckOptions, Divergence, Error, GuardPolicy, Tensor, Tracer};
use tch::{Device, Kind};

fn f32s(v: &[f32]) -> tch::Tensor {
    tch::Tensor::from_slice(v)
}

/// The seed example: the branch depends on a value computed from the input. The decision is
/// made in the tensor world and read as a bool, so the guard records the branch itself.
fn seed(y: &Tensor) -> Tensor {
    let x = y * 2.0;
    let cond = |x: &Tensor| x.sum(None).gt(0.0).bool_value(&[]).unwrap(); // the guard
    if cond(&x) {
        &x + y
    } else {
        &x * y
    }
}

#[test]
fn seed_example_records_the_branch_taken_and_one_guard() {
    let positive = f32s(&[1.0, 2.0]);
    let negative = f32s(&[-1.0, -2.0]);
    let t = trace(seed, &positive).unwrap();
    assert_eq!(t.graph().op_histogram().keys().copied().collect::<Vec<_>>(), ["add", "mul"]);
    assert_eq!(t.guards().len(), 1);
    let g = &t.guards()[0];
    assert_eq!((g.read, g.op, g.observed.as_str()), ("bool_value", "gt", "true"));
    assert!(g.location.file.ends_with("tracing.rs"));
    let t2 = trace(seed, &negative).unwrap();
    assert_eq!(t2.graph().op_histogram().get("mul"), Some(&2), "x * 2 and x * y");
    assert_eq!(t2.graph().op_histogram().get("add"), None);
    // The printed graph and the ONNX metadata list the guard.
    assert!(t.to_string().contains("guard bool_value of a pruned value (gt) == true"), "{t}");
    let bytes = t.to_onnx_bytes(&tapir::ExportOptions::default()).unwrap();
    assert!(String::from_utf8_lossy(&bytes).contains("tapir.guard.0000"));
}

#[test]
fn guard_policies() {
    let x = f32s(&[1.0, 2.0]);
    let allow = Tracer::new().guard_policy(GuardPolicy::Allow).trace(|y| seed(&y[0]), &[&x]).unwrap();
    assert_eq!(allow.guards().len(), 1);
    let err = Tracer::new().guard_policy(GuardPolicy::Error).trace(|y| seed(&y[0]), &[&x]).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("guard at") && msg.contains("tracing.rs") && msg.contains("bool_value"), "{msg}");
    // Reading a constant (not a traced value) is not a guard.
    let c = Tensor::from(f32s(&[3.0]));
    let t =
        Tracer::new().guard_policy(GuardPolicy::Error).trace(|y| &y[0] * c.double_value(&[0]).unwrap(), &[&x]).unwrap();
    assert!(t.guards().is_empty());
}

#[test]
fn every_host_read_is_a_guard() {
    let x = f32s(&[1.0, 0.0, 3.0]);
    let t = trace(
        |y| {
            let s = y.sum(None);
            let _ = f64::try_from(&s).unwrap();
            let _ = i64::try_from(&s).unwrap();
            let _ = bool::try_from(&s.gt(0.0)).unwrap();
            let _ = Vec::<f64>::try_from(y).unwrap();
            let _ = y.to_vec_i64().unwrap();
            y.relu()
        },
        &x,
    )
    .unwrap();
    let reads: Vec<&str> = t.guards().iter().map(|g| g.read).collect();
    assert_eq!(reads, ["double_value", "int64_value", "bool_value", "to_vec", "to_vec"]);
    assert!(f64::try_from(&Tensor::from(f32s(&[1.0, 2.0]))).is_err(), "two elements have no single value");
}

#[test]
fn replay_runs_the_graph_on_new_inputs() {
    tch::manual_seed(0);
    let w = Tensor::from(tch::Tensor::randn([4, 3], (Kind::Float, Device::Cpu)));
    let model = |x: &Tensor| x.linear(&w, None::<&Tensor>).softmax(-1, None).split(2, 1);
    let t = trace(model, &tch::Tensor::randn([2, 3], (Kind::Float, Device::Cpu))).unwrap();
    let fresh = tch::Tensor::randn([2, 3], (Kind::Float, Device::Cpu));
    let got = t.replay(&[&fresh]).unwrap();
    let want: Vec<tch::Tensor> = model(&Tensor::from(&fresh)).iter().map(|t| t.to_tch().unwrap()).collect();
    for (g, w) in got.iter().zip(&want) {
        assert!(g.allclose(w, 1e-6, 1e-6, false));
    }
    let wrong = tch::Tensor::randn([3, 3], (Kind::Float, Device::Cpu));
    let err = t.replay(&[&wrong]).unwrap_err();
    assert!(err.to_string().contains("static"), "{err}");
}

#[test]
fn check_names_the_guard_that_flipped() {
    let positive = f32s(&[1.0, 2.0]);
    let t = trace(seed, &positive).unwrap();
    let ok = t.check(|y| seed(&y[0]), &[vec![f32s(&[3.0, 1.0])]], &CheckOptions::default());
    assert!(ok.is_ok(), "{ok}");
    let report = t.check(|y| seed(&y[0]), &[vec![f32s(&[-1.0, -5.0])]], &CheckOptions::default());
    assert!(!report.is_ok());
    match report.first_guard() {
        Some(Divergence::Guard { traced, observed, location, .. }) => {
            assert_eq!((traced.as_str(), observed.as_str()), ("true", "false"));
            assert!(location.file.ends_with("tracing.rs"));
        }
        other => panic!("expected a guard divergence, got {other:?}\n{report}"),
    }
    assert!(report.divergences.iter().any(|d| matches!(d, Divergence::Structure { .. })));
    assert!(report.divergences.iter().any(|d| matches!(d, Divergence::Output { runtime: "replay", .. })));
    assert!(report.divergences.iter().any(|d| matches!(d, Divergence::Output { runtime: "tract", .. })));
    let text = report.to_string();
    assert!(text.contains("first diverging guard") && text.contains("max error"), "{text}");
}

#[test]
fn testing_helper_passes_a_faithful_trace() {
    tch::manual_seed(1);
    let w = Tensor::from(tch::Tensor::randn([3, 3], (Kind::Float, Device::Cpu)));
    let model = |x: &[Tensor]| x[0].matmul(&w).gelu("tanh");
    let ex = tch::Tensor::randn([2, 3], (Kind::Float, Device::Cpu));
    let more: Vec<Vec<tch::Tensor>> =
        (0..3).map(|_| vec![tch::Tensor::randn([2, 3], (Kind::Float, Device::Cpu))]).collect();
    testing::assert_exports(model, &[&ex], &more);
}

#[test]
#[should_panic(expected = "first diverging guard")]
fn testing_helper_fails_on_a_collapsed_branch() {
    testing::assert_exports(|y| seed(&y[0]), &[&f32s(&[1.0, 2.0])], &[vec![f32s(&[-3.0, -1.0])]]);
}

#[test]
fn scopes_name_onnx_nodes() {
    let x = tch::Tensor::randn([1, 2, 4, 4], (Kind::Float, Device::Cpu));
    let w = Tensor::from(tch::Tensor::randn([2, 2, 3, 3], (Kind::Float, Device::Cpu)));
    let t = trace(
        |x| {
            let _layer = enter_scope("layer1");
            let _block = enter_scope("0");
            let h = {
                let _conv = enter_scope("conv1");
                x.conv2d(&w, None::<&Tensor>, [1], [1], [1], 1)
            };
            h.relu()
        },
        &x,
    )
    .unwrap();
    let bytes = t.to_onnx_bytes(&tapir::ExportOptions::default()).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("layer1.0.conv1/Conv") && text.contains("layer1.0/Relu"), "node names carry scopes");
    assert!(!tapir::is_tracing());
    // With no trace active a scope is a no-op.
    let _s = enter_scope("outside");
}

#[test]
fn random_ops_are_refused_and_captures_are_listed() {
    let x = tch::Tensor::randn([2], (Kind::Float, Device::Cpu));
    let err = trace(|x| x + &Tensor::randn([2], (Kind::Float, Device::Cpu)), &x).unwrap_err();
    assert!(matches!(err, Error::Capture(tapir::CaptureError::RandomInTrace { op: "randn", .. })), "{err}");
    assert!(Tensor::randn([2], (Kind::Float, Device::Cpu)).to_tch().is_ok(), "fine outside a trace");
    let noise = Tensor::from(tch::Tensor::randn([2], (Kind::Float, Device::Cpu)));
    let t = trace(|x| x + &noise, &x).unwrap();
    assert_eq!(t.unnamed_captures().len(), 1);
    assert!(t.unnamed_captures()[0].0.file.ends_with("tracing.rs"));
    let bytes = t.to_onnx_bytes(&tapir::ExportOptions::default()).unwrap();
    assert!(String::from_utf8_lossy(&bytes).contains("tapir.unnamed_capture.0000"), "listed in the model's metadata");
}

#[test]
fn in_place_ops_are_tch_outside_a_trace_and_refused_inside() {
    use tapir::Tensor;
    // Outside a trace: tch's in-place ops, views included.
    let base = Tensor::from(tch::Tensor::zeros([2, 3], (tch::Kind::Float, tch::Device::Cpu)));
    let mut row = base.narrow(0, 1, 1);
    let _ = row.fill_(2.0);
    let mut b = base.shallow_clone();
    b += 1.0;
    let _ = b.masked_fill_(&b.gt(2.5), -1.0);
    let want = tch::Tensor::from_slice(&[1.0f32, 1.0, 1.0, -1.0, -1.0, -1.0]).view([2, 3]);
    assert!(base.to_tch().unwrap().equal(&want), "{:?}", base.to_tch().unwrap());
    // Inside a trace: an error naming the op, the line and what to write instead.
    let x = tch::Tensor::ones([3], (tch::Kind::Float, tch::Device::Cpu));
    let err = tapir::trace(
        |x| {
            let mut h = x.relu();
            h += 1.0;
            h
        },
        &x,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("add_") && err.contains("x = &x + other") && err.contains("tests/tracing.rs:"), "{err}");
    let err = tapir::trace(|x| x.shallow_clone().triu_(0), &x).unwrap_err().to_string();
    assert!(err.contains("triu_") && err.contains("x = x.triu(diagonal)"), "{err}");
}

#[test]
fn to_dot_shows_scopes_weights_and_guards() {
    use tapir::Tensor;
    let w = tch::Tensor::ones([3, 3], (tch::Kind::Float, tch::Device::Cpu));
    let x = tch::Tensor::ones([2, 3], (tch::Kind::Float, tch::Device::Cpu));
    let traced = tapir::Tracer::new()
        .constant_name("fc.weight", &w)
        .guard_policy(tapir::GuardPolicy::Allow)
        .trace(
            |x| {
                let _scope = tapir::enter_scope("fc");
                let h = x[0].linear(&Tensor::from(&w), None::<&Tensor>);
                // A guard: the branch taken depends on a traced value.
                if h.sum(None).double_value(&[]).unwrap() > 0.0 {
                    h.relu()
                } else {
                    h.neg()
                }
            },
            &[&x],
        )
        .unwrap();
    let dot = traced.to_dot();
    assert!(dot.starts_with("digraph tapir {") && dot.ends_with("}\n"), "{dot}");
    assert!(dot.contains("subgraph cluster_1 {") && dot.contains("label=\"fc\""), "{dot}");
    // The weight is folded into its op's tooltip, not drawn.
    assert!(dot.contains("fc.weight: f32[3,3]") && !dot.contains("label=\"const"), "{dot}");
    // The read value (a sum no output needs) is not in the graph: the guard is in a note.
    assert!(dot.contains("guards: the trace holds") && dot.contains("double_value -> "), "{dot}");
    assert!(dot.contains("tests/tracing.rs:"), "{dot}");
}

/// ONNX Runtime in-process (`tapir::testing::run_onnxruntime`, the library of the pinned wheel
/// found by `./dev setup`): float, integer and boolean outputs equal eager's.
#[test]
fn onnxruntime_runs_exports_in_process() {
    tapir::testing::onnxruntime_available().expect("ONNX Runtime must be available under ./dev test");
    let x = tch::Tensor::randn([3, 4], (tch::Kind::Float, tch::Device::Cpu));
    let ids = tch::Tensor::from_slice(&[2i64, 0, 1]);
    let f = |xs: &[tapir::Tensor]| {
        let y = xs[0].tanh() * 2.0;
        let picked = y.index_select(0, &xs[1]);
        (picked.shallow_clone(), picked.argmax(-1, false), picked.gt(0.0))
    };
    let traced = tapir::Tracer::new().trace(f, &[&x, &ids]).unwrap();
    let bytes = traced.to_onnx_bytes(&tapir::ExportOptions::default()).unwrap();
    let got = tapir::testing::run_onnxruntime(&bytes, &[&x, &ids]).unwrap();
    let eager = traced.eager_outputs();
    assert_eq!(got.len(), 3);
    assert!(got[0].allclose(&eager[0], 1e-5, 1e-6, false));
    assert!(got[1].equal(&eager[1]) && got[2].equal(&eager[2]));
    // Traced::check runs it too (CheckOptions::onnxruntime, on by default with `testing`).
    let report = traced.check(f, &[vec![x.shallow_clone(), ids.shallow_clone()]], &tapir::CheckOptions::default());
    assert!(report.is_ok() && report.not_run.is_empty(), "{report}");
    // A model ONNX Runtime cannot load is an error that says so, not a panic.
    let e = tapir::testing::run_onnxruntime(b"not a model", &[&x]).unwrap_err();
    assert!(e.contains("ONNX Runtime refused the model"), "{e}");
}
