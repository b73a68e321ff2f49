//! Dynamic shapes: models exported once with dynamic dimensions and run at other sizes (1, a
//! smaller one, a larger one than traced) in replay, tract and ONNX Runtime against eager tch.

#![allow(clippy::unwrap_used)]

use tapir::{CaptureError, Dim, Tensor, Tracer};
use tapir_conformance::check_dynamic;
use tch::{Device, Kind};

fn randn(shape: &[i64]) -> tch::Tensor {
    tch::Tensor::randn(shape, (Kind::Float, Device::Cpu))
}

#[test]
fn reshape_and_softmax_follow_batch_and_seq() {
    let f = |x: &[Tensor]| -> Result<Tensor, CaptureError> {
        let (b, t, c) = x[0].sym_size3()?;
        let h = 2;
        let y = x[0].view((b, t, h, c / h)).transpose(1, 2).softmax(-1, None);
        Ok(y.transpose(1, 2).reshape((b, t, c)) * 2.0)
    };
    let run = |x: &[Tensor]| f(x).unwrap_or_else(Tensor::from_error);
    let x = randn(&[2, 5, 8]);
    let tracer = Tracer::new().dynamic_dim("input", 0, Dim::new("batch")).dynamic_dim("input", 1, Dim::new("seq"));
    let traced = tracer.trace(run, &[&x]).unwrap();
    println!("{traced:?}");
    let sets: Vec<Vec<tch::Tensor>> =
        vec![vec![x], vec![randn(&[1, 5, 8])], vec![randn(&[3, 1, 8])], vec![randn(&[4, 9, 8])]];
    check_dynamic("dynamic/reshape", &traced, run, &sets, None);
}

fn ints(shape: &[i64], high: i64) -> tch::Tensor {
    tch::Tensor::randint(high, shape, (Kind::Int64, Device::Cpu))
}

/// Zoo model `name` traced at `example` with `dims` dynamic, checked at every set of `sets`.
fn check_zoo(name: &str, dims: &[(usize, &str)], example: tch::Tensor, sets: Vec<tch::Tensor>) {
    tch::manual_seed(7);
    let vs = tch::nn::VarStore::new(Device::Cpu);
    let model = tapir_zoo::build(name, &vs).unwrap();
    let f = |x: &[Tensor]| model.module.forward_t(&x[0], false);
    let mut tracer = Tracer::new().parameters(&vs);
    for (axis, dim) in dims {
        tracer = tracer.dynamic_dim("input", *axis, Dim::new(*dim));
    }
    let traced = tracer.trace(f, &[&example]).unwrap();
    assert!(traced.unnamed_captures().is_empty(), "{name}: {:?}", traced.unnamed_captures());
    let mut all = vec![vec![example]];
    all.extend(sets.into_iter().map(|s| vec![s]));
    check_dynamic(
        &format!("dynamic/zoo_{name}"),
        &traced,
        f,
        &all,
        Some(tapir_conformance::Tolerance { atol: 1e-4, rtol: 1e-4 }),
    );
}

#[test]
fn zoo_mlp_runs_at_any_batch() {
    check_zoo("mlp", &[(0, "batch")], randn(&[2, 784]), vec![randn(&[1, 784]), randn(&[3, 784]), randn(&[7, 784])]);
}

#[test]
fn zoo_resnet18_runs_at_any_batch() {
    let image = |n| randn(&[n, 3, 64, 64]);
    check_zoo("resnet18", &[(0, "batch")], image(2), vec![image(1), image(3), image(5)]);
}

#[test]
fn zoo_resnet50_runs_at_any_batch() {
    let image = |n| randn(&[n, 3, 32, 32]);
    check_zoo("resnet50", &[(0, "batch")], image(2), vec![image(1), image(3), image(4)]);
}

#[test]
fn zoo_encoder_runs_at_any_batch_and_length() {
    let ids = |b, t| ints(&[b, t], 1000);
    check_zoo("encoder", &[(0, "batch"), (1, "seq")], ids(2, 12), vec![ids(1, 12), ids(3, 1), ids(2, 5), ids(4, 31)]);
}

