//! Loading checkpoints as they come (PyTorch `state_dict`s and Hugging Face `save_pretrained`
//! directories, as safetensors or `torch.save` files, sharded or not) into a VarStore by name,
//! with the renames, transposes, splits, tied weights and buffers real checkpoints need.
//! Guide: `docs/checkpoints.md`.

mod checkpoint;
mod torch_zip;

pub use checkpoint::Checkpoint;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// Why weights could not be loaded. Every problem is listed; nothing is loaded unless all of
/// them are solved.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("reading {path}: {message}")]
    Read { path: String, message: String },
    #[error("{path} does not match the model:{}", problems.iter().map(|p| format!("\n  - {p}")).collect::<String>())]
    Mismatch { path: String, problems: Vec<String> },
}

/// Copies every tensor of the checkpoint at `path` (any format [`Checkpoint::open`] reads) into
/// the VarStore variable of the same name. Errors, listing every key, if any variable is missing
/// from the file, any tensor in the file has no variable, or any shape differs. Dtypes are
/// converted to the variable's. Returns the number of tensors loaded. [`Loader`] does the same
/// with renames, transforms, tied weights, buffers and a non-strict mode.
pub fn load_safetensors(vs: &mut tch::nn::VarStore, path: impl AsRef<Path>) -> Result<usize, LoadError> {
    Ok(Loader::new().load(vs, path)?.loaded.len())
}

type KeyRule = Box<dyn Fn(&str) -> bool>;
type Rename = Box<dyn Fn(&str) -> String>;
type TransformFn = Box<dyn Fn(&tch::Tensor) -> Result<tch::Tensor, tch::TchError>>;

struct Split {
    suffix: String,
    dim: i64,
    parts: Vec<(String, Option<i64>)>,
}

struct Transform {
    what: String,
    applies: KeyRule,
    f: TransformFn,
}

/// How a checkpoint's keys and tensors become a model's variables. Rules apply in this order to
/// each key of the file: [`skip`](Loader::skip) (file keys), the renames in the order given
/// ([`strip_prefix`](Loader::strip_prefix), [`add_prefix`](Loader::add_prefix),
/// [`replace`](Loader::replace), [`rename`](Loader::rename)), [`split`](Loader::split), then
/// [`tie`](Loader::tie); then the tensor goes through the [transforms](Loader::transform) whose
/// rule matches its model key (in the order given) and is copied, cast to the destination's
/// dtype and device, into the VarStore variable or [`buffer`](Loader::buffer) of that name.
///
/// Strict by default: a model key the file lacks (unless [`optional`](Loader::optional)), a
/// file key with no destination, a shape that differs after the transforms, or tied keys with
/// different values fail the load, all listed, before anything is written.
/// [`non_strict`](Loader::non_strict) loads what matches and reports the rest (shapes must
/// still match). Every tensor is read in place from the memory-mapped file and copied once,
/// into its destination.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // A checkpoint with a `model.` prefix, a weight stored transposed and a buffer we recompute.
/// let dir = std::env::temp_dir().join(format!("tapir-loader-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("model.safetensors");
/// let w = tch::Tensor::arange(6, (tch::Kind::Float, tch::Device::Cpu)).reshape([3, 2]);
/// let b = tch::Tensor::zeros([2], (tch::Kind::Float, tch::Device::Cpu));
/// let mask = tch::Tensor::ones([4, 4], (tch::Kind::Float, tch::Device::Cpu));
/// tch::Tensor::write_safetensors(
///     &[("model.proj.weight", &w), ("model.proj.bias", &b), ("model.mask", &mask)],
///     &path,
/// )?;
///
/// let mut vs = tch::nn::VarStore::new(tch::Device::Cpu);
/// let proj = tapir_nn::Linear::new(vs.root() / "proj", 3, 2); // weight [2, 3]
/// let report = tapir_nn::Loader::new()
///     .strip_prefix("model.")
///     .skip(|k| k.ends_with(".mask"))
///     .transpose(|k| k == "proj.weight")
///     .load(&mut vs, &path)?;
/// assert_eq!(report.loaded, ["proj.bias", "proj.weight"]);
/// assert_eq!(report.skipped, ["model.mask"]);
/// assert!(proj.weight.equal(&w.transpose(0, 1)));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(()) }
/// ```
#[derive(Default)]
pub struct Loader {
    skips: Vec<KeyRule>,
    renames: Vec<Rename>,
    splits: Vec<Split>,
    ties: Vec<(String, String)>,
    transforms: Vec<Transform>,
    optional: Vec<KeyRule>,
    buffers: Vec<(String, tch::Tensor)>,
    non_strict: bool,
}

