//! torchvision's ResNet (v1.5: the stride of a bottleneck is on its 3x3 conv), with torchvision's
//! parameter names (`conv1`, `bn1`, `layer1.0.conv1`, `layer1.0.downsample.0`, `fc`).

use tapir::Tensor;
use tapir_nn::{BatchNorm, Conv2d, ConvConfig, Linear, Module, ModuleT};

fn conv(p: tch::nn::Path<'_>, i: i64, o: i64, k: i64, stride: i64) -> Conv2d {
    Conv2d::new(p, i, o, k, ConvConfig { stride, padding: k / 2, bias: false, ..Default::default() })
}

#[derive(Debug)]
struct Block {
    convs: Vec<Conv2d>,
    bns: Vec<BatchNorm>,
    downsample: Option<(Conv2d, BatchNorm)>,
}

impl Block {
    fn basic(p: tch::nn::Path<'_>, i: i64, o: i64, stride: i64) -> Self {
        Block {
            convs: vec![conv(&p / "conv1", i, o, 3, stride), conv(&p / "conv2", o, o, 3, 1)],
            bns: vec![BatchNorm::new(&p / "bn1", o), BatchNorm::new(&p / "bn2", o)],
            downsample: (stride != 1 || i != o)
                .then(|| (conv(&p / "downsample" / 0, i, o, 1, stride), BatchNorm::new(&p / "downsample" / 1, o))),
        }
    }

    fn bottleneck(p: tch::nn::Path<'_>, i: i64, width: i64, stride: i64) -> Self {
        let o = width * 4;
        Block {
            convs: vec![
                conv(&p / "conv1", i, width, 1, 1),
                conv(&p / "conv2", width, width, 3, stride),
                conv(&p / "conv3", width, o, 1, 1),
            ],
            bns: vec![
                BatchNorm::new(&p / "bn1", width),
                BatchNorm::new(&p / "bn2", width),
                BatchNorm::new(&p / "bn3", o),
            ],
            downsample: (stride != 1 || i != o)
                .then(|| (conv(&p / "downsample" / 0, i, o, 1, stride), BatchNorm::new(&p / "downsample" / 1, o))),
        }
    }

    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let mut h = x.shallow_clone();
        let last = self.convs.len() - 1;
        for (k, (c, b)) in self.convs.iter().zip(&self.bns).enumerate() {
            h = b.forward_t(&c.forward(&h), train);
            if k != last {
                h = h.relu();
            }
        }
        let identity = match &self.downsample {
            Some((c, b)) => b.forward_t(&c.forward(x), train),
            None => x.shallow_clone(),
        };
        (h + identity).relu()
    }
}

/// A torchvision ResNet.
#[derive(Debug)]
pub struct ResNet {
    conv1: Conv2d,
    bn1: BatchNorm,
    layers: Vec<Vec<Block>>,
    fc: Linear,
}

impl ResNet {
    fn build(p: &tch::nn::Path<'_>, bottleneck: bool, blocks: [i64; 4], classes: i64) -> Self {
        let mut inplanes = 64;
        let mut layers = vec![];
        for (li, (n, width)) in blocks.iter().zip([64, 128, 256, 512]).enumerate() {
            let lp = p / format!("layer{}", li + 1);
            let mut layer = vec![];
            for bi in 0..*n {
                let stride = if bi == 0 && li > 0 { 2 } else { 1 };
                let block = if bottleneck {
                    Block::bottleneck(&lp / bi, inplanes, width, stride)
                } else {
                    Block::basic(&lp / bi, inplanes, width, stride)
                };
                inplanes = if bottleneck { width * 4 } else { width };
                layer.push(block);
            }
            layers.push(layer);
        }
        ResNet {
            conv1: Conv2d::new(
                p / "conv1",
                3,
                64,
                7,
                ConvConfig { stride: 2, padding: 3, bias: false, ..Default::default() },
            ),
            bn1: BatchNorm::new(p / "bn1", 64),
            layers,
            fc: Linear::new(p / "fc", inplanes, classes),
        }
    }

    /// torchvision `resnet18()`: basic blocks [2, 2, 2, 2], 1000 classes.
    pub fn resnet18(p: &tch::nn::Path<'_>) -> Self {
        Self::build(p, false, [2, 2, 2, 2], 1000)
    }

    /// torchvision `resnet50()`: bottleneck blocks [3, 4, 6, 3], 1000 classes.
    pub fn resnet50(p: &tch::nn::Path<'_>) -> Self {
        Self::build(p, true, [3, 4, 6, 3], 1000)
    }
}

impl ModuleT for ResNet {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let mut h = self.bn1.forward_t(&self.conv1.forward(x), train).relu().max_pool2d([3], [2], [1], [1], false);
        for (li, layer) in self.layers.iter().enumerate() {
            let _scope = tapir::enter_scope_path(&format!("layer{}", li + 1));
            for block in layer {
                h = block.forward_t(&h, train);
            }
        }
        self.fc.forward(&h.adaptive_avg_pool2d([1, 1]).flatten(1, -1))
    }
}
