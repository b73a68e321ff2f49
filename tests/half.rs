//! Half-precision export (`ExportOptions::half_precision`): the zoo exported in float16 and
//! bfloat16, compared with eager float32 tch.
//!
//! float16 models run in ONNX Runtime here (its CPU provider computes the float16 ops it has no
//! kernel for in float32, rounding at every tensor) and in tract (except `Gemm`, which tract
//! 0.23 cannot translate in float16: "Output mismatch after rewiring expansion"). bfloat16
//! models have no CPU runtime (ONNX Runtime's CPU provider lacks bfloat16 `Relu`, `MatMul`,
//! `Gemm`; tract has no bfloat16 type), so `tests/check_models.py` runs them in ONNX's reference
//! evaluator (marked by a `runtime` file), after the ONNX checker. Tolerances are fractions of
//! the output's largest magnitude: 1e-2 for float16 (measured: up to 1.5e-3), 5e-2 for bfloat16
//! (measured: up to 3e-2 on the encoder, whose bfloat16 matrix products the reference evaluator
//! accumulates in bfloat16). A wrong graph is off by the output's own scale.

#![allow(clippy::unwrap_used)]

use prost::Message;
use tapir::onnx::proto::ModelProto;
use tapir::{Dim, ExportOptions, HalfPrecision, Tensor, Traced, Tracer};
use tapir_conformance::Tolerance;
use tch::nn::VarStore;
use tch::{Device, Kind};

const F16_TOL: f64 = 1e-2;
const BF16_TOL: f64 = 5e-2;

fn input(name: &str) -> tch::Tensor {
    match name {
        "encoder" => tch::Tensor::randint(1000, [2, 16], (Kind::Int64, Device::Cpu)),
        "lstm" => tch::Tensor::randn([2, 9, 64], (Kind::Float, Device::Cpu)),
        "mlp" => tch::Tensor::randn([4, 784], (Kind::Float, Device::Cpu)),
        _ => tch::Tensor::randn([2, 3, 64, 64], (Kind::Float, Device::Cpu)),
    }
}

fn zoo(name: &str) -> (Traced, tch::Tensor) {
    tch::manual_seed(5);
    let vs = VarStore::new(Device::Cpu);
    let model = tapir_zoo::build(name, &vs).unwrap();
    let x = input(name);
    let traced = Tracer::new().parameters(&vs).trace(|x| model.module.forward_t(&x[0], false), &[&x]).unwrap();
    (traced, x)
}

fn options(half: HalfPrecision, opset: i64) -> ExportOptions {
    ExportOptions { half_precision: Some(half), ..ExportOptions::with_opset(opset) }
}

/// Largest error of `got` against `want`, as a fraction of `want`'s largest magnitude (at least 1).
fn relative_error(got: &tch::Tensor, want: &tch::Tensor) -> f64 {
    let scale = want.abs().max().double_value(&[]).max(1.0);
    (got.to_kind(Kind::Float) - want.to_kind(Kind::Float)).abs().max().double_value(&[]) / scale
}

fn scale(t: &tch::Tensor) -> f64 {
    t.abs().max().double_value(&[]).max(1.0)
}

/// Marks a saved model for the reference evaluator in `tests/check_models.py`.
fn mark_reference(name: &str, opset: i64) {
    if let Some(dir) = tapir_conformance::check_dir() {
        std::fs::write(dir.join(name).join(format!("opset{opset}")).join("runtime"), "reference").unwrap();
    }
}