impl fmt::Debug for Loader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loader")
            .field("skips", &self.skips.len())
            .field("renames", &self.renames.len())
            .field("splits", &self.splits.iter().map(|s| &s.suffix).collect::<Vec<_>>())
            .field("ties", &self.ties)
            .field("transforms", &self.transforms.iter().map(|t| &t.what).collect::<Vec<_>>())
            .field("buffers", &self.buffers.iter().map(|b| &b.0).collect::<Vec<_>>())
            .field("non_strict", &self.non_strict)
            .finish()
    }
}

/// What a load did, key by key. Model keys are the VarStore's names; file keys the checkpoint's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadReport {
    /// Model keys written, sorted.
    pub loaded: Vec<String>,
    /// Model keys the file lacks, left as initialized (only in a non-strict load).
    pub missing: Vec<String>,
    /// [`Loader::optional`] model keys the file lacks, left as initialized.
    pub kept: Vec<String>,
    /// File keys with no destination (only in a non-strict load).
    pub unexpected: Vec<String>,
    /// File keys ignored by [`Loader::skip`].
    pub skipped: Vec<String>,
    /// `(file key, model key)` for every key whose name changed.
    pub renamed: Vec<(String, String)>,
    /// `(model key, what)`: splits, transforms and dtype casts, in the order applied.
    pub transformed: Vec<(String, String)>,
    /// `(file key, model key)`: file keys not loaded because the model key they are tied to was
    /// loaded from another key (their values are checked equal).
    pub tied: Vec<(String, String)>,
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "loaded {} tensors", self.loaded.len())?;
        let lists: [(&str, Vec<String>); 7] = [
            ("missing (left as initialized)", self.missing.clone()),
            ("optional, not in the file", self.kept.clone()),
            ("unexpected (not loaded)", self.unexpected.clone()),
            ("skipped", self.skipped.clone()),
            ("renamed", self.renamed.iter().map(|(a, b)| format!("{a} -> {b}")).collect()),
            ("transformed", self.transformed.iter().map(|(k, w)| format!("{k}: {w}")).collect()),
            ("tied", self.tied.iter().map(|(a, b)| format!("{a} = {b}")).collect()),
        ];
        for (what, keys) in lists {
            if !keys.is_empty() {
                write!(f, "\n{what} ({}):", keys.len())?;
                for k in keys {
                    write!(f, "\n  {k}")?;
                }
            }
        }
        Ok(())
    }
}

/// Where a bound weight's bytes come from.
enum Binding {
    /// A file key, or rows of it along a dimension: streamed from the file when written.
    File { key: String, part: Option<(i64, i64, i64)> },
    /// Computed while binding (a transformed weight).
    Owned(tch::Tensor),
}

/// The weights a [`Loader::bind`] found, by model key, as a trace's weight source.
struct Bound<'a> {
    checkpoint: &'a Checkpoint,
    weights: BTreeMap<String, Binding>,
}

impl tapir::WeightSource for Bound<'_> {
    fn weight(&self, name: &str, meta: &tapir::TensorMeta, slice: Option<&tapir::SliceOf>) -> Option<tapir::Weight> {
        let (binding, cut) = match (self.weights.get(name), slice) {
            (Some(b), _) => (b, None),
            (None, Some(s)) => (self.weights.get(&s.parent)?, Some((s.dim, s.start, s.len))),
            (None, None) => return None,
        };
        Some(match binding {
            Binding::File { key, part } => match (*part, cut) {
                (None, cut) | (cut @ Some(_), None) => self.checkpoint.weight_data(key, cut, meta),
                (Some((d0, s0, _)), Some((d, s, l))) if d0 == d => {
                    self.checkpoint.weight_data(key, Some((d, s0 + s, l)), meta)
                }
                _ => Err("a slice of a split weight along another dimension".to_owned()),
            },
            Binding::Owned(t) => {
                let part = match cut {
                    Some((d, s, l)) => t.f_narrow(d, s, l).map_err(|e| e.to_string()),
                    None => Ok(t.shallow_clone()),
                };
                part.and_then(|p| {
                    if p.size().as_slice() != &meta.shape[..] {
                        return Err(format!(
                            "shape {:?} after the transforms, {:?} in the model",
                            p.size(),
                            &meta.shape[..]
                        ));
                    }
                    tapir::tensor_data(&p)
                })
            }
        })
    }
}

