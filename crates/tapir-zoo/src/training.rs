//! A small CNN and a synthetic classification task, for the training example and test: the model
//! trains with `tch::nn::Adam` over its VarStore and exports mid-training without disturbing it.

use tapir::Tensor;
use tapir_nn::{BatchNorm, Conv2d, ConvConfig, Linear, Module, ModuleT};
use tch::{Device, Kind};

/// conv(1->8) - bn - relu - maxpool - conv(8->16) - bn - relu - global pool - linear(16->2).
#[derive(Debug)]
pub struct TinyCnn {
    conv1: Conv2d,
    bn1: BatchNorm,
    conv2: Conv2d,
    bn2: BatchNorm,
    fc: Linear,
}

impl TinyCnn {
    pub fn new(p: &tch::nn::Path<'_>) -> Self {
        let cfg = ConvConfig { padding: 1, ..Default::default() };
        TinyCnn {
            conv1: Conv2d::new(p / "conv1", 1, 8, 3, cfg),
            bn1: BatchNorm::new(p / "bn1", 8),
            conv2: Conv2d::new(p / "conv2", 8, 16, 3, cfg),
            bn2: BatchNorm::new(p / "bn2", 16),
            fc: Linear::new(p / "fc", 16, 2),
        }
    }
}

impl ModuleT for TinyCnn {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let h = self.bn1.forward_t(&self.conv1.forward(x), train).relu().max_pool2d([2], [], [], [], false);
        let h = self.bn2.forward_t(&self.conv2.forward(&h), train).relu();
        self.fc.forward(&h.adaptive_avg_pool2d([1, 1]).flatten(1, -1))
    }
}

/// A batch of `[n, 1, 8, 8]` images; the label is 1 when the top half is brighter than the bottom.
pub fn synthetic_batch(n: i64) -> (tch::Tensor, tch::Tensor) {
    let x = tch::Tensor::randn([n, 1, 8, 8], (Kind::Float, Device::Cpu));
    let top = x.narrow(2, 0, 4).mean_dim(&[1i64, 2, 3][..], false, Kind::Float);
    let bottom = x.narrow(2, 4, 4).mean_dim(&[1i64, 2, 3][..], false, Kind::Float);
    let y = top.gt_tensor(&bottom).to_kind(Kind::Int64);
    (x, y)
}

/// One Adam step on a fresh batch; returns the loss.
pub fn train_step(model: &TinyCnn, opt: &mut tch::nn::Optimizer, batch: i64) -> f64 {
    let (x, y) = synthetic_batch(batch);
    let logits = model.forward_t(&Tensor::from(x), true);
    match logits.to_tch() {
        Ok(logits) => {
            let loss = logits.cross_entropy_for_logits(&y);
            opt.backward_step(&loss);
            loss.double_value(&[])
        }
        Err(e) => panic!("forward failed: {e}"),
    }
}