#[test]
fn zoo_in_float16_halves_the_file_and_matches_eager_in_onnxruntime_and_tract() {
    let mut tract_gaps = vec![];
    for name in ["mlp", "resnet18", "encoder", "lstm"] {
        let (traced, x) = zoo(name);
        let eager = &traced.eager_outputs()[0];
        for opset in [tapir::MIN_OPSET, 20, tapir::MAX_OPSET] {
            let full = traced.to_onnx_bytes(&ExportOptions::with_opset(opset)).unwrap();
            let bytes = traced.to_onnx_bytes(&options(HalfPrecision::float16(), opset)).unwrap();
            let ratio = bytes.len() as f64 / full.len() as f64;
            assert!(ratio < 0.52, "{name} @ {opset}: float16 file is {ratio:.3} of the float32 one");
            let ort =
                tapir::testing::run_onnxruntime(&bytes, &[&x]).unwrap_or_else(|e| panic!("{name} @ {opset}: {e}"));
            assert_eq!(ort[0].kind(), Kind::Float, "{name}: outputs stay float32");
            let err = relative_error(&ort[0], eager);
            assert!(err <= F16_TOL, "{name} @ {opset}: ONNX Runtime is {err:.2e} of scale from eager");
            match tapir::testing::run_tract(&bytes, &[&x]) {
                Ok(outs) => {
                    let err = relative_error(&outs[0], eager);
                    assert!(err <= F16_TOL, "{name} @ {opset}: tract is {err:.2e} of scale from eager");
                }
                Err(e) if e.contains("Gemm") && e.contains("Output mismatch") => tract_gaps.push(name),
                Err(e) => panic!("{name} @ {opset}: tract failed: {e}"),
            }
            let tol = Tolerance { atol: F16_TOL * scale(eager), rtol: 0.0 };
            tapir_conformance::save_for_python(
                &format!("half/{name}_f16"),
                opset,
                &bytes,
                &[&x],
                &[eager.shallow_clone()],
                tol,
            );
        }
    }
    // The encoder has no Gemm: tract checks at least one whole model.
    assert!(!tract_gaps.contains(&"encoder"));
}

#[test]
fn zoo_in_bfloat16_type_checks_and_matches_eager_in_the_reference_evaluator() {
    for name in ["mlp", "resnet18", "encoder", "lstm"] {
        let (traced, x) = zoo(name);
        let eager = &traced.eager_outputs()[0];
        // Conv and LSTM take bfloat16 from opset 22: before it, they stay float32.
        for (opset, max_ratio) in [(20, 1.0), (22, 0.52), (tapir::MAX_OPSET, 0.52)] {
            let full = traced.to_onnx_bytes(&ExportOptions::with_opset(opset)).unwrap();
            let bytes = traced.to_onnx_bytes(&options(HalfPrecision::bfloat16(), opset)).unwrap();
            let ratio = bytes.len() as f64 / full.len() as f64;
            let max_ratio = if name == "resnet18" || name == "lstm" { max_ratio } else { 0.52 };
            assert!(ratio < max_ratio, "{name} @ {opset}: bfloat16 file is {ratio:.3} of the float32 one");
            let tol = Tolerance { atol: BF16_TOL * scale(eager), rtol: 0.0 };
            let dir = format!("half/{name}_bf16");
            tapir_conformance::save_for_python(&dir, opset, &bytes, &[&x], &[eager.shallow_clone()], tol);
            mark_reference(&dir, opset);
        }
    }
}

fn decode(bytes: &[u8]) -> ModelProto {
    ModelProto::decode(bytes).unwrap()
}

