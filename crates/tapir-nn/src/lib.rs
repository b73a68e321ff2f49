//! Layers built only from traced ops, with parameters in a `tch::nn::VarStore` under PyTorch's
//! dotted names, so `tch::nn::Adam` trains them, a PyTorch `state_dict` saved as safetensors
//! loads into them by name ([`load_safetensors`]), and exported initializers carry those names.
//!
//! ```
//! use tapir_nn::{Linear, Module, ReLU, Sequential};
//! let vs = tch::nn::VarStore::new(tch::Device::Cpu);
//! let root = vs.root();
//! let net = Sequential::new()
//!     .add(Linear::new(&root / "0", 4, 8))
//!     .add(ReLU)
//!     .add(Linear::new(&root / "2", 8, 2));
//! let x = tch::Tensor::randn([3, 4], (tch::Kind::Float, tch::Device::Cpu));
//! let traced = tapir::Tracer::new().parameters(&vs).trace(|x| net.forward(&x[0]), &[&x]).unwrap();
//! assert!(traced.unnamed_captures().is_empty());
//! ```

mod activation;
mod attention;
mod conv;
mod dropout;
mod embedding;
mod hf;
mod linear;
mod load;
mod norm;
mod pool;
mod rnn;
mod self_attention;
mod sequential;
mod transformer;

pub use activation::{
    Activation, Elementwise, LeakyReLU, PReLU, ReLU, Sigmoid, Softmax, Tanh, Upsample, UpsampleMode, ELU, GELU,
};
pub use attention::MultiheadAttention;
pub use conv::{
    conv1d, conv2d, conv3d, conv_transpose2d, Conv1D, Conv1d, Conv2D, Conv2d, Conv3D, Conv3d, ConvConfig,
    ConvTranspose2d,
};
pub use dropout::Dropout;
pub use embedding::{embedding, Embedding};
pub use hf::{HfConv1D, RotaryEmbedding};
pub use linear::{linear, Linear};
pub use load::{load_safetensors, Checkpoint, LoadError, LoadReport, Loader};
pub use norm::{
    batch_norm1d, batch_norm2d, batch_norm3d, group_norm, layer_norm, BatchNorm, GroupNorm, LayerNorm, RMSNorm,
};
pub use pool::{AdaptiveAvgPool2d, AvgPool2d, MaxPool2d};
pub use rnn::{gru, lstm, GRUState, Gru, LSTMState, Lstm, GRU, LSTM, RNN};
pub use self_attention::{AttentionConfig, SelfAttention};
pub use sequential::{seq, seq_t, Sequential, SequentialT};
pub use transformer::{TransformerEncoder, TransformerEncoderLayer};

use tapir::Tensor;

/// tch's module traits, re-exported: [`Module`] for layers with one forward, [`ModuleT`] for
/// those that differ in training (`forward_t(x, train)`: [`BatchNorm`], [`Dropout`], the
/// transformer layers), chosen per call as in tch.
pub use tapir::{func, func_t, Module, ModuleT};

/// tch's configuration and variable-store types, so tch model code names them through this
/// crate unchanged (`nn::LinearConfig { bias: false, ..Default::default() }`, `nn::VarStore`).
pub use tch::nn::{
    BatchNormConfig, ConvTransposeConfig, EmbeddingConfig, GroupNormConfig, Init, LayerNormConfig, LinearConfig,
    PaddingMode, Path, RNNConfig, VarStore,
};

/// The dotted name of a VarStore path (`layer1.0.conv1`): what tapir-nn's layers pass to
/// `tapir::enter_scope_path` and what their parameters are named under, for layers of your own
/// that name themselves the same way.
pub fn dotted(p: &tch::nn::Path) -> String {
    p.components().collect::<Vec<_>>().join(".")
}

thread_local! {
    static PLACEHOLDERS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `build` (a model's constructor) with tapir-nn's layers creating placeholder parameters
/// and buffers: the right names, shapes and dtypes in the VarStore, no data (one element of
/// storage each, read as zeros). The model allocates and initializes nothing, whatever its
/// size; it traces shape-only (`tapir::Tracer::shape_only`) and exports once its weights are
/// bound to a checkpoint (`Traced::bind_weights` with a [`Checkpoint`]), which export then
/// streams from the file. Exporting an unbound placeholder is an error, never zeros. Layers of
/// your own get placeholders when they create their variables with [`var`] and [`buffer`].
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let vs = tch::nn::VarStore::new(tch::Device::Cpu);
/// let layer = tapir_nn::placeholder_parameters(|| tapir_nn::Linear::new(vs.root() / "fc", 4096, 4096));
/// assert_eq!(layer.weight.size(), [4096, 4096]);
/// assert!(tapir::is_placeholder(&layer.weight)); // 64 MiB described, 4 bytes allocated
/// # Ok(()) }
/// ```
pub fn placeholder_parameters<R>(build: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            PLACEHOLDERS.with(|p| p.set(self.0));
        }
    }
    let _restore = Restore(PLACEHOLDERS.with(|p| p.replace(true)));
    build()
}

/// A trainable variable as tapir-nn's layers create theirs: `p.var(name, dims, init)`, or a
/// placeholder of that shape and the VarStore's dtype inside [`placeholder_parameters`].
pub fn var(p: &tch::nn::Path, name: &str, dims: &[i64], init: tch::nn::Init) -> tch::Tensor {
    match placeholder_for(p, dims, p.kind()) {
        Some(t) => p.add(name, t, true),
        None => p.var(name, dims, init),
    }
}

/// A buffer (not trained) filled with `value` (running statistics), or a placeholder of that
/// shape inside [`placeholder_parameters`]. Float32, as tch's `zeros_no_train`.
pub fn buffer(p: &tch::nn::Path, name: &str, dims: &[i64], value: f64) -> tch::Tensor {
    let t = placeholder_for(p, dims, tch::Kind::Float)
        .unwrap_or_else(|| tch::Tensor::full(dims, value, (tch::Kind::Float, p.device())));
    p.add(name, t, false)
}

/// A placeholder when building inside [`placeholder_parameters`] (and libtorch can make one).
fn placeholder_for(p: &tch::nn::Path, dims: &[i64], kind: tch::Kind) -> Option<tch::Tensor> {
    if !PLACEHOLDERS.with(|f| f.get()) {
        return None;
    }
    tapir::placeholder(dims, kind, p.device()).ok()
}

/// A parameter as a traced-op operand (shares storage with the VarStore variable).
pub fn param(t: &tch::Tensor) -> Tensor {
    Tensor::from(t)
}

/// PyTorch's default init for weights of fan-in `fan_in` (kaiming uniform with a = sqrt(5)):
/// uniform in `[-1/sqrt(fan_in), 1/sqrt(fan_in)]`, also used for biases.
pub fn uniform_init(fan_in: i64) -> tch::nn::Init {
    let bound = 1.0 / (fan_in.max(1) as f64).sqrt();
    tch::nn::Init::Uniform { lo: -bound, up: bound }
}