#[test]
fn zoo_lstm_runs_at_any_batch_and_length() {
    let x = |b, t| randn(&[b, t, 64]);
    check_zoo("lstm", &[(0, "batch"), (1, "seq")], x(2, 9), vec![x(1, 9), x(3, 1), x(2, 4), x(5, 20)]);
}

// Three models written the natural way, reading sizes with `sym_size` and doing ordinary
// integer arithmetic on them.

use tapir_nn::{
    Activation, Conv2D, ConvConfig, Embedding, LayerNorm, Linear, Module, ModuleT, TransformerEncoderLayer,
};

/// A GPT-2-style decoder: token + position embeddings (positions from `arange(t)`), a causal
/// mask built from the length, fused qkv split into heads, a tied output head.
struct Gpt {
    wte: Embedding,
    wpe: Embedding,
    blocks: Vec<GptBlock>,
    ln_f: LayerNorm,
}

struct GptBlock {
    ln_1: LayerNorm,
    c_attn: Linear,
    c_proj: Linear,
    ln_2: LayerNorm,
    c_fc: Linear,
    mlp_proj: Linear,
    n_head: i64,
}

impl GptBlock {
    fn new(p: tch::nn::Path<'_>, e: i64, n_head: i64) -> Self {
        GptBlock {
            ln_1: LayerNorm::new(&p / "ln_1", &[e], 1e-5),
            c_attn: Linear::new(&p / "c_attn", e, 3 * e),
            c_proj: Linear::new(&p / "c_proj", e, e),
            ln_2: LayerNorm::new(&p / "ln_2", &[e], 1e-5),
            c_fc: Linear::new(&p / "c_fc", e, 4 * e),
            mlp_proj: Linear::new(&p / "mlp_proj", 4 * e, e),
            n_head,
        }
    }

    fn forward(&self, x: &Tensor, keep: &Tensor) -> Result<Tensor, CaptureError> {
        let (b, t, c) = x.sym_size3()?;
        let h = self.n_head;
        let qkv = self.c_attn.forward(&self.ln_1.forward(x)).chunk(3, -1);
        let heads = |z: &Tensor| z.view((b, t, h, c / h)).transpose(1, 2);
        let (q, k, v) = (heads(&qkv[0]), heads(&qkv[1]), heads(&qkv[2]));
        let scale = 1.0 / ((c.hint() / h) as f64).sqrt();
        let att = (q.matmul(&k.transpose(-2, -1)) * scale).masked_fill(&keep.logical_not(), f64::NEG_INFINITY);
        let y = att.softmax(-1, None).matmul(&v).transpose(1, 2).reshape((b, t, c));
        let x = x + self.c_proj.forward(&y);
        let m = self.mlp_proj.forward(&self.c_fc.forward(&self.ln_2.forward(&x)).gelu("tanh"));
        Ok(x + m)
    }
}

impl Gpt {
    fn new(p: tch::nn::Path<'_>, vocab: i64, max_len: i64, e: i64, n_head: i64, layers: i64) -> Self {
        Gpt {
            wte: Embedding::new(&p / "wte", vocab, e),
            wpe: Embedding::new(&p / "wpe", max_len, e),
            blocks: (0..layers).map(|i| GptBlock::new(&p / "h" / i, e, n_head)).collect(),
            ln_f: LayerNorm::new(&p / "ln_f", &[e], 1e-5),
        }
    }

    fn forward(&self, ids: &Tensor) -> Result<Tensor, CaptureError> {
        let (_, t) = ids.sym_size2()?;
        let pos = Tensor::arange(t, (Kind::Int64, Device::Cpu));
        let mut x = self.wte.forward(ids) + self.wpe.forward(&pos);
        let keep = Tensor::ones((t, t), (Kind::Bool, Device::Cpu)).tril(0);
        for block in &self.blocks {
            x = block.forward(&x, &keep)?;
        }
        // The output head shares the token embedding's weight.
        Ok(self.ln_f.forward(&x).linear(&Tensor::from(&self.wte.weight), None::<&Tensor>))
    }
}

