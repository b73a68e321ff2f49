//! The checkpoint loader: formats (safetensors, `torch.save` zip archives written by PyTorch,
//! sharded sets), rules (renames, splits, transposes, ties, buffers, optional keys), strict and
//! non-strict loads, and every error case.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use tapir_nn::{Checkpoint, LoadError, Loader};
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

fn dir(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("load").join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs Python `code` with `out` (a directory) as `OUT`.
fn python(code: &str, out: &Path) {
    let python = std::env::var("TAPIR_PYTHON").expect("TAPIR_PYTHON is not set: run ./dev setup");
    let program = format!(
        "import torch, collections\nfrom pathlib import Path\nOUT = Path({:?})\n{code}",
        out.display().to_string()
    );
    let r = std::process::Command::new(python).arg("-c").arg(program).output().unwrap();
    assert!(r.status.success(), "python failed:\n{}", String::from_utf8_lossy(&r.stderr));
}

fn problems(e: LoadError) -> Vec<String> {
    match e {
        LoadError::Mismatch { problems, .. } => problems,
        other => panic!("expected a mismatch, got {other}"),
    }
}

fn t(values: &[f32], shape: &[i64]) -> Tensor {
    Tensor::from_slice(values).reshape(shape)
}

#[test]
fn torch_save_archives_read_as_pytorch_wrote_them() {
    let d = dir("torch_save");
    python(
        r#"
g = torch.Generator().manual_seed(0)
w = torch.randn(4, 6, generator=g)
sd = collections.OrderedDict()
sd["f32"] = w
sd["transposed"] = w.t()                 # strides (1, 6): a view of w's storage
sd["narrowed"] = w[1:3, 2:5]             # a storage offset and strides
sd["bf16"] = torch.randn(3, generator=g).to(torch.bfloat16)
sd["f16"] = torch.randn(2, 2, generator=g).half()
sd["i64"] = torch.arange(5)
sd["i32"] = torch.arange(3, dtype=torch.int32)
sd["u8"] = torch.tensor([1, 255], dtype=torch.uint8)
sd["bool"] = torch.tensor([True, False])
sd["f64"] = torch.tensor([1.5], dtype=torch.float64)
sd["scalar"] = torch.tensor(2.5)
sd["empty"] = torch.zeros(0, 3)
sd["param"] = torch.nn.Parameter(torch.ones(2))
sd["nested"] = {"inner": torch.full((2,), 7.0), "step": 3}
torch.save(sd, OUT / "sd.bin")
flat = {k: v.detach().contiguous().clone() for k, v in sd.items() if k != "nested"}
flat["nested.inner"] = sd["nested"]["inner"].clone()
torch.save(flat, OUT / "flat.pt")
from safetensors.torch import save_file
save_file(flat, str(OUT / "flat.safetensors"))
torch.save(sd, OUT / "legacy.bin", _use_new_zipfile_serialization=False)
"#,
        &d,
    );
    let bin = Checkpoint::open(d.join("sd.bin")).unwrap();
    let reference = Checkpoint::open(d.join("flat.safetensors")).unwrap();
    assert_eq!(bin.keys().collect::<Vec<_>>(), reference.keys().collect::<Vec<_>>());
    for k in reference.keys() {
        let (a, b) = (bin.tensor(k).unwrap(), reference.tensor(k).unwrap());
        assert_eq!((a.kind(), a.size()), (b.kind(), b.size()), "{k}");
        assert!(a.equal(&b), "{k}: {a} vs {b}");
    }
    assert_eq!(bin.shape("transposed"), Some(&[6, 4][..]));
    assert_eq!(bin.kind("bf16"), Some(Kind::BFloat16));
    let pt = Checkpoint::open(d.join("flat.pt")).unwrap();
    assert_eq!(pt.len(), reference.len());

    // The pre-1.6 format (not a zip archive) is refused by name, not misread.
    let e = Checkpoint::open(d.join("legacy.bin")).unwrap_err().to_string();
    assert!(e.contains("legacy.bin") && e.contains("not a valid safetensors file"), "{e}");
}

#[test]
fn strict_load_lists_every_problem_and_writes_nothing() {
    let d = dir("strict");
    let path = d.join("m.safetensors");
    Tensor::write_safetensors(&[("a.weight", &t(&[1., 2., 3.], &[3])), ("c", &t(&[0.], &[1]))], &path).unwrap();
    let mut vs = VarStore::new(Device::Cpu);
    let a = (vs.root() / "a").zeros("weight", &[2]);
    let b = vs.root().zeros("b", &[1]);
    let e = Loader::new().load(&mut vs, &path).unwrap_err();
    let shown = e.to_string();
    assert!(shown.starts_with(&path.display().to_string()), "{shown}");
    assert_eq!(
        problems(e),
        ["key `a.weight`: shape [3] in the file, [2] in the model", "missing key `b`", "unexpected key `c`"]
    );
    assert!(a.equal(&Tensor::zeros([2], (Kind::Float, Device::Cpu))) && b.sum(Kind::Float).double_value(&[]) == 0.0);
}

#[test]
fn non_strict_load_reports_what_it_did_not_load() {
    let d = dir("non_strict");
    let path = d.join("m.safetensors");
    let w = t(&[1., 2.], &[2]);
    Tensor::write_safetensors(&[("a", &w), ("extra", &w)], &path).unwrap();
    let mut vs = VarStore::new(Device::Cpu);
    let a = vs.root().zeros("a", &[2]);
    let _ = vs.root().zeros("b", &[1]);
    let report = Loader::new().non_strict().load(&mut vs, &path).unwrap();
    assert_eq!((report.loaded.as_slice(), report.missing.as_slice()), (&["a".to_owned()][..], &["b".to_owned()][..]));
    assert_eq!(report.unexpected, ["extra"]);
    assert!(a.equal(&w));
    let shown = report.to_string();
    assert!(shown.contains("loaded 1 tensors") && shown.contains("missing (left as initialized) (1):\n  b"), "{shown}");

    // Shapes must match even when not strict.
    Tensor::write_safetensors(&[("a", &t(&[1.], &[1]))], &path).unwrap();
    assert!(Loader::new().non_strict().load(&mut vs, &path).is_err());
}

#[test]
fn fused_weights_split_and_transposed_into_linear_layers() {
    // GPT-2's c_attn: weight [in, 3 * out] ([in, out] per part), bias [3 * out].
    let d = dir("split");
    let path = d.join("m.safetensors");
    let w = Tensor::arange(4 * 6, (Kind::Float, Device::Cpu)).reshape([4, 6]);
    let b = Tensor::arange(6, (Kind::Float, Device::Cpu));
    Tensor::write_safetensors(&[("attn.c_attn.weight", &w), ("attn.c_attn.bias", &b)], &path).unwrap();
    let mut vs = VarStore::new(Device::Cpu);
    let root = vs.root();
    let layers: Vec<_> = ["q", "k", "v"].iter().map(|n| tapir_nn::Linear::new(&root / "attn" / *n, 4, 2)).collect();
    let report = Loader::new()
        .split("c_attn.weight", 1, &["q.weight", "k.weight", "v.weight"])
        .split("c_attn.bias", 0, &["q.bias", "k.bias", "v.bias"])
        .transpose(|k| k.ends_with(".weight"))
        .load(&mut vs, &path)
        .unwrap();
    for (i, l) in layers.iter().enumerate() {
        assert!(l.weight.equal(&w.narrow(1, 2 * i as i64, 2).t_()), "part {i}");
        assert!(l.bias.as_ref().unwrap().equal(&b.narrow(0, 2 * i as i64, 2)));
    }
    assert!(report
        .transformed
        .contains(&("attn.k.weight".into(), "part 2 of 3 along dim 1 of `attn.c_attn.weight`".into())));
    assert!(report.transformed.contains(&("attn.k.weight".into(), "transpose".into())));

    // Sized parts (grouped-query attention) and a mismatch after a transform, named as such.
    let mut vs = VarStore::new(Device::Cpu);
    let q = (vs.root() / "attn" / "q").zeros("weight", &[4, 4]);
    let _ = (vs.root() / "attn" / "kv").zeros("weight", &[4, 2]);
    let e = Loader::new()
        .split_sizes("c_attn.weight", 1, &[("q.weight", 4), ("kv.weight", 2)])
        .transpose(|k| k.ends_with("kv.weight"))
        .non_strict()
        .load(&mut vs, &path)
        .unwrap_err();
    let p = problems(e);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].contains("`attn.kv.weight`: shape [2, 4] in the file (after part 2 of 2"), "{p:?}");
    assert!(q.sum(Kind::Float).double_value(&[]) == 0.0);
}

