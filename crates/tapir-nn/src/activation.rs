//! Activation modules (no parameters).

use crate::Module;
use tapir::Tensor;

#[derive(Debug, Clone, Copy)]
pub struct ReLU;
#[derive(Debug, Clone, Copy)]
pub struct Sigmoid;
#[derive(Debug, Clone, Copy)]
pub struct Tanh;
/// GELU, exact unless `tanh`.
#[derive(Debug, Clone, Copy, Default)]
pub struct GELU {
    pub tanh: bool,
}

/// The activations PyTorch's transformer layers accept (`"relu"`, `"gelu"`), and GELU's tanh
/// form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    Relu,
    Gelu,
    GeluTanh,
}

/// `nn.LeakyReLU(negative_slope)` (PyTorch's default slope: 0.01).
#[derive(Debug, Clone, Copy)]
pub struct LeakyReLU {
    pub negative_slope: f64,
}

impl Default for LeakyReLU {
    fn default() -> Self {
        LeakyReLU { negative_slope: 0.01 }
    }
}

/// `nn.ELU(alpha)` (default 1).
#[derive(Debug, Clone, Copy)]
pub struct ELU {
    pub alpha: f64,
}

impl Default for ELU {
    fn default() -> Self {
        ELU { alpha: 1.0 }
    }
}

/// `nn.Softmax(dim)` and `nn.LogSoftmax(dim)` (`log`).
#[derive(Debug, Clone, Copy)]
pub struct Softmax {
    pub dim: i64,
    pub log: bool,
}

/// Activations without options: `nn.SiLU`, `nn.Hardswish`, `nn.Hardsigmoid`, `nn.ReLU6`,
/// `nn.Hardtanh()`, `nn.Softplus()`, `nn.Mish`, `nn.SELU`, `nn.CELU()`, `nn.LogSigmoid`,
/// `nn.Hardshrink()`, `nn.Softshrink()` (PyTorch's default parameters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elementwise {
    SiLU,
    Hardswish,
    Hardsigmoid,
    ReLU6,
    Hardtanh,
    Softplus,
    Mish,
    SELU,
    CELU,
    LogSigmoid,
    Hardshrink,
    Softshrink,
}

impl Module for LeakyReLU {
    #[track_caller]
    fn forward(&self, x: &Tensor) -> Tensor {
        x.leaky_relu_with_slope(self.negative_slope)
    }
}
impl Module for ELU {
    #[track_caller]
    fn forward(&self, x: &Tensor) -> Tensor {
        x.elu_with_alpha(self.alpha)
    }
}
impl Module for Softmax {
    #[track_caller]
    fn forward(&self, x: &Tensor) -> Tensor {
        if self.log {
            x.log_softmax(self.dim, None)
        } else {
            x.softmax(self.dim, None)
        }
    }
}
impl Module for Elementwise {
    #[track_caller]
    fn forward(&self, x: &Tensor) -> Tensor {
        match self {
            Elementwise::SiLU => x.silu(),
            Elementwise::Hardswish => x.hardswish(),
            Elementwise::Hardsigmoid => x.hardsigmoid(),
            Elementwise::ReLU6 => x.relu6(),
            Elementwise::Hardtanh => x.hardtanh(),
            Elementwise::Softplus => x.softplus(),
            Elementwise::Mish => x.mish(),
            Elementwise::SELU => x.selu(),
            Elementwise::CELU => x.celu(),
            Elementwise::LogSigmoid => x.log_sigmoid(),
            Elementwise::Hardshrink => x.hardshrink(),
            Elementwise::Softshrink => x.softshrink(),
        }
    }
}

