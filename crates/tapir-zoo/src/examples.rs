//! Example models written on `tapir::Tensor` with weights in a tch `VarStore`: an MLP, a small
//! CNN (conv, batch norm, relu, pooling, linear) and a pre-norm attention block. The demo exports
//! them (`tapir demo`); the conformance tests and benches check them.

use tapir::Tensor;
use tch::nn::{Init, Path, VarStore};
use tch::{Device, Kind};

/// A parameter as a traced-op operand.
pub fn param(p: &Path, name: &str, shape: &[i64]) -> Tensor {
    Tensor::from(p.var(name, shape, Init::Randn { mean: 0.0, stdev: 0.2 }))
}

#[derive(Debug)]
pub struct Linear {
    w: Tensor,
    b: Tensor,
}

impl Linear {
    pub fn new(p: Path, i: i64, o: i64) -> Self {
        Linear { w: param(&p, "weight", &[o, i]), b: param(&p, "bias", &[o]) }
    }
    pub fn forward(&self, x: &Tensor) -> Tensor {
        x.linear(&self.w, Some(&self.b))
    }
}

/// An MLP 32 -> 64 -> 64 -> 10 with ReLU, named like `nn.Sequential` (`0.weight`, `2.weight`, ...).
pub fn mlp(vs: &VarStore) -> impl Fn(&Tensor) -> Tensor {
    let root = vs.root();
    let (l1, l2, l3) =
        (Linear::new(&root / "0", 32, 64), Linear::new(&root / "2", 64, 64), Linear::new(&root / "4", 64, 10));
    move |x| l3.forward(&l2.forward(&l1.forward(x).relu()).relu())
}

/// A non-trainable VarStore entry (a batch-norm statistic) holding `value`.
pub fn buffer(p: &Path, name: &str, value: tch::Tensor) -> tch::Tensor {
    let mut b = p.zeros_no_train(name, &value.size());
    tch::no_grad(|| b.copy_(&value));
    b
}

#[derive(Debug)]
pub struct ConvBnRelu {
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
        x.conv2d(&self.w, None::<&Tensor>, [1], [1], [1], 1)
            .batch_norm(Some(&self.gamma), Some(&self.beta), Some(&self.mean), Some(&self.var), false, 0.1, 1e-5, false)
            .relu()
    }
}

/// Multi-head self-attention with a pre-norm residual and a GELU feed-forward, written with
/// first-wave ops only.
#[derive(Debug)]
pub struct AttentionBlock {
    heads: i64,
    norm_w: Tensor,
    norm_b: Tensor,
    qkv: Linear,
    out: Linear,
    ff1: Linear,
    ff2: Linear,
}

impl AttentionBlock {
    pub fn new(p: Path, dim: i64, heads: i64) -> Self {
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

    /// `x`: `[batch, time, dim]`; `mask`: broadcastable to `[batch, heads, time, time]`, 1 = attend.
    pub fn forward(&self, x: &Tensor, mask: &Tensor) -> Tensor {
        let (b, t, d) = match x.sym_size3() {
            Ok(s) => s,
            Err(e) => return Tensor::from_error(e),
        };
        // The model dimension is static (the weights fix it); batch and time may be dynamic.
        let d = d.as_static().unwrap_or_else(|| d.to_i64());
        let hd = d / self.heads;
        let h = x.layer_norm([d], Some(&self.norm_w), Some(&self.norm_b), 1e-5, false);
        let qkv = self.qkv.forward(&h).reshape((b, t, 3, self.heads, hd)).permute([2, 0, 3, 1, 4]);
        let (q, k, v) = (qkv.select(0, 0), qkv.select(0, 1), qkv.select(0, 2));
        let scores = q.matmul(&k.transpose(-2, -1)) / (hd as f64).sqrt();
        let scores = scores.masked_fill(&mask.eq(0), f64::NEG_INFINITY);
        let attn = scores.softmax(-1, None).matmul(&v).transpose(1, 2).reshape((b, t, d));
        let x = x + &self.out.forward(&attn);
        let ff = self.ff2.forward(&self.ff1.forward(&x).gelu("none"));
        &x + &ff
    }
}

/// The small CNN: two conv-bn-relu blocks with max and average pooling, global pooling, a head.
#[derive(Debug)]
pub struct SmallCnn {
    b1: ConvBnRelu,
    b2: ConvBnRelu,
    head: Linear,
}

impl SmallCnn {
    pub fn new(p: Path, classes: i64) -> Self {
        SmallCnn {
            b1: ConvBnRelu::new(&p / "block1", 3, 8),
            b2: ConvBnRelu::new(&p / "block2", 8, 16),
            head: Linear::new(&p / "fc", 16, classes),
        }
    }

    pub fn forward(&self, x: &Tensor) -> Tensor {
        let h = self.b1.forward(x).max_pool2d([2], [], [], [], false);
        let h = self.b2.forward(&h).avg_pool2d([2, 2], [], [], false, true, None);
        self.head.forward(&h.adaptive_avg_pool2d([1, 1]).flatten(1, -1))
    }
}

/// A causal mask `[1, 1, t, t]` (1 = attend) for [`AttentionBlock::forward`].
pub fn causal_mask(t: i64) -> tch::Tensor {
    tch::Tensor::ones([t, t], (Kind::Int64, Device::Cpu)).tril(0).reshape([1, 1, t, t])
}
