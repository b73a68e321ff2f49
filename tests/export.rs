//! Export behaviour: errors (each naming op, opset, location), files, determinism, the printed
//! graph, trace-state safety.

#![allow(clippy::unwrap_used)]

use tapir::{trace, trace_n, CaptureError, Error, ExportError, ExportOptions, Tensor, Tracer};
use tch::{Device, Kind};

fn x() -> tch::Tensor {
    tch::Tensor::randn([2, 3], (Kind::Float, Device::Cpu))
}

#[test]
fn printed_graph_is_compact_and_stable() {
    tch::manual_seed(0);
    let w = Tensor::from(tch::Tensor::randn([4, 3], (Kind::Float, Device::Cpu)));
    let traced = Tracer::new()
        .constant_name("fc.weight", w.as_tch())
        .trace(|x| (x[0].linear(&w, None::<&Tensor>).relu() * 2.0).sum_dim_intlist([1], true, None), &[&x()])
        .unwrap();
    insta::assert_snapshot!(traced.to_string(), @r#"
    %0: f32[2,3] = input "input"
    %1: f32[4,3] = captured "fc.weight"
    %2: f32[2,4] = linear(%0, %1)
    %3: f32[2,4] = relu(%2)
    %4: f32[2,4] = mul(%3) {other=2.0}
    %5: f32[2,1] = sum(%4) {dims=[1], keepdim=true}
    return %5 as "output"
    "#);
    // Debug adds each node's source location.
    assert!(format!("{traced:?}").contains("tests/export.rs:"));
}

#[test]
fn unused_ops_are_dropped() {
    let traced = trace(
        |x| {
            let _unused = x.exp().sum(None);
            x.relu()
        },
        &x(),
    )
    .unwrap();
    assert_eq!(traced.graph().op_histogram().keys().copied().collect::<Vec<_>>(), vec!["relu"]);
}

#[test]
fn same_model_same_bytes() {
    tch::manual_seed(0);
    let w = Tensor::from(tch::Tensor::randn([3, 3], (Kind::Float, Device::Cpu)));
    let input = x();
    let model = |x: &Tensor| x.matmul(&w).softmax(-1, None);
    let a = trace(model, &input).unwrap().to_onnx_bytes(&ExportOptions::default()).unwrap();
    let b = trace(model, &input).unwrap().to_onnx_bytes(&ExportOptions::default()).unwrap();
    assert_eq!(a, b);
}

#[test]
fn several_inputs_and_outputs_with_names() {
    let (a, b) = (x(), x());
    let traced = Tracer::new()
        .input_names(["a", "b"])
        .output_names(["sum", "prod", "a_again"])
        .trace(|i| (&i[0] + &i[1], &i[0] * &i[1], i[0].shallow_clone()), &[&a, &b])
        .unwrap();
    tapir_conformance::check("export/multi_io", &traced, &[&a, &b], tapir_conformance::all_opsets(), None);
    let v = trace_n(|i| vec![i[0].relu(), i[1].relu()], &[&a, &b]).unwrap();
    assert_eq!(v.graph().outputs().len(), 2);
}

#[test]
fn no_lowering_names_op_opset_and_location() {
    let input = tch::Tensor::randn([1, 1, 4, 4], (Kind::Float, Device::Cpu));
    let traced = trace(|x| x.avg_pool2d([2, 2], [], [], true, true, Some(3)), &input).unwrap();
    let err = traced.to_onnx_bytes(&ExportOptions::with_opset(17)).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Export(ExportError::Lowering { .. })));
    assert!(msg.contains("avg_pool2d") && msg.contains("opset 17") && msg.contains("tests/export.rs:"), "{msg}");
}

#[test]
fn unsupported_opset_is_an_error() {
    let traced = trace(|x| x.relu(), &x()).unwrap();
    for opset in [12, tapir::MAX_OPSET + 1] {
        let err = traced.to_onnx_bytes(&ExportOptions::with_opset(opset)).unwrap_err();
        assert!(err.to_string().contains(&format!("opset {opset}")), "{err}");
    }
}

#[test]
fn dtype_onnx_cannot_hold_is_an_error() {
    let input = tch::Tensor::randn([2], (Kind::ComplexFloat, Device::Cpu));
    let err = trace(|x| x.abs(), &input).unwrap_err();
    assert!(err.to_string().contains("ComplexFloat"), "{err}");
    let err = trace(|x| x.to_kind(Kind::ComplexFloat), &x()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("to_kind") && msg.contains("ComplexFloat") && msg.contains("tests/export.rs:"), "{msg}");
}

#[test]
fn untraced_output_is_an_error() {
    let outside = Tensor::from(x());
    let err = trace(|_x| outside.shallow_clone(), &x()).unwrap_err();
    assert!(matches!(err, Error::Capture(CaptureError::UntracedOutput { index: 0, .. })), "{err}");
}