#[test]
fn normalizations_and_softmax_stay_float32() {
    let (traced, x) = zoo("encoder");
    let bytes = traced.to_onnx_bytes(&options(HalfPrecision::float16(), 20)).unwrap();
    let graph = decode(&bytes).graph.unwrap();
    let f32_code = tapir::DType::F32.onnx_code();
    let f16_code = tapir::DType::F16.onnx_code();
    let cast_to = |value: &str| {
        graph
            .node
            .iter()
            .find(|n| n.output.iter().any(|o| o == value) && n.op_type() == "Cast")
            .map(|n| n.attribute[0].i())
    };
    let init_type = |value: &str| graph.initializer.iter().find(|i| i.name() == value).map(|i| i.data_type());
    let softmaxes: Vec<_> = graph.node.iter().filter(|n| n.op_type() == "Softmax").collect();
    assert!(!softmaxes.is_empty());
    for n in softmaxes {
        assert_eq!(cast_to(&n.input[0]), Some(f32_code as i64), "softmax input is cast up to float32");
    }
    let norms: Vec<_> = graph.node.iter().filter(|n| n.op_type() == "LayerNormalization").collect();
    assert!(!norms.is_empty());
    for n in norms {
        assert_eq!(init_type(&n.input[1]), Some(f32_code), "layer norm weights stay float32");
    }
    let matmul_weights = graph.node.iter().filter(|n| n.op_type() == "MatMul").filter_map(|n| init_type(&n.input[1]));
    assert!(matmul_weights.clone().count() > 0 && matmul_weights.into_iter().all(|t| t == f16_code));
    let meta = decode(&bytes).metadata_props.into_iter().find(|p| p.key() == "tapir.half_precision").unwrap();
    assert!(meta.value().starts_with("f16; inputs and outputs float32"), "{}", meta.value());
    // With the float32 list emptied, layer norm runs in float16 (Softmax nodes stay float32).
    let all_half = HalfPrecision { float32_ops: vec![], ..HalfPrecision::float16() };
    let bytes = traced.to_onnx_bytes(&options(all_half, 20)).unwrap();
    let graph = decode(&bytes).graph.unwrap();
    let ln = graph.node.iter().find(|n| n.op_type() == "LayerNormalization").unwrap();
    let ln_weight = graph.initializer.iter().find(|i| i.name() == ln.input[1]).unwrap();
    assert_eq!(ln_weight.data_type(), f16_code);
    let out = tapir::testing::run_onnxruntime(&bytes, &[&x]).unwrap();
    assert!(relative_error(&out[0], &traced.eager_outputs()[0]) <= F16_TOL);
}

#[test]
fn float16_inputs_and_outputs_and_dynamic_batch() {
    tch::manual_seed(3);
    let w = Tensor::from(tch::Tensor::randn([16, 8], (Kind::Float, Device::Cpu)));
    let model = |x: &[Tensor]| x[0].matmul(&w).relu().softmax(-1, None::<Kind>);
    let x = tch::Tensor::randn([4, 16], (Kind::Float, Device::Cpu));
    let traced = Tracer::new().dynamic_dim("input", 0, Dim::new("batch")).trace(model, &[&x]).unwrap();
    let half = HalfPrecision { keep_io_float32: false, ..HalfPrecision::float16() };
    let bytes = traced.to_onnx_bytes(&options(half, 20)).unwrap();
    let graph = decode(&bytes).graph.unwrap();
    let elem = |v: &tapir::onnx::proto::ValueInfoProto| match v.r#type.as_ref().unwrap().value.as_ref().unwrap() {
        tapir::onnx::proto::type_proto::Value::TensorType(t) => t.elem_type(),
    };
    assert_eq!(elem(&graph.input[0]), tapir::DType::F16.onnx_code());
    assert_eq!(elem(&graph.output[0]), tapir::DType::F16.onnx_code());
    for batch in [1, 4, 9] {
        let x = tch::Tensor::randn([batch, 16], (Kind::Float, Device::Cpu));
        let eager = model(&[Tensor::from(&x)]).to_tch().unwrap();
        let xh = x.to_kind(Kind::Half);
        let out = tapir::testing::run_onnxruntime(&bytes, &[&xh]).unwrap();
        assert_eq!(out[0].kind(), Kind::Half);
        assert_eq!(out[0].size(), [batch, 8]);
        let err = relative_error(&out[0], &eager);
        assert!(err <= F16_TOL, "batch {batch}: {err:.2e}");
        let tract = tapir::testing::run_tract(&bytes, &[&xh]).unwrap();
        assert!(relative_error(&tract[0], &eager) <= F16_TOL);
        if batch == 4 {
            let tol = Tolerance { atol: F16_TOL, rtol: 0.0 };
            let want = eager.to_kind(Kind::Half);
            tapir_conformance::save_for_python("half/f16_io", 20, &bytes, &[&xh], &[want], tol);
        }
    }
}