#[test]
fn gpt_decoder_runs_at_any_batch_and_length() {
    tch::manual_seed(11);
    let vs = tch::nn::VarStore::new(Device::Cpu);
    let model = Gpt::new(vs.root(), 50, 64, 32, 4, 2);
    let f = |x: &[Tensor]| model.forward(&x[0]).unwrap_or_else(Tensor::from_error);
    let ids = |b, t| ints(&[b, t], 50);
    let tracer = Tracer::new()
        .parameters(&vs)
        .input_names(["input_ids"])
        .output_names(["logits"])
        .dynamic_dim("input_ids", 0, Dim::new("batch"))
        .dynamic_dim("input_ids", 1, Dim::new("seq").range(1, 64));
    let traced = tracer.trace(f, &[&ids(2, 7)]).unwrap();
    assert!(traced.unnamed_captures().is_empty(), "{:?}", traced.unnamed_captures());
    let sets = vec![vec![ids(2, 7)], vec![ids(1, 7)], vec![ids(3, 1)], vec![ids(2, 3)], vec![ids(4, 64)]];
    check_dynamic("dynamic/gpt", &traced, f, &sets, None);
    // Beyond the declared range: refused, naming the dimension.
    let err = traced.replay(&[&ids(1, 65)]).unwrap_err().to_string();
    assert!(err.contains("`seq` is 65"), "{err}");
}

/// A ViT-style classifier: patch convolution, flatten + transpose to tokens, a class token
/// expanded over the batch and concatenated, a position embedding, one encoder layer.
struct Vit {
    patch: Conv2D,
    cls: tch::Tensor,
    pos: tch::Tensor,
    layer: TransformerEncoderLayer,
    head: Linear,
}

impl Vit {
    fn new(p: tch::nn::Path<'_>, image: i64, patch: i64, e: i64, classes: i64) -> Self {
        let n = (image / patch) * (image / patch);
        Vit {
            patch: Conv2D::new(&p / "patch", 3, e, patch, ConvConfig { stride: patch, ..Default::default() }),
            cls: p.randn("cls_token", &[1, 1, e], 0.0, 0.02),
            pos: p.randn("pos_embed", &[1, n + 1, e], 0.0, 0.02),
            layer: TransformerEncoderLayer::new(&p / "layer", e, 4, 2 * e, Activation::Gelu, true),
            head: Linear::new(&p / "head", e, classes),
        }
    }

    fn forward(&self, images: &Tensor) -> Result<Tensor, CaptureError> {
        let b = images.sym_size()[0];
        let tokens = self.patch.forward(images).flatten(2, -1).transpose(1, 2);
        let cls = Tensor::from(&self.cls).expand((b, -1, -1), false);
        let x = Tensor::cat(&[cls, tokens], 1) + Tensor::from(&self.pos);
        Ok(self.head.forward(&self.layer.forward_t(&x, false).select(1, 0)))
    }
}

#[test]
fn vit_runs_at_any_batch() {
    tch::manual_seed(12);
    let vs = tch::nn::VarStore::new(Device::Cpu);
    let model = Vit::new(vs.root(), 16, 4, 32, 10);
    let f = |x: &[Tensor]| model.forward(&x[0]).unwrap_or_else(Tensor::from_error);
    let images = |b| randn(&[b, 3, 16, 16]);
    let traced = Tracer::new().parameters(&vs).dynamic_batch().trace(f, &[&images(2)]).unwrap();
    let sets = vec![vec![images(2)], vec![images(1)], vec![images(3)], vec![images(6)]];
    check_dynamic("dynamic/vit", &traced, f, &sets, Some(tapir_conformance::Tolerance { atol: 1e-4, rtol: 1e-4 }));
}