impl Module for ReLU {
    #[track_caller]
    fn forward(&self, x: &Tensor) -> Tensor {
        x.relu()
    }
}
impl Module for Sigmoid {
    #[track_caller]
    fn forward(&self, x: &Tensor) -> Tensor {
        x.sigmoid()
    }
}
impl Module for Tanh {
    #[track_caller]
    fn forward(&self, x: &Tensor) -> Tensor {
        x.tanh()
    }
}
impl Module for GELU {
    #[track_caller]
    fn forward(&self, x: &Tensor) -> Tensor {
        x.gelu(if self.tanh { "tanh" } else { "none" })
    }
}
impl Module for Activation {
    #[track_caller]
    fn forward(&self, x: &Tensor) -> Tensor {
        match self {
            Activation::Relu => x.relu(),
            Activation::Gelu => x.gelu("none"),
            Activation::GeluTanh => x.gelu("tanh"),
        }
    }
}

/// `nn.PReLU(num_parameters, init)`: `weight` of `num_parameters` entries (1, or one per
/// channel), initialized to `init` (PyTorch's default 0.25).
#[derive(Debug)]
pub struct PReLU {
    pub weight: tch::Tensor,
    path: String,
}

impl PReLU {
    pub fn new<'a>(p: impl std::borrow::Borrow<tch::nn::Path<'a>>, num_parameters: i64, init: f64) -> Self {
        let p = p.borrow();
        PReLU { weight: crate::var(p, "weight", &[num_parameters], tch::nn::Init::Const(init)), path: crate::dotted(p) }
    }
}

impl Module for PReLU {
    #[track_caller]
    fn forward(&self, x: &Tensor) -> Tensor {
        let _scope = tapir::enter_scope_path(&self.path);
        x.prelu(&crate::param(&self.weight))
    }
}

/// How `Upsample` interpolates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpsampleMode {
    Nearest,
    Bilinear,
    Bicubic,
}

/// `nn.Upsample(size=..., scale_factor=..., mode=..., align_corners=...)` over `[N, C, H, W]`:
/// to a fixed `size`, or by `scale_factor` (the output size is `floor(input * scale)`, and
/// coordinates map with the scale, as PyTorch does without `recompute_scale_factor`).
#[derive(Debug, Clone, Copy)]
pub struct Upsample {
    pub size: Option<[i64; 2]>,
    pub scale_factor: Option<[f64; 2]>,
    pub mode: UpsampleMode,
    /// Bilinear and bicubic only.
    pub align_corners: bool,
}

impl Upsample {
    /// Upsampling by `scale` in both dimensions.
    pub fn scale(scale: f64, mode: UpsampleMode) -> Self {
        Upsample { size: None, scale_factor: Some([scale, scale]), mode, align_corners: false }
    }

    /// Upsampling to `size`.
    pub fn size(size: [i64; 2], mode: UpsampleMode) -> Self {
        Upsample { size: Some(size), scale_factor: None, mode, align_corners: false }
    }
}

impl Module for Upsample {
    #[track_caller]
    fn forward(&self, x: &Tensor) -> Tensor {
        let (h, w) = match x.sym_size4() {
            Ok((_, _, h, w)) => (h, w),
            Err(e) => return Tensor::from_error(e),
        };
        // floor(size * scale): a whole scale keeps a dynamic size symbolic, another reads it.
        let scaled = |d: tapir::SymInt, s: f64| {
            if s.fract() == 0.0 && s >= 0.0 {
                d * s as i64
            } else {
                tapir::SymInt::from((d.to_i64() as f64 * s).floor() as i64)
            }
        };
        let (size, scales) = match (self.size, self.scale_factor) {
            (Some([h, w]), _) => ((tapir::SymInt::from(h), tapir::SymInt::from(w)), None),
            (None, Some([sh, sw])) => ((scaled(h, sh), scaled(w, sw)), Some([sh, sw])),
            (None, None) => ((h, w), None),
        };
        let (sh, sw) = (scales.map(|s| s[0]), scales.map(|s| s[1]));
        match self.mode {
            UpsampleMode::Nearest => x.upsample_nearest2d(size, sh, sw),
            UpsampleMode::Bilinear => x.upsample_bilinear2d(size, self.align_corners, sh, sw),
            UpsampleMode::Bicubic => x.upsample_bicubic2d(size, self.align_corners, sh, sw),
        }
    }
}