#[test]
fn empty_trace_is_an_error() {
    let err = trace_n(|_| Vec::<Tensor>::new(), &[&x()]).unwrap_err();
    assert!(matches!(err, Error::Capture(CaptureError::EmptyTrace)), "{err}");
}

#[test]
fn failing_op_reports_op_and_location_and_trace_still_ends() {
    let err = trace(|x| x.matmul(x).relu(), &x()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("`matmul`") && msg.contains("tests/export.rs:") && !msg.contains("frame #"), "{msg}");
    assert!(!tapir::is_tracing());
    assert!(trace(|x| x.relu(), &x()).is_ok());
}

#[test]
fn nested_trace_is_an_error_and_panics_leave_no_state() {
    let input = x();
    let inner = std::cell::RefCell::new(None);
    let outer = trace(
        |x| {
            *inner.borrow_mut() = Some(trace(|y| y.relu(), &input).map(|_| ()));
            x.relu()
        },
        &input,
    );
    assert!(outer.is_ok());
    assert!(matches!(inner.into_inner(), Some(Err(Error::Capture(CaptureError::NestedTrace { .. })))));
    let caught = std::panic::catch_unwind(|| trace(|_x| -> Tensor { panic!("model bug") }, &x()));
    assert!(caught.is_err());
    assert!(!tapir::is_tracing());
    assert!(trace(|x| x.relu(), &x()).is_ok());
}

#[test]
fn random_and_training_ops_are_refused_in_a_trace() {
    let err = trace(|x| x.dropout(0.5, true), &x()).unwrap_err();
    assert!(err.to_string().contains("dropout"), "{err}");
    let input = tch::Tensor::randn([2, 3, 4], (Kind::Float, Device::Cpu));
    let (m, v) = (
        Tensor::from(tch::Tensor::zeros([3], (Kind::Float, Device::Cpu))),
        Tensor::from(tch::Tensor::ones([3], (Kind::Float, Device::Cpu))),
    );
    let err = trace(|x| x.batch_norm(None, None, Some(&m), Some(&v), true, 0.1, 1e-5, false), &input).unwrap_err();
    assert!(err.to_string().contains("training mode"), "{err}");
}

#[test]
fn tensor_from_another_trace_is_an_error() {
    let stash = std::cell::RefCell::new(None);
    trace(
        |x| {
            let y = x.relu();
            *stash.borrow_mut() = Some(y.shallow_clone());
            y
        },
        &x(),
    )
    .unwrap();
    let old = stash.into_inner().unwrap();
    let err = trace(|x| x + &old, &x()).unwrap_err();
    assert!(err.to_string().contains("different trace"), "{err}");
}

#[test]
fn eager_mode_without_trace_never_panics() {
    let a = Tensor::from(x());
    let bad = a.matmul(&a); // [2,3] @ [2,3] fails
    assert!(bad.to_tch().is_err());
    assert!((&bad + 1.0).to_tch().is_err(), "errors carry through later ops");
    assert!(a.relu().to_tch().is_ok());
}