/// A UNet-style model: two levels down (conv, max-pool), up by nearest 2x upsampling, each
/// skip concatenated; batch, height and width dynamic (multiples of 4 run).
struct UNet {
    down1: Conv2D,
    down2: Conv2D,
    mid: Conv2D,
    up2: Conv2D,
    up1: Conv2D,
    out: Conv2D,
}

impl UNet {
    fn new(p: tch::nn::Path<'_>) -> Self {
        let conv = |name: &str, i, o| Conv2D::new(&p / name, i, o, 3, ConvConfig { padding: 1, ..Default::default() });
        UNet {
            down1: conv("down1", 3, 8),
            down2: conv("down2", 8, 16),
            mid: conv("mid", 16, 16),
            up2: conv("up2", 32, 8),
            up1: conv("up1", 16, 8),
            out: Conv2D::new(&p / "out", 8, 2, 1, ConvConfig::default()),
        }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        let pool = |t: &Tensor| t.max_pool2d([2], [2], [0], [1], false);
        let up = |t: &Tensor| t.upsample_nearest2d((t.sym_size()[2] * 2, t.sym_size()[3] * 2), 2.0, 2.0);
        let d1 = self.down1.forward(x).relu();
        let d2 = self.down2.forward(&pool(&d1)).relu();
        let m = self.mid.forward(&pool(&d2)).relu();
        let u2 = self.up2.forward(&Tensor::cat(&[up(&m), d2], 1)).relu();
        let u1 = self.up1.forward(&Tensor::cat(&[up(&u2), d1], 1)).relu();
        self.out.forward(&u1)
    }
}

#[test]
fn unet_runs_at_any_batch_and_image_size() {
    tch::manual_seed(13);
    let vs = tch::nn::VarStore::new(Device::Cpu);
    let model = UNet::new(vs.root());
    let f = |x: &[Tensor]| model.forward(&x[0]);
    let images = |b, h, w| randn(&[b, 3, h, w]);
    let traced = Tracer::new()
        .parameters(&vs)
        .dynamic_dim("input", 0, Dim::new("batch"))
        .dynamic_dim("input", 2, Dim::new("height"))
        .dynamic_dim("input", 3, Dim::new("width"))
        .trace(f, &[&images(2, 16, 12)])
        .unwrap();
    let sets = vec![
        vec![images(2, 16, 12)],
        vec![images(1, 16, 12)],
        vec![images(3, 8, 20)],
        vec![images(2, 4, 4)],
        vec![images(4, 32, 28)],
    ];
    check_dynamic("dynamic/unet", &traced, f, &sets, Some(tapir_conformance::Tolerance { atol: 1e-4, rtol: 1e-4 }));
    // An odd height breaks the skip concatenation's size guard: refused, naming it.
    let err = traced.replay(&[&images(1, 10, 12)]).unwrap_err().to_string();
    assert!(err.contains("height"), "{err}");
}

// What cannot stay dynamic is an error naming the place, or (when asked) a static dimension
// with a recorded guard; never a silently baked size.

fn batch_tracer() -> Tracer {
    Tracer::new().dynamic_dim("input", 0, Dim::new("batch"))
}

#[test]
fn a_plain_size_read_of_a_dynamic_dimension_is_an_error() {
    let x = randn(&[2, 3]);
    let err = batch_tracer().trace(|x| x[0].view([x[0].size()[0], 3]), &[&x]).unwrap_err().to_string();
    assert!(err.contains("`size()` read the shape [batch, 3]") && err.contains("tests/dynamic.rs"), "{err}");
    let err = batch_tracer().trace(|x| x[0].view([x[0].sym_size()[0].to_i64(), 3]), &[&x]).unwrap_err().to_string();
    assert!(err.contains("the dynamic size `batch` (traced as 2) was read as a plain integer"), "{err}");
}