#[test]
fn tied_weights_load_once_from_either_key() {
    let d = dir("tie");
    let w = t(&[1., 2., 3., 4.], &[2, 2]);
    let loader = || Loader::new().tie("lm_head.weight", "wte.weight");
    let model = || {
        let vs = VarStore::new(Device::Cpu);
        let v = (vs.root() / "wte").zeros("weight", &[2, 2]);
        (vs, v)
    };
    // Only the alias in the file (save_pretrained keeps either).
    let only_alias = d.join("alias.safetensors");
    Tensor::write_safetensors(&[("lm_head.weight", &w)], &only_alias).unwrap();
    let (mut vs, v) = model();
    let r = loader().load(&mut vs, &only_alias).unwrap();
    assert!(v.equal(&w) && r.loaded == ["wte.weight"] && r.tied.is_empty());
    // Both, equal: loaded once, the other reported.
    let both = d.join("both.safetensors");
    Tensor::write_safetensors(&[("lm_head.weight", &w), ("wte.weight", &w)], &both).unwrap();
    let (mut vs, _) = model();
    let r = loader().load(&mut vs, &both).unwrap();
    assert_eq!(r.tied, [("lm_head.weight".into(), "wte.weight".into())]);
    // Both, different: an error naming both keys.
    let differ = d.join("differ.safetensors");
    Tensor::write_safetensors(&[("lm_head.weight", &(&w * 2)), ("wte.weight", &w)], &differ).unwrap();
    let (mut vs, _) = model();
    let p = problems(loader().load(&mut vs, &differ).unwrap_err());
    assert_eq!(p, ["keys `lm_head.weight` and `wte.weight` are tied to `wte.weight` but hold different values"]);

    // Without `tie`, a key sharing storage with a loaded one (a state_dict's tied head) is
    // reported with the fix.
    python(
        r#"
w = torch.arange(4.0).reshape(2, 2)
torch.save(collections.OrderedDict([("wte.weight", w), ("lm_head.weight", w)]), OUT / "shared.bin")
"#,
        &d,
    );
    let (mut vs, _) = model();
    let p = problems(Loader::new().load(&mut vs, d.join("shared.bin")).unwrap_err());
    assert!(p[0].contains("shares storage with the loaded `wte.weight`") && p[0].contains("Loader::tie"), "{p:?}");
}

