//! Every layer on inputs of every rank from 0 to 5 and on a tensor whose op failed, inside a
//! trace and outside: never a panic; a failed input's error is the one reported; a layer left in
//! train mode is refused with an error, not a panic.

#![allow(clippy::unwrap_used)]

use tapir::{Tensor, Tracer};
use tapir_nn::*;
use tch::nn::VarStore;
use tch::{Device, Kind};

type Layer<'a> = (&'static str, Box<dyn Fn(&Tensor) -> Tensor + 'a>);

fn layers(vs: &VarStore) -> Vec<Layer<'_>> {
    let root = vs.root();
    let seq = || Sequential::new().add(Linear::new(&root / "seq" / "0", 4, 4)).add(ReLU);
    let lstm = Lstm::new(&root / "lstm", 4, 4, 1, false, true);
    let gru = Gru::new(&root / "gru", 4, 4, 1, true, false);
    let mha = MultiheadAttention::new(&root / "mha", 4, 2);
    let layer = TransformerEncoderLayer::new(&root / "enc", 4, 2, 8, Activation::Gelu, false);
    let encoder = TransformerEncoder::new(&root / "encoder", 1, |p| {
        TransformerEncoderLayer::new(p, 4, 2, 8, Activation::Relu, true)
    });
    let list: Vec<(&'static str, Box<dyn ModuleT>)> = vec![
        ("linear", Box::new(Linear::new(&root / "linear", 4, 4))),
        ("conv1d", Box::new(Conv1d::new(&root / "conv1d", 4, 4, 1, ConvConfig::default()))),
        ("conv2d", Box::new(Conv2d::new(&root / "conv2d", 4, 4, 1, ConvConfig::default()))),
        ("conv_transpose2d", Box::new(ConvTranspose2d::new(&root / "convt", 4, 4, 1, ConvConfig::default(), 0))),
        ("batch_norm", Box::new(BatchNorm::new(&root / "bn", 4))),
        ("layer_norm", Box::new(LayerNorm::new(&root / "ln", &[4], 1e-5))),
        ("group_norm", Box::new(GroupNorm::new(&root / "gn", 2, 4, 1e-5))),
        ("embedding", Box::new(Embedding::new(&root / "emb", 10, 4))),
        ("dropout", Box::new(Dropout::new(0.1))),
        ("max_pool2d", Box::new(MaxPool2d { kernel: 1, stride: 1, padding: 0 })),
        ("avg_pool2d", Box::new(AvgPool2d { kernel: 1, stride: 1, padding: 0 })),
        ("adaptive_avg_pool2d", Box::new(AdaptiveAvgPool2d { output: [1, 1] })),
        ("relu", Box::new(ReLU)),
        ("gelu", Box::new(GELU { tanh: true })),
        ("sequential", Box::new(seq())),
        ("multihead_attention", Box::new(mha)),
        ("transformer_encoder_layer", Box::new(layer)),
        ("transformer_encoder", Box::new(encoder)),
    ];
    let mut out: Vec<Layer<'_>> = list
        .into_iter()
        .map(|(name, m)| (name, Box::new(move |x: &Tensor| m.forward_t(x, false)) as Box<dyn Fn(&Tensor) -> Tensor>))
        .collect();
    let attention = |fused: bool| {
        let a = &root / if fused { "fused_attn" } else { "attn" };
        let config = AttentionConfig::new(4, 2).causal().rotary(10000.0);
        if fused {
            SelfAttention::fused(HfConv1D::new(&a / "c_attn", 4, 12), Linear::new(&a / "out", 4, 4), config)
        } else {
            let l = |n: &str| Linear::new(&a / n, 4, 4);
            SelfAttention::separate(l("q"), l("k"), l("v"), l("o"), config)
        }
    };
    let (separate, fused) = (attention(false), attention(true));
    out.push(("self_attention", Box::new(move |x: &Tensor| separate.forward(x))));
    out.push(("self_attention_fused", Box::new(move |x: &Tensor| fused.forward(x))));
    let rotary = RotaryEmbedding::new(4, 10000.0);
    out.push(("rotary_embedding", Box::new(move |x: &Tensor| rotary.apply(x))));
    out.push(("lstm", Box::new(move |x: &Tensor| lstm.forward(x, None).0)));
    out.push(("gru", Box::new(move |x: &Tensor| gru.forward(x, None).0)));
    out
}

fn input(rank: usize) -> tch::Tensor {
    let shape = vec![4i64; rank];
    tch::Tensor::randn(shape.as_slice(), (Kind::Float, Device::Cpu))
}

