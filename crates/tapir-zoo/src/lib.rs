//! The reference zoo: models whose architectures and `state_dict` names match these PyTorch
//! definitions, so PyTorch weights saved as safetensors load into them by name.
//!
//! | name | PyTorch definition | input |
//! | --- | --- | --- |
//! | `mlp` | `net = Sequential(Linear(784,512), ReLU, Linear(512,512), ReLU, Linear(512,10))` | `[N, 784]` f32 |
//! | `resnet18`, `resnet50` | torchvision `resnet18()`, `resnet50()` | `[N, 3, 224, 224]` f32 |
//! | `lstm` | `lstm = LSTM(64, 128, num_layers=2, batch_first=True)`, `head = Linear(128, 10)` on the last time step | `[N, 32, 64]` f32 |
//! | `encoder` | `emb = Embedding(1000, 256)`, `enc = TransformerEncoder(TransformerEncoderLayer(256, 4, 1024, activation="gelu", batch_first=True), 4)` | `[N, 128]` i64 |

pub mod examples;
pub mod hf;
mod resnet;
pub mod training;

use tapir::Tensor;
use tapir_nn::{
    Activation, Embedding, Linear, Lstm, Module, ModuleT, ReLU, Sequential, TransformerEncoder, TransformerEncoderLayer,
};
use tch::nn::VarStore;
use tch::{Device, Kind};

pub use resnet::ResNet;

/// Every zoo model name.
pub const MODELS: &[&str] = &["mlp", "resnet18", "resnet50", "encoder", "lstm"];

/// A zoo model: the module and how to make an example input.
pub struct ZooModel {
    pub name: &'static str,
    /// The model; trace `module.forward_t(x, false)` (eval).
    pub module: Box<dyn ModuleT>,
    input: fn(i64) -> Result<tch::Tensor, tch::TchError>,
}

impl std::fmt::Debug for ZooModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ZooModel({})", self.name)
    }
}

impl ZooModel {
    /// A random example input with batch size `batch`; an error when it cannot be allocated.
    pub fn example_input(&self, batch: i64) -> Result<tch::Tensor, tch::TchError> {
        (self.input)(batch)
    }
}

/// The `mlp` of the zoo.
#[derive(Debug)]
pub struct Mlp {
    net: Sequential,
}

impl Module for Mlp {
    fn forward(&self, x: &Tensor) -> Tensor {
        self.net.forward(x)
    }
}

/// The `encoder` of the zoo: token ids `[N, T]` to features `[N, T, 256]`.
#[derive(Debug)]
pub struct Encoder {
    emb: Embedding,
    enc: TransformerEncoder,
}

impl ModuleT for Encoder {
    fn forward_t(&self, ids: &Tensor, train: bool) -> Tensor {
        self.enc.forward_t(&self.emb.forward(ids), train)
    }
}

/// The `lstm` of the zoo: `[N, T, 64]` to logits `[N, 10]` from the last time step.
#[derive(Debug)]
pub struct LstmClassifier {
    lstm: Lstm,
    head: Linear,
}

impl Module for LstmClassifier {
    fn forward(&self, x: &Tensor) -> Tensor {
        let (out, _) = self.lstm.forward(x, None);
        self.head.forward(&out.select(1, -1))
    }
}

/// Builds zoo model `name` with its parameters in `vs`. `None` for an unknown name.
pub fn build(name: &str, vs: &VarStore) -> Option<ZooModel> {
    let root = vs.root();
    type Entry = (&'static str, Box<dyn ModuleT>, fn(i64) -> Result<tch::Tensor, tch::TchError>);
    let (name, module, input): Entry = match name {
        "mlp" => {
            let net = &root / "net";
            let net = Sequential::new()
                .add(Linear::new(&net / "0", 784, 512))
                .add(ReLU)
                .add(Linear::new(&net / "2", 512, 512))
                .add(ReLU)
                .add(Linear::new(&net / "4", 512, 10));
            ("mlp", Box::new(Mlp { net }), |n| tch::Tensor::f_randn([n, 784], (Kind::Float, Device::Cpu)))
        }
        "resnet18" => ("resnet18", Box::new(ResNet::resnet18(&root)), image),
        "resnet50" => ("resnet50", Box::new(ResNet::resnet50(&root)), image),
        "encoder" => {
            let emb = Embedding::new(&root / "emb", 1000, 256);
            let enc = TransformerEncoder::new(&root / "enc", 4, |p| {
                TransformerEncoderLayer::new(p, 256, 4, 1024, Activation::Gelu, false)
            });
            ("encoder", Box::new(Encoder { emb, enc }), |n| {
                tch::Tensor::f_randint(1000, [n, 128], (Kind::Int64, Device::Cpu))
            })
        }
        "lstm" => {
            let lstm = Lstm::new(&root / "lstm", 64, 128, 2, false, true);
            let head = Linear::new(&root / "head", 128, 10);
            ("lstm", Box::new(LstmClassifier { lstm, head }), |n| {
                tch::Tensor::f_randn([n, 32, 64], (Kind::Float, Device::Cpu))
            })
        }
        _ => return None,
    };
    Some(ZooModel { name, module, input })
}

fn image(n: i64) -> Result<tch::Tensor, tch::TchError> {
    tch::Tensor::f_randn([n, 3, 224, 224], (Kind::Float, Device::Cpu))
}

#[doc = include_str!("../../../docs/checkpoints.md")]
pub mod checkpoints {}

#[doc = include_str!("../../../docs/guide.md")]
pub mod guide {}