#[test]
fn save_writes_atomically_and_leaves_nothing_on_error() {
    let dir = std::env::temp_dir().join(format!("tapir-save-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let traced = trace(|x| x.relu(), &x()).unwrap();
    let path = dir.join("m.onnx");
    let n = traced.save_onnx(&path, &ExportOptions::default()).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), traced.to_onnx_bytes(&ExportOptions::default()).unwrap());
    assert_eq!(n as usize, std::fs::metadata(&path).unwrap().len() as usize);
    // Lowering error: nothing written.
    let input = tch::Tensor::randn([1, 1, 5, 5], (Kind::Float, Device::Cpu));
    let bad = trace(|x| x.adaptive_avg_pool2d([2, 2]), &input).unwrap();
    assert!(bad.save_onnx(dir.join("bad.onnx"), &ExportOptions::default()).is_err());
    // I/O error: missing folder; nothing written.
    assert!(traced.save_onnx(dir.join("missing/m.onnx"), &ExportOptions::default()).is_err());
    let mut left: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    left.sort();
    assert_eq!(left, vec![std::ffi::OsString::from("m.onnx")]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn traces_on_two_threads_are_independent() {
    let handles: Vec<_> = (0..2)
        .map(|i| {
            std::thread::spawn(move || {
                let input = tch::Tensor::randn([4, 4], (Kind::Float, Device::Cpu));
                let traced = trace(|x| if i == 0 { x.relu() } else { x.exp().sum(None) }, &input).unwrap();
                traced.graph().op_histogram().keys().map(|k| k.to_string()).collect::<Vec<_>>()
            })
        })
        .collect();
    let got: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(got, vec![vec!["relu".to_string()], vec!["exp".to_string(), "sum".to_string()]]);
}

#[test]
fn a_node_onnx_would_reject_is_an_export_error() {
    // LeakyRelu takes bfloat16 only from opset 16: below it, the export names the op, the opset
    // and the line instead of writing a model the ONNX checker rejects.
    let input = x().to_kind(Kind::BFloat16);
    let traced = trace(|x| x.leaky_relu_with_slope(0.1), &input).unwrap();
    let err = traced.to_onnx_bytes(&ExportOptions::with_opset(13)).unwrap_err().to_string();
    assert!(err.contains("leaky_relu") && err.contains("opset 13") && err.contains("tests/export.rs:"), "{err}");
    assert!(err.contains("input 0 of LeakyRelu is bf16"), "{err}");
    assert!(traced.to_onnx_bytes(&ExportOptions::with_opset(16)).is_ok());
}

#[test]
fn integer_fill_values_stay_exact() {
    // 2^53 + 1 has no f64: the fill must reach the ONNX constant as an int64.
    let big = (1i64 << 53) + 1;
    let input = tch::Tensor::from_slice(&[1i64, 7, 3, 9]);
    let traced = trace(|x| x.masked_fill(&x.gt(4), big), &input).unwrap();
    let want = tch::Tensor::from_slice(&[1i64, big, 3, big]);
    assert!(traced.eager_outputs()[0].equal(&want));
    for opset in [tapir::MIN_OPSET, 20, tapir::MAX_OPSET] {
        let bytes = traced.to_onnx_bytes(&ExportOptions::with_opset(opset)).unwrap();
        let got = tapir::testing::run_tract(&bytes, &[&input]).unwrap();
        assert!(got[0].equal(&want), "opset {opset}: {:?}", Vec::<i64>::try_from(&got[0]));
        let tol = tapir_conformance::Tolerance { atol: 0.0, rtol: 0.0 };
        tapir_conformance::save_for_python("export/int_fill", opset, &bytes, &[&input], traced.eager_outputs(), tol);
    }
}

#[test]
fn rust_numbers_keep_their_type_to_the_onnx_constant() {
    // Every op taking a Rust number keeps it as the caller typed it: an int64 next to an int64
    // tensor is exact in the ONNX constant (2^53 + 1 has no f64), a float makes the result float.
    let big = (1i64 << 53) + 1;
    let input = tch::Tensor::from_slice(&[1i64, 7, 3, 9]);
    let program = |x: &[Tensor]| {
        let x = &x[0];
        let shifted = x + big; // add
        vec![
            shifted.shallow_clone(),
            shifted.eq(big + 1),             // compare
            x.clamp_min(big),                // clamp
            x.maximum(big).sub(big - 1),     // maximum, sub
            x.clamp(big, big + 2).mul(1i64), // clamp both, mul
            x.add(0.5),                      // float scalar: a float result
        ]
    };
    let traced = trace_n(program, &[&input]).unwrap();
    let eager = traced.eager_outputs();
    assert!(eager[0].equal(&tch::Tensor::from_slice(&[big + 1, big + 7, big + 3, big + 9])));
    assert!(eager[2].equal(&tch::Tensor::from_slice(&[big; 4])));
    assert_eq!(eager[5].kind(), Kind::Float);
    for opset in [tapir::MIN_OPSET, 20, tapir::MAX_OPSET] {
        let bytes = traced.to_onnx_bytes(&ExportOptions::with_opset(opset)).unwrap();
        let got = tapir::testing::run_tract(&bytes, &[&input]).unwrap();
        for (k, (g, e)) in got.iter().zip(eager).enumerate() {
            assert!(g.equal(e), "opset {opset}, output {k}: {g:?} vs {e:?}");
        }
        let tol = tapir_conformance::Tolerance { atol: 0.0, rtol: 0.0 };
        tapir_conformance::save_for_python("export/typed_scalars", opset, &bytes, &[&input], eager, tol);
    }
}

#[test]
fn int64_square_exports_for_onnx_runtime() {
    // tract has no int64 kernel for the Square its optimizer makes of Mul(x, x); ONNX Runtime
    // runs the model (tests/check_models.py), exact.
    let input = tch::Tensor::from_slice(&[-3i64, 0, 7, 3_037_000_499]);
    let traced = trace(|x| x.square(), &input).unwrap();
    assert!(traced.eager_outputs()[0].equal(&tch::Tensor::from_slice(&[9i64, 0, 49, 9_223_372_030_926_249_001])));
    for opset in [tapir::MIN_OPSET, tapir::MAX_OPSET] {
        let bytes = traced.to_onnx_bytes(&ExportOptions::with_opset(opset)).unwrap();
        let tol = tapir_conformance::Tolerance { atol: 0.0, rtol: 0.0 };
        tapir_conformance::save_for_python("export/int_square", opset, &bytes, &[&input], traced.eager_outputs(), tol);
    }
}