fn read_err(ck: &Checkpoint, key: &str, message: String) -> LoadError {
    LoadError::Read { path: ck.path().to_owned(), message: format!("key `{key}`: {message}") }
}

/// A destination key, the part of the file's tensor it takes (`(dim, start, len)`), and notes
/// for the report.
type Target = (String, Option<(i64, i64, i64)>, Vec<String>);

/// One tensor to write: from `file_key`, optionally a part of it along a dimension.
struct Assignment {
    file_key: String,
    part: Option<(i64, i64, i64)>,
    notes: Vec<String>,
}

impl Loader {
    /// No rules: every file key must name a VarStore variable, and every variable must be in the
    /// file.
    pub fn new() -> Loader {
        Loader::default()
    }

    /// Ignores file keys (as written in the file) for which `rule` is true: buffers the model
    /// recomputes (`attn.bias` masks, `position_ids`), heads the model does not have.
    pub fn skip(mut self, rule: impl Fn(&str) -> bool + 'static) -> Loader {
        self.skips.push(Box::new(rule));
        self
    }

    /// Removes `prefix` from keys that start with it (`transformer.` in GPT-2 checkpoints).
    pub fn strip_prefix(self, prefix: &str) -> Loader {
        let prefix = prefix.to_owned();
        self.rename(move |k| k.strip_prefix(prefix.as_str()).unwrap_or(k).to_owned())
    }

    /// Puts `prefix` before every key.
    pub fn add_prefix(self, prefix: &str) -> Loader {
        let prefix = prefix.to_owned();
        self.rename(move |k| format!("{prefix}{k}"))
    }

    /// Replaces every occurrence of `from` in keys by `to` (`LayerNorm.gamma` to
    /// `LayerNorm.weight` in older BERT checkpoints).
    pub fn replace(self, from: &str, to: &str) -> Loader {
        let (from, to) = (from.to_owned(), to.to_owned());
        self.rename(move |k| k.replace(from.as_str(), to.as_str()))
    }

    /// Renames keys with a function of the key.
    pub fn rename(mut self, f: impl Fn(&str) -> String + 'static) -> Loader {
        self.renames.push(Box::new(f));
        self
    }

    /// Cuts a fused tensor into equal parts along `dim`: a (renamed) key ending with `suffix`
    /// becomes one key per part, the suffix replaced by the part's name (GPT-2's `c_attn.weight`
    /// into `q.weight`, `k.weight`, `v.weight`).
    pub fn split(mut self, suffix: &str, dim: i64, parts: &[&str]) -> Loader {
        let parts = parts.iter().map(|p| (p.to_string(), None)).collect();
        self.splits.push(Split { suffix: suffix.to_owned(), dim, parts });
        self
    }

    /// Like [`split`](Loader::split), with the size of each part (fused attention with fewer
    /// key/value heads than query heads).
    pub fn split_sizes(mut self, suffix: &str, dim: i64, parts: &[(&str, i64)]) -> Loader {
        let parts = parts.iter().map(|(p, n)| (p.to_string(), Some(*n))).collect();
        self.splits.push(Split { suffix: suffix.to_owned(), dim, parts });
        self
    }

    /// Declares model key `alias` another name of model key `target` (one VarStore variable used
    /// twice, as a tied output head is): the file may hold either key or both (then their values
    /// must be equal); the variable is loaded once, and exports hold it once.
    pub fn tie(mut self, alias: &str, target: &str) -> Loader {
        self.ties.push((alias.to_owned(), target.to_owned()));
        self
    }

    /// Applies `f` to tensors whose model key matches `rule`, before the shape check and the
    /// copy. `what` names the transform in the report. `f` receives a tensor that views the
    /// file's bytes: return a view or a new tensor; do not keep the input.
    pub fn transform(
        mut self,
        what: &str,
        rule: impl Fn(&str) -> bool + 'static,
        f: impl Fn(&tch::Tensor) -> Result<tch::Tensor, tch::TchError> + 'static,
    ) -> Loader {
        self.transforms.push(Transform { what: what.to_owned(), applies: Box::new(rule), f: Box::new(f) });
        self
    }