#[test]
fn a_size_pinned_by_a_baked_constant_is_an_error() {
    // The bias was made for the traced batch: adding it pins `batch` to 2.
    let bias = randn(&[2, 3]);
    let x = randn(&[2, 3]);
    let err = batch_tracer().trace(|x| &x[0] + &Tensor::from(&bias), &[&x]).unwrap_err().to_string();
    assert!(err.contains("holds only when dimension `batch` is 2") && err.contains("broadcast"), "{err}");
}

#[test]
fn specialization_on_request_makes_the_dimension_static_with_a_guard() {
    let bias = randn(&[2, 3]);
    let x = randn(&[2, 3]);
    let traced = batch_tracer().allow_specialization().trace(|x| &x[0] + &Tensor::from(&bias), &[&x]).unwrap();
    assert!(traced.to_string().contains("f32[2,3] = add"), "{traced}");
    let err = traced.replay(&[&randn(&[3, 3])]).unwrap_err().to_string();
    assert!(err.contains("batch == 2"), "{err}");
    let bytes = traced.to_onnx_bytes(&tapir::ExportOptions::default()).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("static at 2") && !text.contains("dim_param"), "{text}");
    let y = tapir::testing::run_tract(&bytes, &[&x]).unwrap();
    assert!(y[0].allclose(&(&x + &bias), 1e-6, 1e-6, false));
}

#[test]
fn comparisons_on_sizes_are_guards_checked_at_other_sizes() {
    let f = |x: &[Tensor]| -> Result<Tensor, CaptureError> {
        let (_, t) = x[0].sym_size2()?;
        Ok(if t > 4 { x[0].narrow(1, 0, 4) } else { x[0].shallow_clone() })
    };
    let x = randn(&[2, 6]);
    let traced = Tracer::new().dynamic_dim("input", 1, Dim::new("seq")).trace(f, &[&x]).unwrap();
    assert!(format!("{traced:?}").contains("guard seq > 4"), "{traced:?}");
    assert_eq!(traced.replay(&[&randn(&[2, 9])]).unwrap()[0].size(), [2, 4]);
    let err = traced.replay(&[&randn(&[2, 3])]).unwrap_err().to_string();
    assert!(err.contains("guard `seq > 4` (comparison, tests/dynamic.rs"), "{err}");
    let report = traced.check(f, &[vec![randn(&[2, 3])]], &tapir::CheckOptions::default());
    assert!(report.to_string().contains("seq > 4"), "{report}");
}

#[test]
fn a_lowering_that_would_bake_a_dynamic_size_is_refused_at_export() {
    // roll lowers to slices at offsets computed from the traced length.
    let x = randn(&[2, 5]);
    let traced = Tracer::new().dynamic_dim("input", 1, Dim::new("seq")).trace(|x| x[0].roll([2], [1]), &[&x]).unwrap();
    let err = traced.to_onnx_bytes(&tapir::ExportOptions::default()).unwrap_err().to_string();
    assert!(err.contains("`roll`") && err.contains("reads the traced size of a dynamic dimension"), "{err}");
}

#[test]
fn static_traces_carry_no_symbols() {
    let x = randn(&[2, 3]);
    let traced = Tracer::new().trace(|x| x[0].view([x[0].size()[0] * 3]).relu(), &[&x]).unwrap();
    assert!(!traced.graph().is_dynamic());
    assert_eq!(format!("{traced}").lines().next().unwrap(), "%0: f32[2,3] = input \"input\"");
    // The sizes are plain numbers: `sym_size` and `size` agree.
    let traced = Tracer::new().trace(|x| x[0].view((x[0].sym_size()[0] * 3,)), &[&x]).unwrap();
    assert!(!traced.graph().is_dynamic());
}

// The example models of `tapir demo`, with dynamic batch (and time for the attention block,
// whose mask input shares it).