#[test]
fn what_cannot_be_converted_is_an_error() {
    let x = tch::Tensor::randn([2, 3], (Kind::Float, Device::Cpu));
    let traced = tapir::trace(|x| x.relu(), &x).unwrap();
    let wrong = HalfPrecision { dtype: tapir::DType::I64, ..HalfPrecision::float16() };
    let err = traced.to_onnx_bytes(&options(wrong, 20)).unwrap_err().to_string();
    assert!(err.contains("half_precision.dtype must be f16 or bf16, given i64"), "{err}");
    // A custom-domain node: tapir cannot know its output dtypes, so it cannot place casts.
    let custom = options(HalfPrecision::float16(), 20).lower_with("relu", |_op, cx| {
        let x = cx.input(0);
        tapir::op::emit::one(cx.domain_node("com.example", 1, "MyRelu", &[x], vec![], 1)[0])
    });
    let err = traced.to_onnx_bytes(&custom).unwrap_err().to_string();
    assert!(err.contains("relu") && err.contains("custom-domain node `com.example.MyRelu`"), "{err}");
    assert!(err.contains("opset 20"), "{err}");
    // The same export without conversion works.
    let custom = ExportOptions::with_opset(20).lower_with("relu", |_op, cx| {
        let x = cx.input(0);
        tapir::op::emit::one(cx.domain_node("com.example", 1, "MyRelu", &[x], vec![], 1)[0])
    });
    assert!(traced.to_onnx_bytes(&custom).is_ok());
}

/// A graph output that other nodes also read, with a float32-kept op (var) among its readers:
/// the readers take the half-precision value through a cast, the output is cast once.
#[test]
fn an_output_read_inside_the_graph_is_cast_for_its_readers() {
    let x = tch::Tensor::randn([2, 3, 4], (Kind::Float, Device::Cpu));
    let f = |x: &[Tensor]| {
        let h = (&x[0] * 0.5).tanh();
        let v = h.var_correction([0i64], 1, true);
        vec![&h + &v.mean(None::<Kind>), h]
    };
    let traced = Tracer::new().trace(f, &[&x]).unwrap();
    for opset in [13, 20] {
        let bytes = traced.to_onnx_bytes(&options(HalfPrecision::float16(), opset)).unwrap();
        let outs = tapir::testing::run_onnxruntime(&bytes, &[&x]).unwrap();
        for (got, want) in outs.iter().zip(traced.eager_outputs()) {
            assert!(relative_error(got, want) <= F16_TOL);
        }
    }
}

/// Converted weights stream to an external data file too (half the bytes), and the model read
/// back from its path matches eager.
#[test]
fn half_precision_with_external_data() {
    let (traced, x) = zoo("encoder");
    let dir = std::env::temp_dir().join(format!("tapir-half-external-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sizes: Vec<u64> = [None, Some(HalfPrecision::float16())]
        .into_iter()
        .map(|half| {
            let path = dir.join(if half.is_some() { "f16.onnx" } else { "f32.onnx" });
            let options = ExportOptions {
                half_precision: half.clone(),
                external_data: tapir::ExternalData::Always,
                ..ExportOptions::with_opset(20)
            };
            traced.save_onnx(&path, &options).unwrap();
            let outs = tapir::testing::run_tract_file(&path, &[&x]).unwrap();
            let tol = if half.is_some() { F16_TOL } else { 1e-4 };
            assert!(relative_error(&outs[0], &traced.eager_outputs()[0]) <= tol);
            std::fs::metadata(dir.join(format!("{}.data", path.file_name().unwrap().to_str().unwrap()))).unwrap().len()
        })
        .collect();
    let ratio = sizes[1] as f64 / sizes[0] as f64;
    assert!((0.45..0.55).contains(&ratio), "external data {} vs {} bytes", sizes[1], sizes[0]);
    std::fs::remove_dir_all(&dir).unwrap();
}