    /// Swaps the last two dimensions of tensors whose model key matches `rule` (weights stored
    /// `[in, out]`, as GPT-2's `Conv1D` does, loaded into a `[out, in]` linear layer).
    pub fn transpose(self, rule: impl Fn(&str) -> bool + 'static) -> Loader {
        self.transform("transpose", rule, |t| t.f_transpose(-2, -1))
    }

    /// Model keys for which `rule` is true may be absent from the file: they keep the values the
    /// model gave them (buffers it computes, such as rotary tables).
    pub fn optional(mut self, rule: impl Fn(&str) -> bool + 'static) -> Loader {
        self.optional.push(Box::new(rule));
        self
    }

    /// A destination outside the VarStore: the file's tensor for model key `key` is copied into
    /// `tensor` (which shares storage with the model's own, e.g. a buffer created with
    /// `tch::Tensor::zeros`).
    pub fn buffer(mut self, key: &str, tensor: &tch::Tensor) -> Loader {
        self.buffers.push((key.to_owned(), tensor.shallow_clone()));
        self
    }

    /// Loads what matches and reports missing and unexpected keys instead of failing (as
    /// PyTorch's `load_state_dict(strict=False)`); shapes must still match.
    pub fn non_strict(mut self) -> Loader {
        self.non_strict = true;
        self
    }

    /// Opens the checkpoint at `path` ([`Checkpoint::open`]) and loads it into `vs`.
    pub fn load(&self, vs: &mut tch::nn::VarStore, path: impl AsRef<Path>) -> Result<LoadReport, LoadError> {
        self.load_from(vs, &Checkpoint::open(path)?)
    }

    /// Loads an opened checkpoint into `vs`.
    pub fn load_from(&self, vs: &mut tch::nn::VarStore, ck: &Checkpoint) -> Result<LoadReport, LoadError> {
        let (assignments, dest, mut report) = self.assign(vs, ck, false)?;
        tch::no_grad(|| {
            for (target, a) in &assignments {
                let mut v = dest[target].shallow_clone();
                let (from, to) = (ck.entry(&a.file_key).map(|e| e.kind), v.kind());
                let plain = a.part.is_none() && !self.transforms.iter().any(|tr| (tr.applies)(target));
                let copied = plain
                    && ck.copy_contiguous_into(&a.file_key, &v).map_err(|message| read_err(ck, target, message))?;
                if !copied {
                    self.with_tensor(ck, a, target, |t| v.f_copy_(t).map_err(|e| e.to_string()))
                        .map_err(|message| read_err(ck, target, message))?;
                }
                self.note(&mut report, target, a, from, to);
            }
            Ok::<(), LoadError>(())
        })?;
        Ok(report)
    }

    /// Binds the weights of `traced` (traced with `Tracer::parameters(vs)`) to the checkpoint
    /// `ck` by this loader's rules, instead of loading them into `vs`: for a model built with
    /// [`placeholder_parameters`](crate::placeholder_parameters) and traced shape-only, so that
    /// export streams each weight from the file (`docs/checkpoints.md`). Renames, skips, ties,
    /// splits and optional keys apply as in [`Loader::load`], with the same checks, every
    /// problem listed before anything is bound. A plain or split weight streams from the file
    /// when written; a [transformed](Loader::transform) one (a transposed GPT-2 `Conv1D`) is
    /// computed now and held in memory until the trace is dropped. [`Loader::buffer`]s are not
    /// bound (they are the model's own tensors). The report lists the keys bound as `loaded`.
    pub fn bind(
        &self,
        traced: &mut tapir::Traced,
        vs: &tch::nn::VarStore,
        ck: &Checkpoint,
    ) -> Result<LoadReport, LoadError> {
        let (assignments, dest, mut report) = self.assign(vs, ck, true)?;
        let mut weights = BTreeMap::new();
        for (target, a) in &assignments {
            let var = &dest[target];
            let binding = if self.transforms.iter().any(|tr| (tr.applies)(target)) {
                let kind = var.kind();
                let owned = self
                    .with_tensor(ck, a, target, |t| {
                        // An owned copy: `t` may view the mapped file, which the view outlives not.
                        let t = t.f_to_kind(kind).map_err(|e| e.to_string())?;
                        let mut owned = t.f_empty_like().map_err(|e| e.to_string())?;
                        owned.f_copy_(&t).map_err(|e| e.to_string())?;
                        Ok(owned)
                    })
                    .map_err(|message| read_err(ck, target, message))?;
                Binding::Owned(owned)
            } else {
                Binding::File { key: a.file_key.clone(), part: a.part }
            };
            weights.insert(target.clone(), binding);
            self.note(&mut report, target, a, ck.entry(&a.file_key).map(|e| e.kind), var.kind());
        }
        let source = Bound { checkpoint: ck, weights };
        traced.bind_weights(&source).map_err(|e| LoadError::Mismatch {
            path: ck.path().to_owned(),
            problems: match e {
                tapir::Error::Weights { problems } => problems,
                other => vec![other.to_string()],
            },
        })?;
        Ok(report)
    }