#[test]
fn example_models_run_at_any_batch() {
    use tapir_zoo::examples::{causal_mask, mlp, AttentionBlock, SmallCnn};
    tch::manual_seed(14);
    let vs = tch::nn::VarStore::new(Device::Cpu);
    let model = mlp(&vs);
    let f = |x: &[Tensor]| model(&x[0]);
    let traced = Tracer::new().parameters(&vs).dynamic_batch().trace(f, &[&randn(&[4, 32])]).unwrap();
    let sets: Vec<Vec<tch::Tensor>> = [4, 1, 3, 9].iter().map(|&b| vec![randn(&[b, 32])]).collect();
    check_dynamic("dynamic/example_mlp", &traced, f, &sets, None);

    let vs = tch::nn::VarStore::new(Device::Cpu);
    let cnn = SmallCnn::new(vs.root(), 10);
    let f = |x: &[Tensor]| cnn.forward(&x[0]);
    let traced = Tracer::new().parameters(&vs).dynamic_batch().trace(f, &[&randn(&[2, 3, 16, 16])]).unwrap();
    let sets: Vec<Vec<tch::Tensor>> = [2, 1, 3, 5].iter().map(|&b| vec![randn(&[b, 3, 16, 16])]).collect();
    check_dynamic(
        "dynamic/example_cnn",
        &traced,
        f,
        &sets,
        Some(tapir_conformance::Tolerance { atol: 1e-4, rtol: 1e-4 }),
    );

    let vs = tch::nn::VarStore::new(Device::Cpu);
    let block = AttentionBlock::new(vs.root() / "block", 32, 4);
    let f = |x: &[Tensor]| block.forward(&x[0], &x[1]);
    let traced = Tracer::new()
        .parameters(&vs)
        .input_names(["x", "mask"])
        .dynamic_dim("x", 0, Dim::new("batch"))
        .dynamic_dim("x", 1, Dim::new("time"))
        .dynamic_dim("mask", 2, Dim::new("time"))
        .dynamic_dim("mask", 3, Dim::new("time"))
        .trace(f, &[&randn(&[2, 6, 32]), &causal_mask(6)])
        .unwrap();
    let sets: Vec<Vec<tch::Tensor>> =
        [(2, 6), (1, 6), (3, 1), (2, 11)].iter().map(|&(b, t)| vec![randn(&[b, t, 32]), causal_mask(t)]).collect();
    check_dynamic(
        "dynamic/example_attention",
        &traced,
        f,
        &sets,
        Some(tapir_conformance::Tolerance { atol: 1e-4, rtol: 1e-4 }),
    );
}

/// The original UNet's way to join an upsampled map with its skip at any image size: pad the
/// upsampled map by the size difference, computed from both sizes.
#[test]
fn padding_computed_from_sizes_runs_at_odd_sizes() {
    tch::manual_seed(15);
    let vs = tch::nn::VarStore::new(Device::Cpu);
    let conv = Conv2D::new(vs.root() / "conv", 6, 3, 3, ConvConfig { padding: 1, ..Default::default() });
    let f = |x: &[Tensor]| -> Result<Tensor, CaptureError> {
        let skip = &x[0];
        let down = skip.max_pool2d([2], [2], [0], [1], false);
        let (_, _, h, w) = down.sym_size4()?;
        let up = down.upsample_nearest2d((h * 2, w * 2), 2.0, 2.0);
        let (_, _, sh, sw) = skip.sym_size4()?;
        let (dh, dw) = (sh - h * 2, sw - w * 2);
        let up = up.pad((dw / 2, dw - dw / 2, dh / 2, dh - dh / 2), "constant", None);
        Ok(conv.forward(&Tensor::cat(&[skip.shallow_clone(), up], 1)))
    };
    let images = |h, w| randn(&[1, 3, h, w]);
    let traced = Tracer::new()
        .parameters(&vs)
        .dynamic_dim("input", 2, Dim::new("height"))
        .dynamic_dim("input", 3, Dim::new("width"))
        .trace(f, &[&images(9, 8)])
        .unwrap();
    let sets = vec![vec![images(9, 8)], vec![images(2, 3)], vec![images(7, 7)], vec![images(16, 21)]];
    check_dynamic(
        "dynamic/pad_from_sizes",
        &traced,
        f,
        &sets,
        Some(tapir_conformance::Tolerance { atol: 1e-4, rtol: 1e-4 }),
    );
}