#[test]
fn buffers_and_optional_keys() {
    let d = dir("buffers");
    let path = d.join("m.safetensors");
    let freq = t(&[1., 0.5], &[2]);
    Tensor::write_safetensors(&[("rotary.inv_freq", &freq), ("w", &freq)], &path).unwrap();
    let mut vs = VarStore::new(Device::Cpu);
    let w = vs.root().zeros("w", &[2]);
    let mask = vs.root().ones_no_train("mask", &[2]);
    let buffer = Tensor::zeros([2], (Kind::Float, Device::Cpu));
    let report =
        Loader::new().buffer("rotary.inv_freq", &buffer).optional(|k| k == "mask").load(&mut vs, &path).unwrap();
    assert!(buffer.equal(&freq) && w.equal(&freq) && mask.equal(&Tensor::ones([2], (Kind::Float, Device::Cpu))));
    assert_eq!(report.kept, ["mask"]);
    // Casts are applied and reported.
    let half = d.join("half.safetensors");
    Tensor::write_safetensors(&[("w", &freq.to_kind(Kind::BFloat16)), ("rotary.inv_freq", &freq)], &half).unwrap();
    let report =
        Loader::new().buffer("rotary.inv_freq", &buffer).optional(|k| k == "mask").load(&mut vs, &half).unwrap();
    assert_eq!(report.transformed, [("w".into(), "cast BFloat16 to Float".into())]);
}