    /// Records in `report` what loading (or binding) `target` from `a` did.
    fn note(&self, report: &mut LoadReport, target: &str, a: &Assignment, from: Option<tch::Kind>, to: tch::Kind) {
        let applied = self.transforms.iter().filter(|tr| (tr.applies)(target)).map(|tr| &tr.what);
        for n in a.notes.iter().filter(|n| !n.starts_with("tied")).chain(applied) {
            report.transformed.push((target.to_owned(), n.clone()));
        }
        if let Some(from) = from.filter(|&k| k != to) {
            report.transformed.push((target.to_owned(), format!("cast {from:?} to {to:?}")));
        }
        report.loaded.push(target.to_owned());
    }

    /// Which file key (and part) each model key takes, after every check: the plan of a load or
    /// a bind. `binding`: the destinations are placeholders to bind (a load refuses them).
    #[allow(clippy::type_complexity)]
    fn assign(
        &self,
        vs: &tch::nn::VarStore,
        ck: &Checkpoint,
        binding: bool,
    ) -> Result<(BTreeMap<String, Assignment>, BTreeMap<String, tch::Tensor>, LoadReport), LoadError> {
        let mut dest: BTreeMap<String, tch::Tensor> = vs.variables().into_iter().collect();
        for (k, t) in &self.buffers {
            dest.insert(k.clone(), t.shallow_clone());
        }
        let mut report = LoadReport::default();
        let mut problems = vec![];
        let plan = self.plan(ck, &dest, &mut report);
        let mut extra: Vec<(Assignment, String, String)> = vec![];
        // Keys loaded twice: the target's own key wins; the others are checked equal to it.
        let mut assignments: BTreeMap<String, Assignment> = BTreeMap::new();
        for (target, a) in plan {
            match assignments.remove(&target) {
                None => {
                    assignments.insert(target, a);
                }
                Some(first) => {
                    let (keep, other) =
                        if first.notes.iter().any(|n| n.starts_with("tied")) { (a, first) } else { (first, a) };
                    report.tied.push((other.file_key.clone(), target.clone()));
                    extra.push((other, keep.file_key.clone(), target.clone()));
                    assignments.insert(target, keep);
                }
            }
        }
        // Dry run: shapes after the transforms, without reading the weights.
        for (target, a) in &assignments {
            let want = dest[target].size();
            match self.with_tensor(ck, a, target, |t| Ok(t.size())) {
                Ok(got) if got == want => {}
                Ok(got) => problems.push(format!(
                    "key `{target}`: shape {got:?} in the file{}, {want:?} in the model",
                    if a.notes.is_empty() { String::new() } else { format!(" (after {})", a.notes.join(", ")) }
                )),
                Err(e) => problems.push(format!("key `{target}`: {e}")),
            }
        }
        for (other, kept_key, target) in extra.iter() {
            let same = self.with_tensor(ck, other, target, |a| {
                let kept = &assignments[target];
                self.with_tensor(ck, kept, target, |b| Ok(a.size() == b.size() && a.equal(b)))
            });
            if !matches!(same, Ok(true)) {
                problems.push(format!(
                    "keys `{}` and `{kept_key}` are tied to `{target}` but hold different values",
                    other.file_key
                ));
            }
        }
        for (k, _) in dest.iter().filter(|(k, _)| !assignments.contains_key(*k)) {
            if self.optional.iter().any(|r| r(k)) {
                report.kept.push(k.clone());
            } else {
                report.missing.push(k.clone());
            }
        }
        for target in assignments.keys().filter(|_| !binding) {
            if tapir::is_placeholder(&dest[target]) {
                problems.push(format!(
                    "key `{target}`: the model's variable is a placeholder (built with `placeholder_parameters`), which holds no data to load into: bind a trace's weights to the checkpoint instead (`Traced::bind_weights`), or build the model normally"
                ));
            }
        }
        if !self.non_strict {
            problems.extend(report.missing.iter().map(|k| format!("missing key `{k}`")));
            problems.extend(report.unexpected.iter().map(|k| self.unexpected_problem(ck, k, &assignments)));
        }
        if !problems.is_empty() {
            problems.sort();
            return Err(LoadError::Mismatch { path: ck.path().to_owned(), problems });
        }
        Ok((assignments, dest, report))
    }