/// FNV-1a, 64 bits: a stable fingerprint of a file's bytes.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ *b as u64).wrapping_mul(0x0100_0000_01b3))
}

/// The model re-encoded without its nodes' source locations (`doc_string`), which move whenever
/// the zoo's source lines do.
fn without_source_locations(bytes: &[u8]) -> Vec<u8> {
    use prost::Message;
    let mut model = tapir::onnx::proto::ModelProto::decode(bytes).unwrap();
    if let Some(g) = model.graph.as_mut() {
        for n in &mut g.node {
            n.doc_string = None;
        }
    }
    model.encode_to_vec()
}

/// Static exports do not change with dynamic-shape support: the zoo, with deterministic weights
/// and inputs, exported at three opsets, must match `tests/data/static_exports.txt` byte for byte,
/// source locations aside (fingerprints written when dynamic shapes landed, after checking them against the exports of
/// the commit before; rerun with `TAPIR_BLESS=1` only for a deliberate change of the static
/// export).
#[test]
fn static_exports_are_byte_identical() {
    let mut lines = vec![];
    for name in ["mlp", "resnet18", "encoder", "lstm"] {
        let vs = tch::nn::VarStore::new(Device::Cpu);
        let model = tapir_zoo::build(name, &vs).unwrap();
        let mut vars: Vec<(String, tch::Tensor)> = vs.variables().into_iter().collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        tch::no_grad(|| {
            for (k, (_, v)) in vars.iter_mut().enumerate() {
                let n = v.numel() as i64;
                // Multiples of 1/512 in (-0.2, 0.2): exact in every float type, on every machine.
                let values = ((tch::Tensor::arange(n, (Kind::Int64, Device::Cpu)) * 37 + k as i64).remainder(201)
                    - 100)
                    .to_kind(Kind::Float)
                    / 512.0;
                v.copy_(&values.reshape(v.size()).to_kind(v.kind()));
            }
        });
        // The input's values do not reach the file (no branch reads them).
        let input = model.example_input(2).unwrap();
        let traced = Tracer::new().parameters(&vs).trace(|x| model.module.forward_t(&x[0], false), &[&input]).unwrap();
        for opset in [13, 20, 28] {
            // The model as lowered: graph optimizations (a later, separate change) are off.
            let options = tapir::ExportOptions {
                optimize: tapir::Optimizations::none(),
                ..tapir::ExportOptions::with_opset(opset)
            };
            let bytes = without_source_locations(&traced.to_onnx_bytes(&options).unwrap());
            lines.push(format!("{name} opset{opset} {} bytes fnv1a {:016x}", bytes.len(), fnv1a(&bytes)));
        }
    }
    let want = lines.join("\n") + "\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/static_exports.txt");
    if std::env::var_os("TAPIR_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(have, want, "static exports changed (see the test's comment)");
}

/// Rotary position embeddings over a dynamic length: the angles are computed in the graph from
/// `arange(t)`.
#[test]
fn rotary_embeddings_follow_the_length() {
    let rotary = tapir_nn::RotaryEmbedding::new(8, 10000.0);
    let f = |x: &[Tensor]| rotary.apply(&x[0]);
    let q = |b, t| randn(&[b, 2, t, 8]);
    let traced = Tracer::new()
        .dynamic_dim("input", 0, Dim::new("batch"))
        .dynamic_dim("input", 2, Dim::new("seq"))
        .trace(f, &[&q(2, 5)])
        .unwrap();
    let sets = vec![vec![q(2, 5)], vec![q(1, 1)], vec![q(3, 2)], vec![q(2, 40)]];
    check_dynamic("dynamic/rotary", &traced, f, &sets, None);
}