#[test]
fn layers_on_every_rank_never_panic() {
    let vs = VarStore::new(Device::Cpu);
    for (name, layer) in layers(&vs) {
        for rank in 0..=5 {
            let x = input(rank);
            // Eagerly: a value or a carried error.
            let eager = layer(&Tensor::from(&x));
            if let Err(e) = eager.to_tch() {
                assert!(!e.to_string().is_empty(), "{name} rank {rank}");
            }
            // Traced: a graph or an error naming where it happened.
            if let Err(e) = Tracer::new().trace(|x| layer(&x[0]), &[&x]) {
                let msg = e.to_string();
                assert!(msg.contains(" at ") || msg.contains("trace"), "{name} rank {rank}: {msg}");
            }
        }
    }
}

#[test]
fn layers_after_a_failed_op_report_that_op() {
    let vs = VarStore::new(Device::Cpu);
    let x = input(3);
    for (name, layer) in layers(&vs) {
        let err = Tracer::new()
            .trace(
                |x| {
                    let failed = x[0].matmul(&x[0].reshape([2, -1])); // [4,4,4] @ [2,32] fails
                    layer(&failed)
                },
                &[&x],
            )
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("`matmul`") && msg.contains("tests/misuse.rs:"), "{name}: {msg}");
        let eager = layer(&Tensor::from(&x).matmul(&Tensor::from(&x).reshape([2, -1])));
        assert!(eager.to_tch().unwrap_err().to_string().contains("`matmul`"), "{name}");
    }
}

#[test]
fn attention_and_rnn_name_the_callers_line_on_a_wrong_rank() {
    let vs = VarStore::new(Device::Cpu);
    let mha = MultiheadAttention::new(vs.root() / "mha", 4, 2);
    let lstm = Lstm::new(vs.root() / "lstm", 4, 4, 1, false, true);
    let x = input(2);
    let err = Tracer::new().trace(|x| mha.forward(&x[0]), &[&x]).unwrap_err().to_string();
    assert!(err.contains("3 dimension") && err.contains("[4, 4]"), "{err}");
    let err = Tracer::new().trace(|x| mha.attend(&x[0], &x[0], &x[0], None, None), &[&x]).unwrap_err().to_string();
    assert!(err.contains("3 dimension") && err.contains("tests/misuse.rs:"), "{err}");
    let err = Tracer::new().trace(|x| lstm.forward(&x[0], None).0, &[&x]).unwrap_err().to_string();
    assert!(err.contains("3 dimension") && err.contains("tests/misuse.rs:"), "{err}");
}

#[test]
fn a_layer_run_in_train_mode_in_a_trace_is_an_error_not_a_panic() {
    let vs = VarStore::new(Device::Cpu);
    let layer = TransformerEncoderLayer::new(vs.root() / "enc", 4, 2, 8, Activation::Gelu, false);
    let x = input(3);
    let err = Tracer::new().trace(|x| layer.forward_t(&x[0], true), &[&x]).unwrap_err().to_string();
    assert!(err.contains("dropout"), "{err}");
}

#[test]
fn train_or_eval_is_chosen_per_call_as_in_tch() {
    // A BatchNorm inside a closure, a Sequential or apply_t takes the flag of the call: nothing
    // starts in train mode, and a closure passes the flag on.
    let vs = VarStore::new(Device::Cpu);
    let root = vs.root();
    let net = seq_t()
        .add(Linear::new(&root / "0", 4, 4))
        .add(BatchNorm::new(&root / "1", 4))
        .add_fn(|x| x.relu())
        .add(Dropout::new(0.5));
    let x = input(2);
    let traced = Tracer::new().parameters(&vs).trace(|x| x[0].apply_t(&net, false), &[&x]).unwrap();
    assert_eq!(traced.graph().op_histogram().get("batch_norm"), Some(&1));
    let in_closure = tapir::func_t(|x, train| net.forward_t(&(x * 2.0), train));
    assert!(Tracer::new().trace(|x| x[0].apply_t(&in_closure, false), &[&x]).is_ok());
    let err = Tracer::new().trace(|x| x[0].apply_t(&in_closure, true), &[&x]).unwrap_err().to_string();
    assert!(err.contains("batch_norm") || err.contains("dropout"), "{err}");
    // Eager training still works: batch statistics update the running ones.
    let before = tch::no_grad(|| vs.variables()["1.running_mean"].copy());
    let _ = Tensor::from(&x).apply_t(&net, true);
    assert!(!vs.variables()["1.running_mean"].equal(&before), "train mode updates running stats");
}
