//! `Conv1d`, `Conv2d` (PyTorch `nn.Conv1d/2d`): `weight [out, in / groups, k...]`, `bias [out]`.

use crate::{dotted, param, uniform_init, Module};
use tapir::Tensor;

/// Stride, padding, dilation (one value for every spatial dimension), groups, bias.
#[derive(Debug, Clone, Copy)]
pub struct ConvConfig {
    pub stride: i64,
    pub padding: i64,
    pub dilation: i64,
    pub groups: i64,
    pub bias: bool,
}

impl Default for ConvConfig {
    fn default() -> Self {
        ConvConfig { stride: 1, padding: 0, dilation: 1, groups: 1, bias: true }
    }
}

macro_rules! conv_layer {
    ($name:ident, $dims:literal, $method:ident) => {
        #[derive(Debug)]
        pub struct $name {
            pub weight: tch::Tensor,
            pub bias: Option<tch::Tensor>,
            pub config: ConvConfig,
            path: String,
        }

        impl $name {
            pub fn new<'a>(
                p: impl std::borrow::Borrow<tch::nn::Path<'a>>,
                in_channels: i64,
                out_channels: i64,
                kernel: i64,
                config: ConvConfig,
            ) -> Self {
                let p = p.borrow();
                let mut shape = vec![out_channels, in_channels / config.groups];
                shape.extend([kernel; $dims]);
                let init = uniform_init(in_channels / config.groups * kernel.pow($dims));
                $name {
                    weight: p.var("weight", &shape, init),
                    bias: config.bias.then(|| p.var("bias", &[out_channels], init)),
                    config,
                    path: dotted(p),
                }
            }
        }

        impl Module for $name {
            fn forward(&self, x: &Tensor) -> Tensor {
                let _scope = tapir::enter_scope_path(&self.path);
                let c = self.config;
                let b = self.bias.as_ref().map(param);
                x.$method(&param(&self.weight), b.as_ref(), &[c.stride], &[c.padding], &[c.dilation], c.groups)
            }
        }
    };
}

conv_layer!(Conv1d, 1, conv1d);
conv_layer!(Conv2d, 2, conv2d);

/// PyTorch `nn.ConvTranspose2d`: `weight [in, out / groups, k, k]`, `bias [out]`.
#[derive(Debug)]
pub struct ConvTranspose2d {
    pub weight: tch::Tensor,
    pub bias: Option<tch::Tensor>,
    pub config: ConvConfig,
    pub output_padding: i64,
    path: String,
}

impl ConvTranspose2d {
    pub fn new<'a>(
        p: impl std::borrow::Borrow<tch::nn::Path<'a>>,
        in_channels: i64,
        out_channels: i64,
        kernel: i64,
        config: ConvConfig,
        output_padding: i64,
    ) -> Self {
        let p = p.borrow();
        // PyTorch computes the fan-in from weight dim 1 (out / groups) for transposed convs.
        let init = uniform_init(out_channels / config.groups * kernel * kernel);
        ConvTranspose2d {
            weight: p.var("weight", &[in_channels, out_channels / config.groups, kernel, kernel], init),
            bias: config.bias.then(|| p.var("bias", &[out_channels], init)),
            config,
            output_padding,
            path: dotted(p),
        }
    }
}

impl Module for ConvTranspose2d {
    fn forward(&self, x: &Tensor) -> Tensor {
        let _scope = tapir::enter_scope_path(&self.path);
        let c = self.config;
        let b = self.bias.as_ref().map(param);
        x.conv_transpose2d(
            &param(&self.weight),
            b.as_ref(),
            &[c.stride],
            &[c.padding],
            &[self.output_padding],
            &[c.dilation],
            c.groups,
        )
    }
}
