//! The three ways to extend tapir, exported at every opset and run in tract and ONNX Runtime
//! (through `tests/check_models.py`, which reads what `TAPIR_CHECK_DIR` collects) against
//! eager tch.

#![allow(clippy::unwrap_used)]

use custom_ops::{cosine_similarity, fast_gelu, gelu_without_gelu_op};
use prost::Message;
use tapir::onnx::proto::ModelProto;
use tapir::testing::{all_opsets, check, check_with, save_for_python, Tolerance};
use tapir::{ExportOptions, Tensor, Tracer};
use tch::{Device, Kind};

fn randn(shape: &[i64]) -> tch::Tensor {
    tch::Tensor::randn(shape, (Kind::Float, Device::Cpu))
}

fn op_types(bytes: &[u8]) -> Vec<(String, String)> {
    let model = ModelProto::decode(bytes).unwrap();
    let graph = model.graph.unwrap();
    graph.node.iter().map(|n| (n.domain.clone().unwrap_or_default(), n.op_type.clone().unwrap_or_default())).collect()
}

#[test]
fn a_new_op_exports_and_matches_eager() {
    tch::manual_seed(0);
    let (a, b) = (randn(&[3, 7]), randn(&[1, 7]));
    // A zero row: its norm is below eps, as torch clamps it.
    let _ = a.get(1).zero_();
    let traced = Tracer::new()
        .trace(
            |x: &[Tensor]| vec![cosine_similarity(&x[0], &x[1], 1, 1e-8), cosine_similarity(&x[0], &x[0], -2, 1e-6)],
            &[&a, &b],
        )
        .unwrap();
    assert_eq!(traced.graph().op_histogram().get("cosine_similarity"), Some(&2));
    check("custom_ops/cosine_similarity", &traced, &[&a, &b], all_opsets(), None);
}

#[test]
fn a_new_op_reports_errors_at_the_callers_line() {
    let (a, b) = (randn(&[3, 7]), randn(&[3, 5]));
    let err = Tracer::new()
        .trace(|x: &[Tensor]| cosine_similarity(&x[0], &x[1], 1, 1e-8), &[&a, &b])
        .unwrap_err()
        .to_string();
    assert!(err.contains("cosine_similarity"), "{err}");
    // The user's line, not the library's: `cosine_similarity` is `#[track_caller]`.
    assert!(err.contains("tests/custom_ops.rs:"), "{err}");
}

#[test]
fn a_custom_domain_is_imported_and_runs_in_onnx_runtime() {
    tch::manual_seed(1);
    let x = randn(&[4, 16]);
    let traced = Tracer::new().trace(|x: &[Tensor]| fast_gelu(&(&x[0] * 2.0)), &[&x]).unwrap();
    for opset in all_opsets() {
        let bytes = traced.to_onnx_bytes(&ExportOptions::with_opset(opset)).unwrap();
        let model = ModelProto::decode(bytes.as_slice()).unwrap();
        let imports: Vec<(String, i64)> =
            model.opset_import.iter().map(|o| (o.domain.clone().unwrap_or_default(), o.version.unwrap())).collect();
        assert_eq!(imports, vec![(String::new(), opset), ("com.microsoft".to_owned(), 1)]);
        assert!(op_types(&bytes).contains(&("com.microsoft".to_owned(), "FastGelu".to_owned())));
        // tract has no com.microsoft ops; ONNX Runtime runs it (tests/check_models.py).
        save_for_python(
            "custom_ops/fast_gelu",
            opset,
            &bytes,
            &[&x],
            traced.eager_outputs(),
            Tolerance::for_kind(Kind::Float),
        );
    }
}

#[test]
fn importing_one_domain_at_two_versions_is_an_error() {
    #[derive(Debug)]
    struct Twice;
    impl tapir::op::OpDef for Twice {
        type Output = tch::Tensor;
        fn name(&self) -> &'static str {
            "twice"
        }
        fn eager(&self, t: &[&tch::Tensor]) -> Result<tch::Tensor, tch::TchError> {
            Ok(t[0].shallow_clone())
        }
        fn lower(&self, cx: &mut dyn tapir::op::Emit) -> Result<tapir::op::Outputs, tapir::op::LowerError> {
            let x = cx.input(0);
            let y = cx.domain_node("com.example", 1, "Id", &[x], vec![], 1);
            Ok(cx.domain_node("com.example", 2, "Id", &[y[0]], vec![], 1))
        }
    }
    let x = randn(&[2]);
    let traced = Tracer::new().trace(|x: &[Tensor]| tapir::op::record(Twice, &[&x[0]]), &[&x]).unwrap();
    let err = traced.to_onnx_bytes(&ExportOptions::default()).unwrap_err().to_string();
    assert!(err.contains("`twice`") && err.contains("com.example"), "{err}");
}

#[test]
fn a_replaced_lowering_applies_to_one_export() {
    tch::manual_seed(2);
    let x = randn(&[3, 10]);
    let traced = Tracer::new().trace(|x: &[Tensor]| vec![x[0].gelu("none"), x[0].gelu("tanh")], &[&x]).unwrap();
    for opset in [20, 28] {
        let own = traced.to_onnx_bytes(&ExportOptions::with_opset(opset)).unwrap();
        assert!(op_types(&own).iter().any(|(_, t)| t == "Gelu"), "opset {opset} uses ONNX's Gelu");
        let replaced = traced.to_onnx_bytes(&gelu_without_gelu_op(opset)).unwrap();
        assert!(!op_types(&replaced).iter().any(|(_, t)| t == "Gelu"), "opset {opset}: the replacement was not used");
    }
    check_with("custom_ops/gelu_replaced", &traced, &[&x], all_opsets().map(gelu_without_gelu_op), None);
}

#[test]
fn a_replacement_that_emits_invalid_onnx_is_an_error() {
    let x = randn(&[3]);
    let traced = Tracer::new().trace(|x: &[Tensor]| x[0].relu(), &[&x]).unwrap();
    // Relu of an int64 constant: the schema check refuses the node, naming the op and opset.
    let options = ExportOptions::with_opset(17).lower_with("relu", |_, cx| {
        let wrong = cx.const_i64s(&[1, 2, 3]);
        tapir::op::emit::one(cx.node("Relu", &[wrong], vec![]))
    });
    let err = traced.to_onnx_bytes(&options).unwrap_err().to_string();
    assert!(err.contains("relu") && err.contains("17"), "{err}");
}