#[test]
fn sharded_checkpoints_and_directories() {
    let d = dir("sharded");
    let (a, b) = (t(&[1.], &[1]), t(&[2., 3.], &[2]));
    Tensor::write_safetensors(&[("a", &a)], d.join("model-00001-of-00002.safetensors")).unwrap();
    Tensor::write_safetensors(&[("b", &b)], d.join("model-00002-of-00002.safetensors")).unwrap();
    let index = r#"{"metadata": {"total_size": 12}, "weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}"#;
    std::fs::write(d.join("model.safetensors.index.json"), index).unwrap();
    let ck = Checkpoint::open(&d).unwrap();
    assert_eq!(ck.keys().collect::<Vec<_>>(), ["a", "b"]);
    assert!(ck.tensor("b").unwrap().equal(&b));

    // An index naming a key its shard lacks, a missing shard, an empty directory: errors that
    // say which.
    let bad = r#"{"weight_map": {"a": "model-00001-of-00002.safetensors", "z": "model-00001-of-00002.safetensors"}}"#;
    std::fs::write(d.join("bad.index.json"), bad).unwrap();
    let e = Checkpoint::open(d.join("bad.index.json")).unwrap_err().to_string();
    assert!(e.contains("key `z` is in the index but not in its shard"), "{e}");
    std::fs::write(d.join("gone.index.json"), r#"{"weight_map": {"a": "nope.safetensors"}}"#).unwrap();
    let e = Checkpoint::open(d.join("gone.index.json")).unwrap_err().to_string();
    assert!(e.contains("nope.safetensors"), "{e}");
    let empty = dir("empty");
    let e = Checkpoint::open(&empty).unwrap_err().to_string();
    assert!(e.contains("holds none of model.safetensors"), "{e}");
}

#[test]
fn damaged_files_are_errors() {
    let d = dir("damaged");
    let good = d.join("good.safetensors");
    Tensor::write_safetensors(&[("a", &t(&[1., 2., 3., 4.], &[4]))], &good).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let truncated = d.join("truncated.safetensors");
    std::fs::write(&truncated, &bytes[..bytes.len() - 3]).unwrap();
    assert!(Checkpoint::open(&truncated).is_err());
    let empty = d.join("empty.bin");
    std::fs::write(&empty, b"").unwrap();
    assert!(Checkpoint::open(&empty).is_err());

    // A torch.save archive cut short, and one whose pickle was overwritten.
    python(r#"torch.save({"w": torch.arange(8.0)}, OUT / "sd.bin")"#, &d);
    let bin = std::fs::read(d.join("sd.bin")).unwrap();
    std::fs::write(d.join("cut.bin"), &bin[..bin.len() / 2]).unwrap();
    assert!(Checkpoint::open(d.join("cut.bin")).is_err());
    let mut garbled = bin.clone();
    let at = garbled.windows(8).position(|w| w == b"data.pkl").unwrap() + 8 + 40;
    garbled[at..at + 16].fill(0xff);
    std::fs::write(d.join("garbled.bin"), &garbled).unwrap();
    assert!(Checkpoint::open(d.join("garbled.bin")).is_err());
}
