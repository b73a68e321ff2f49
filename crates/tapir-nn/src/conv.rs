//! `Conv1d`, `Conv2d` (PyTorch `nn.Conv1d/2d`): `weight [out, in / groups, k...]`, `bias [out]`.

use crate::{dotted, param, uniform_init, Module};
use tapir::Tensor;

/// tch's convolution config (`stride`, `padding`, `dilation`, `groups`, `bias`, inits,
/// `padding_mode`), the same numbers in every spatial dimension. A padding mode other than
/// zeros pads the input that way (`Tensor::pad`; circular needs opset 19 to export).
pub use tch::nn::ConvConfig;

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
                    weight: crate::var(&p, "weight", &shape, init),
                    bias: config.bias.then(|| crate::var(&p, "bias", &[out_channels], init)),
                    config,
                    path: dotted(p),
                }
            }
        }

        impl Module for $name {
            #[track_caller]
            fn forward(&self, x: &Tensor) -> Tensor {
                let _scope = tapir::enter_scope_path(&self.path);
                let c = self.config;
                let b = self.bias.as_ref().map(param);
                // tch's padding modes other than zeros: pad the input that way, then convolve
                // without padding.
                let mode = match c.padding_mode {
                    tch::nn::PaddingMode::Zeros => None,
                    tch::nn::PaddingMode::Reflect => Some("reflect"),
                    tch::nn::PaddingMode::Replicate => Some("replicate"),
                    tch::nn::PaddingMode::Circular => Some("circular"),
                };
                match mode {
                    Some(mode) if c.padding > 0 => {
                        let padded = x.pad(vec![c.padding; 2 * $dims], mode, None);
                        padded.$method(&param(&self.weight), b.as_ref(), [c.stride], [0], [c.dilation], c.groups)
                    }
                    _ => x.$method(&param(&self.weight), b.as_ref(), [c.stride], [c.padding], [c.dilation], c.groups),
                }
            }
        }
    };
}

conv_layer!(Conv1d, 1, conv1d);
conv_layer!(Conv2d, 2, conv2d);
conv_layer!(Conv3d, 3, conv3d);

/// tch's name for [`Conv1d`].
pub type Conv1D = Conv1d;
/// tch's name for [`Conv2d`].
pub type Conv2D = Conv2d;
/// tch's name for [`Conv3d`].
pub type Conv3D = Conv3d;

macro_rules! tch_conv {
    ($fn:ident, $ty:ident, $dims:literal) => {
        /// tch's constructor: `bias` (when `config.bias`) then `weight`, with the config's inits,
        /// as tch creates them.
        pub fn $fn<'a>(
            vs: impl std::borrow::Borrow<tch::nn::Path<'a>>,
            in_dim: i64,
            out_dim: i64,
            ksize: i64,
            config: ConvConfig,
        ) -> $ty {
            let p = vs.borrow();
            let bias = config.bias.then(|| crate::var(&p, "bias", &[out_dim], config.bs_init));
            let mut shape = vec![out_dim, in_dim / config.groups];
            shape.extend([ksize; $dims]);
            $ty { weight: crate::var(&p, "weight", &shape, config.ws_init), bias, config, path: dotted(p) }
        }
    };
}

tch_conv!(conv1d, Conv1d, 1);
tch_conv!(conv2d, Conv2d, 2);
tch_conv!(conv3d, Conv3d, 3);

/// tch's `nn::conv_transpose2d`: `bias` (when `config.bias`) then `weight [in, out / groups, k,
/// k]`, with the config's inits, as tch creates them.
pub fn conv_transpose2d<'a>(
    vs: impl std::borrow::Borrow<tch::nn::Path<'a>>,
    in_dim: i64,
    out_dim: i64,
    ksize: i64,
    config: tch::nn::ConvTransposeConfig,
) -> ConvTranspose2d {
    let p = vs.borrow();
    let bias = config.bias.then(|| crate::var(p, "bias", &[out_dim], config.bs_init));
    let weight = crate::var(p, "weight", &[in_dim, out_dim / config.groups, ksize, ksize], config.ws_init);
    let conv = ConvConfig {
        stride: config.stride,
        padding: config.padding,
        dilation: config.dilation,
        groups: config.groups,
        bias: config.bias,
        ..Default::default()
    };
    ConvTranspose2d { weight, bias, config: conv, output_padding: config.output_padding, path: dotted(p) }
}

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
            weight: crate::var(p, "weight", &[in_channels, out_channels / config.groups, kernel, kernel], init),
            bias: config.bias.then(|| crate::var(p, "bias", &[out_channels], init)),
            config,
            output_padding,
            path: dotted(p),
        }
    }
}

impl Module for ConvTranspose2d {
    #[track_caller]
    fn forward(&self, x: &Tensor) -> Tensor {
        let _scope = tapir::enter_scope_path(&self.path);
        let c = self.config;
        let b = self.bias.as_ref().map(param);
        x.conv_transpose2d(
            &param(&self.weight),
            b.as_ref(),
            [c.stride],
            [c.padding],
            [self.output_padding],
            c.groups,
            [c.dilation],
        )
    }
}