    /// Maps each file key to its destinations.
    fn plan(
        &self,
        ck: &Checkpoint,
        dest: &BTreeMap<String, tch::Tensor>,
        report: &mut LoadReport,
    ) -> Vec<(String, Assignment)> {
        let mut plan = vec![];
        for key in ck.keys() {
            if self.skips.iter().any(|s| s(key)) {
                report.skipped.push(key.to_owned());
                continue;
            }
            let name = self.renames.iter().fold(key.to_owned(), |k, r| r(&k));
            let mut targets = vec![(name.clone(), None, vec![])];
            if let Some(split) = self.splits.iter().find(|s| name.ends_with(&s.suffix)) {
                targets = self.split_targets(ck, key, &name, split);
            }
            for (mut target, part, mut notes) in targets {
                if let Some((_, t)) = self.ties.iter().find(|(alias, _)| *alias == target) {
                    notes.push(format!("tied to `{t}`"));
                    target = t.clone();
                }
                if !dest.contains_key(&target) {
                    report.unexpected.push(key.to_owned());
                    continue;
                }
                if target != key {
                    report.renamed.push((key.to_owned(), target.clone()));
                }
                plan.push((target, Assignment { file_key: key.to_owned(), part, notes }));
            }
        }
        report.unexpected.dedup();
        plan
    }

    fn split_targets(&self, ck: &Checkpoint, key: &str, name: &str, split: &Split) -> Vec<Target> {
        let stem = &name[..name.len() - split.suffix.len()];
        let shape = ck.shape(key).unwrap_or_default();
        let dim = if split.dim < 0 { split.dim + shape.len() as i64 } else { split.dim };
        let total = shape.get(dim.max(0) as usize).copied().unwrap_or(0);
        let n = split.parts.len() as i64;
        let mut start = 0;
        split
            .parts
            .iter()
            .enumerate()
            .map(|(i, (part, size))| {
                let len = size.unwrap_or(total / n.max(1));
                let note = format!("part {} of {n} along dim {dim} of `{key}`", i + 1);
                let t = (format!("{stem}{part}"), Some((dim, start, len)), vec![note]);
                start += len;
                t
            })
            .collect()
    }

    /// Runs `f` on the tensor `a` gives for `target`: the file's tensor, its part, transformed.
    fn with_tensor<R>(
        &self,
        ck: &Checkpoint,
        a: &Assignment,
        target: &str,
        f: impl FnOnce(&tch::Tensor) -> Result<R, String>,
    ) -> Result<R, String> {
        ck.with_view(&a.file_key, |view| {
            let mut t = match a.part {
                Some((dim, start, len)) => view
                    .f_narrow(dim, start, len)
                    .map_err(|e| format!("cannot take {len} from {start} along dim {dim}: {e}"))?,
                None => view.shallow_clone(),
            };
            for tr in self.transforms.iter().filter(|tr| (tr.applies)(target)) {
                t = (tr.f)(&t).map_err(|e| format!("transform `{}`: {e}", tr.what))?;
            }
            f(&t)
        })
    }

    /// The problem line of an unexpected key, with a hint when it shares storage with a key that
    /// is loaded (a tied weight the model holds once).
    fn unexpected_problem(&self, ck: &Checkpoint, key: &str, loaded: &BTreeMap<String, Assignment>) -> String {
        let storage = ck.entry(key).map(|e| (e.storage, e.shape.clone()));
        let twin = loaded
            .iter()
            .find(|(_, a)| ck.entry(&a.file_key).map(|e| (e.storage, e.shape.clone())) == storage && a.file_key != key);
        match twin {
            Some((target, _)) => format!(
                "unexpected key `{key}` (it shares storage with the loaded `{target}`: declare `Loader::tie(\"{key}\", \"{target}\")` if the model uses one variable for both)"
            ),
            None => format!("unexpected key `{key}`"),
        }
    }
}
