//! The schema in `proto/onnx.proto` carries ONNX's field numbers and encodings: a model written by
//! PyTorch's exporter decodes and re-encodes byte for byte, and tapir's own output decodes with
//! the fields it wrote.

#![allow(clippy::unwrap_used)]

use prost::Message;
use tapir::onnx::proto::ModelProto;

#[test]
fn pytorch_model_round_trips_byte_for_byte() {
    // Written by tests/data/make_torch_fixture.py (torch.onnx.export, TorchScript exporter).
    let bytes = include_bytes!("data/torch_mlp.onnx");
    let model = ModelProto::decode(&bytes[..]).unwrap();
    let graph = model.graph.as_ref().unwrap();
    assert_eq!(graph.node.iter().filter_map(|n| n.op_type.as_deref()).collect::<Vec<_>>(), ["Gemm", "Relu", "Gemm"]);
    assert_eq!(model.opset_import[0].version, Some(17));
    assert_eq!(model.encode_to_vec(), bytes.to_vec());
}

#[test]
fn streamed_model_decodes_with_its_initializers() {
    let w = tapir::Tensor::from(tch::Tensor::from_slice(&[1.0f32, 2.0, 3.0, 4.0]).reshape([2, 2]));
    let input = tch::Tensor::ones([1, 2], (tch::Kind::Float, tch::Device::Cpu));
    let traced = tapir::trace(|x| x.matmul(&w), &input).unwrap();
    let bytes = traced.to_onnx_bytes(&tapir::ExportOptions::with_opset(18)).unwrap();
    let model = ModelProto::decode(&bytes[..]).unwrap();
    assert_eq!(model.ir_version, Some(8));
    let graph = model.graph.clone().unwrap();
    assert_eq!(graph.initializer.len(), 1);
    let raw = graph.initializer[0].raw_data.as_ref().unwrap();
    let floats: Vec<f32> = raw.chunks(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
    assert_eq!(floats, [1.0, 2.0, 3.0, 4.0]);
    assert_eq!(model.encode_to_vec().len(), bytes.len(), "the streamed layout has the same size as prost's");
}
