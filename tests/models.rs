//! Whole models, with random weights in a tch VarStore: an MLP, a small CNN, an attention block.
//! Each is traced, exported at every opset, checked in tract and saved for ONNX Runtime and the
//! ONNX checker.

#![allow(clippy::unwrap_used)]

use tapir::{Tensor, Tracer};
use tapir_conformance::{all_opsets, check, Tolerance};
use tch::nn::{Init, Path, VarStore};
use tch::{Device, Kind};

/// A parameter as a traced-op operand.
fn param(p: &Path, name: &str, shape: &[i64]) -> Tensor {
    Tensor::from(p.var(name, shape, Init::Randn { mean: 0.0, stdev: 0.2 }))
}

struct Linear {
    w: Tensor,
    b: Tensor,
}

impl Linear {
    fn new(p: Path, i: i64, o: i64) -> Self {
        Linear { w: param(&p, "weight", &[o, i]), b: param(&p, "bias", &[o]) }
    }
    fn forward(&self, x: &Tensor) -> Tensor {
        x.linear(&self.w, Some(&self.b))
    }
}

fn mlp(vs: &VarStore) -> impl Fn(&Tensor) -> Tensor {
    let root = vs.root();
    let (l1, l2, l3) = (Linear::new(&root / "0", 32, 64), Linear::new(&root / "2", 64, 64), Linear::new(&root / "4", 64, 10));
    move |x| l3.forward(&l2.forward(&l1.forward(x).relu()).relu())
}

#[test]
fn mlp_exports() {
    tch::manual_seed(1);
    let vs = VarStore::new(Device::Cpu);
    let model = mlp(&vs);
    let x = tch::Tensor::randn([8, 32], (Kind::Float, Device::Cpu));
    let traced = Tracer::new().parameters(&vs).trace(|x| model(&x[0]), &[&x]).unwrap();
    assert!(traced.unnamed_captures().is_empty(), "{:?}", traced.unnamed_captures());
    check("models/mlp", &traced, &[&x], all_opsets(), None);
}

/// A non-trainable VarStore entry (a batch-norm statistic) holding `value`.
fn buffer(p: &Path, name: &str, value: tch::Tensor) -> tch::Tensor {
    let mut b = p.zeros_no_train(name, &value.size());
    tch::no_grad(|| b.copy_(&value));
    b
}

struct ConvBnRelu {
    w: Tensor,
    gamma: Tensor,
    beta: Tensor,
    mean: Tensor,
    var: Tensor,
}

impl ConvBnRelu {
    fn new(p: Path, i: i64, o: i64) -> Self {
        let bn = &p / "bn";
        ConvBnRelu {
            w: param(&(&p / "conv"), "weight", &[o, i, 3, 3]),
            gamma: param(&bn, "weight", &[o]),
            beta: param(&bn, "bias", &[o]),
            mean: Tensor::from(buffer(&bn, "running_mean", tch::Tensor::randn([o], (Kind::Float, Device::Cpu)) * 0.1)),
            var: Tensor::from(buffer(&bn, "running_var", tch::Tensor::rand([o], (Kind::Float, Device::Cpu)) + 0.5)),
        }
    }
    fn forward(&self, x: &Tensor) -> Tensor {
        x.conv2d(&self.w, None, &[1], &[1], &[1], 1)
            .batch_norm(Some(&self.gamma), Some(&self.beta), &self.mean, &self.var, false, 0.1, 1e-5)
            .relu()
    }
}

#[test]
fn small_cnn_exports() {
    tch::manual_seed(2);
    let vs = VarStore::new(Device::Cpu);
    let root = vs.root();
    let (b1, b2) = (ConvBnRelu::new(&root / "block1", 3, 8), ConvBnRelu::new(&root / "block2", 8, 16));
    let head = Linear::new(&root / "fc", 16, 10);
    let x = tch::Tensor::randn([2, 3, 16, 16], (Kind::Float, Device::Cpu));
    let traced = Tracer::new()
        .parameters(&vs)
        .input_names(["image"])
        .output_names(["logits"])
        .trace(
            |x| {
                let h = b1.forward(&x[0]).max_pool2d(&[2], &[], &[], &[], false);
                let h = b2.forward(&h).avg_pool2d(&[2, 2], &[], &[], false, true, None);
                head.forward(&h.adaptive_avg_pool2d([1, 1]).flatten(1, -1))
            },
            &[&x],
        )
        .unwrap();
    assert!(traced.unnamed_captures().is_empty());
    let bytes = traced.to_onnx_bytes(&tapir::ExportOptions::default()).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("block1.conv.weight") && text.contains("block2.bn.running_var"), "initializers carry VarStore paths");
    check("models/small_cnn", &traced, &[&x], all_opsets(), Some(Tolerance { atol: 1e-4, rtol: 1e-4 }));
}

/// Multi-head self-attention with a pre-norm residual and a GELU feed-forward, written with
/// first-wave ops only.
struct AttentionBlock {
    heads: i64,
    norm_w: Tensor,
    norm_b: Tensor,
    qkv: Linear,
    out: Linear,
    ff1: Linear,
    ff2: Linear,
}

impl AttentionBlock {
    fn new(p: Path, dim: i64, heads: i64) -> Self {
        AttentionBlock {
            heads,
            norm_w: param(&(&p / "norm"), "weight", &[dim]),
            norm_b: param(&(&p / "norm"), "bias", &[dim]),
            qkv: Linear::new(&p / "qkv", dim, 3 * dim),
            out: Linear::new(&p / "out", dim, dim),
            ff1: Linear::new(&p / "ff1", dim, 4 * dim),
            ff2: Linear::new(&p / "ff2", 4 * dim, dim),
        }
    }

    fn forward(&self, x: &Tensor, mask: &Tensor) -> Tensor {
        let (b, t, d) = { let s = x.size(); (s[0], s[1], s[2]) };
        let hd = d / self.heads;
        let h = x.layer_norm(&[d], Some(&self.norm_w), Some(&self.norm_b), 1e-5);
        let qkv = self.qkv.forward(&h).reshape(&[b, t, 3, self.heads, hd]).permute(&[2, 0, 3, 1, 4]);
        let (q, k, v) = (qkv.select(0, 0), qkv.select(0, 1), qkv.select(0, 2));
        let scores = q.matmul(&k.transpose(-2, -1)) / (hd as f64).sqrt();
        let scores = scores.masked_fill(&mask.eq(0), f64::NEG_INFINITY);
        let attn = scores.softmax(-1).matmul(&v).transpose(1, 2).reshape(&[b, t, d]);
        let x = x + &self.out.forward(&attn);
        let ff = self.ff2.forward(&self.ff1.forward(&x).gelu("none"));
        &x + &ff
    }
}

#[test]
fn attention_block_exports() {
    tch::manual_seed(3);
    let vs = VarStore::new(Device::Cpu);
    let block = AttentionBlock::new(vs.root() / "block", 32, 4);
    let x = tch::Tensor::randn([2, 6, 32], (Kind::Float, Device::Cpu));
    // Causal mask, [1, 1, T, T], 1 = attend.
    let mask = tch::Tensor::ones([6, 6], (Kind::Int64, Device::Cpu)).tril(0).reshape([1, 1, 6, 6]);
    let traced = Tracer::new()
        .parameters(&vs)
        .input_names(["x", "mask"])
        .trace(|i| block.forward(&i[0], &i[1]), &[&x, &mask])
        .unwrap();
    check("models/attention", &traced, &[&x, &mask], all_opsets(), Some(Tolerance { atol: 1e-4, rtol: 1e-4 }));
}
