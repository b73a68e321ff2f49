//! A checkpoint's tensors, memory-mapped: safetensors files, `torch.save` zip archives
//! (`pytorch_model.bin`, `.pt`, `.pth`), sharded sets with an index file, or a directory as
//! `save_pretrained` writes it. Tensors are read in place; the only copy made of a weight is the
//! one into its destination.

use super::{torch_zip, LoadError};
use std::collections::BTreeMap;
use std::path::Path;

/// Where one tensor's bytes are: file number, byte offset of its first element, dtype, shape and
/// (for `torch.save` files) strides in elements. `storage` identifies the bytes it shares with
/// other keys (tied weights in a `state_dict`).
#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub file: usize,
    pub start: usize,
    pub kind: tch::Kind,
    pub shape: Vec<i64>,
    pub strides: Option<Vec<i64>>,
    pub storage: (usize, usize),
}

/// One mapped file. The mapping is private (copy-on-write): a tensor viewing it can be written
/// to without touching the file.
#[derive(Debug)]
struct Mapped {
    map: memmap2::MmapMut,
    base: *mut u8,
    /// The file itself, for streaming reads that do not map its pages (see [`stream`]).
    file: std::fs::File,
}

/// The tensors of a checkpoint, by key, memory-mapped and read on demand.
///
/// Formats: `.safetensors`; PyTorch's `torch.save` zip archives (`.bin`, `.pt`, `.pth`; read
/// by tapir's own loader, which never runs code from the file); an index file
/// (`model.safetensors.index.json`, `pytorch_model.bin.index.json`) naming the shards; a
/// directory holding one of those as `save_pretrained` writes them (safetensors first).
///
/// The files are memory-mapped: as with every memory-mapped reader, a file changed by another
/// process while it is open gives undefined contents.
#[derive(Debug)]
pub struct Checkpoint {
    /// Shared with the weights bound to traces (`Traced::bind_weights`), which outlive it.
    files: std::sync::Arc<Vec<Mapped>>,
    entries: BTreeMap<String, Entry>,
    shown: String,
}

fn kind_of(dtype: safetensors::Dtype) -> Result<tch::Kind, String> {
    use safetensors::Dtype as D;
    use tch::Kind as K;
    Ok(match dtype {
        D::BOOL => K::Bool,
        D::U8 => K::Uint8,
        D::I8 => K::Int8,
        D::I16 => K::Int16,
        D::I32 => K::Int,
        D::I64 => K::Int64,
        D::F16 => K::Half,
        D::BF16 => K::BFloat16,
        D::F32 => K::Float,
        D::F64 => K::Double,
        other => return Err(format!("dtype {other:?} is not supported")),
    })
}

impl Checkpoint {
    /// Opens `path`: a checkpoint file, an index file, or a directory holding one.
    pub fn open(path: impl AsRef<Path>) -> Result<Checkpoint, LoadError> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let read_err = |message: String| LoadError::Read { path: shown.clone(), message };
        let path = if path.is_dir() {
            let names = [
                "model.safetensors",
                "model.safetensors.index.json",
                "pytorch_model.bin",
                "pytorch_model.bin.index.json",
            ];
            names
                .iter()
                .map(|n| path.join(n))
                .find(|p| p.exists())
                .ok_or_else(|| read_err(format!("the directory holds none of {}", names.join(", "))))?
        } else {
            path.to_path_buf()
        };
        let mut ck = Checkpoint { files: Default::default(), entries: BTreeMap::new(), shown: shown.clone() };
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).map_err(|e| read_err(e.to_string()))?;
            let index: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| read_err(format!("not a valid index file ({e})")))?;
            let map = index
                .get("weight_map")
                .and_then(|m| m.as_object())
                .ok_or_else(|| read_err("the index file has no `weight_map`".into()))?;
            let dir = path.parent().unwrap_or(Path::new("."));
            let mut shards: Vec<&str> = map.values().filter_map(|v| v.as_str()).collect();
            shards.sort_unstable();
            shards.dedup();
            for shard in shards {
                ck.add_file(&dir.join(shard))?;
            }
            let listed: Vec<&String> = map.keys().filter(|k| !ck.entries.contains_key(*k)).collect();
            if let Some(k) = listed.first() {
                return Err(read_err(format!("key `{k}` is in the index but not in its shard {}", map[*k])));
            }
        } else {
            ck.add_file(&path)?;
        }
        Ok(ck)
    }

    fn add_file(&mut self, path: &Path) -> Result<(), LoadError> {
        let shown = path.display().to_string();
        let read_err = |message: String| LoadError::Read { path: shown.clone(), message };
        let file = std::fs::File::open(path).map_err(|e| read_err(e.to_string()))?;
        let len = file.metadata().map_err(|e| read_err(e.to_string()))?.len();
        let mut map = if len == 0 {
            memmap2::MmapMut::map_anon(0).map_err(|e| read_err(e.to_string()))?
        } else {
            // SAFETY: a private mapping; the file is only read. Its contents are undefined if
            // another process changes the file meanwhile (documented on `Checkpoint`).
            unsafe { memmap2::MmapOptions::new().map_copy(&file) }.map_err(|e| read_err(e.to_string()))?
        };
        let number = self.files.len();
        let base = map.as_mut_ptr();
        let bytes: &[u8] = &map;
        let entries = if bytes.starts_with(b"PK") {
            torch_zip::read_entries(bytes, number).map_err(&read_err)?
        } else {
            safetensors_entries(bytes, number).map_err(&read_err)?
        };
        for (k, e) in entries {
            if self.entries.insert(k.clone(), e).is_some() {
                return Err(read_err(format!("key `{k}` is in more than one shard")));
            }
        }
        std::sync::Arc::get_mut(&mut self.files)
            .ok_or_else(|| read_err("the checkpoint is shared already".into()))?
            .push(Mapped { map, base, file });
        Ok(())
    }

    /// The keys, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// The number of tensors.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the checkpoint holds no tensor.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The shape of `key`'s tensor, if the checkpoint has it.
    pub fn shape(&self, key: &str) -> Option<&[i64]> {
        self.entries.get(key).map(|e| e.shape.as_slice())
    }

    /// The dtype of `key`'s tensor, if the checkpoint has it.
    pub fn kind(&self, key: &str) -> Option<tch::Kind> {
        self.entries.get(key).map(|e| e.kind)
    }

    /// A copy of `key`'s tensor (owned memory, on the CPU).
    pub fn tensor(&self, key: &str) -> Result<tch::Tensor, LoadError> {
        self.with_view(key, |t| {
            let mut out = t.f_empty_like().map_err(|e| e.to_string())?;
            out.f_copy_(t).map_err(|e| e.to_string())?;
            Ok(out)
        })
        .map_err(|message| LoadError::Read { path: self.shown.clone(), message: format!("key `{key}`: {message}") })
    }

    /// The path the checkpoint was opened from, as shown in errors.
    pub fn path(&self) -> &str {
        &self.shown
    }

    pub(super) fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries.get(key)
    }

    /// Runs `f` on a tensor viewing `key`'s bytes in the mapping (no copy unless they are not
    /// aligned for the dtype), then releases the pages it read.
    pub(super) fn with_view<R>(
        &self,
        key: &str,
        f: impl FnOnce(&tch::Tensor) -> Result<R, String>,
    ) -> Result<R, String> {
        let e = self.entries.get(key).ok_or("not in the checkpoint")?;
        view_entry(&self.files, e, f)
    }

    /// Copies `key`'s tensor into `dest` (as many elements, contiguous; cast to its dtype and
    /// device) a chunk of the file at a time, releasing each chunk's pages after its copy, so the
    /// file pages resident at once stay under [`CHUNK_BYTES`] whatever the tensor's size.
    /// `Ok(false)`, without copying, when the entry or `dest` does not allow it (strided,
    /// unaligned, another element count): the caller copies the whole view instead.
    pub(super) fn copy_contiguous_into(&self, key: &str, dest: &tch::Tensor) -> Result<bool, String> {
        let e = self.entries.get(key).ok_or("not in the checkpoint")?;
        let mapped = &self.files[e.file];
        let elem = e.kind.elt_size_in_bytes();
        let numel: i64 = e.shape.iter().product();
        let contiguous = e.strides.as_ref().is_none_or(|st| *st == contiguous_strides(&e.shape));
        // SAFETY: `start` lies inside the mapping (checked when the entry was read).
        let base = unsafe { mapped.base.add(e.start) };
        if !contiguous || !dest.is_contiguous() || dest.numel() as i64 != numel {
            return Ok(false);
        }
        // Same dtype, on the CPU: the file is read straight into the variable's memory (no
        // mapped page becomes resident, no buffer).
        #[cfg(unix)]
        if dest.device() == tch::Device::Cpu && dest.kind() == e.kind && numel > 0 {
            use std::os::unix::fs::FileExt;
            let len = numel as usize * elem;
            // SAFETY: `dest` is a contiguous CPU tensor of `numel` elements of `elem` bytes, so
            // its data pointer addresses `len` bytes it owns; the handle keeps them alive while
            // they are written, as `copy_` would write them.
            let bytes = unsafe { std::slice::from_raw_parts_mut(dest.data_ptr() as *mut u8, len) };
            mapped.file.read_exact_at(bytes, e.start as u64).map_err(|err| err.to_string())?;
            return Ok(true);
        }
        if !(base as usize).is_multiple_of(elem) {
            return Ok(false);
        }
        let flat = dest.f_view([numel]).map_err(|err| err.to_string())?;
        let per_chunk = (CHUNK_BYTES / elem).max(1) as i64;
        let mut at = 0i64;
        while at < numel {
            let n = per_chunk.min(numel - at);
            // SAFETY: elements `at..at + n` lie inside the entry's range, so inside the mapping;
            // the view is dropped before the pages are released.
            let ptr = unsafe { base.add(at as usize * elem) };
            let view = unsafe { tch::Tensor::f_from_blob(ptr, &[n], &[], e.kind, tch::Device::Cpu) }
                .map_err(|err| err.to_string())?;
            flat.f_narrow(0, at, n).and_then(|mut d| d.f_copy_(&view)).map_err(|err| err.to_string())?;
            drop(view);
            release(mapped, e.start + at as usize * elem, n as usize * elem);
            at += n;
        }
        Ok(true)
    }
}

/// Passes entry `e`'s tensor to `sink` as little-endian row-major bytes of `kind`, a chunk of
/// the file at a time when it is stored contiguously in that dtype (no copy: the mapped bytes
/// themselves, each chunk's pages released after it), otherwise converted once.
fn stream(
    files: &[Mapped],
    e: &Entry,
    kind: tch::Kind,
    sink: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mapped = &files[e.file];
    let contiguous = e.strides.as_ref().is_none_or(|st| *st == contiguous_strides(&e.shape));
    if e.kind == kind && contiguous {
        let len = span_bytes(&e.shape, None, e.kind.elt_size_in_bytes());
        // Read from the file into one buffer, not through the mapping: mapped pages would count
        // as the process's memory until released, and the kernel maps more than is read.
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileExt;
            let mut buffer = vec![0u8; CHUNK_BYTES.min(len)];
            let mut at = 0;
            while at < len {
                let n = CHUNK_BYTES.min(len - at);
                mapped.file.read_exact_at(&mut buffer[..n], (e.start + at) as u64)?;
                sink(&buffer[..n])?;
                at += n;
            }
        }
        #[cfg(not(unix))]
        {
            let mut at = 0;
            while at < len {
                let n = CHUNK_BYTES.min(len - at);
                // The range lies inside the mapping (checked when the entry was read).
                sink(&mapped.map[e.start + at..e.start + at + n])?;
                release(mapped, e.start + at, n);
                at += n;
            }
        }
        return Ok(());
    }
    view_entry(files, e, |t| Ok(write_tensor(t, kind, sink))).map_err(std::io::Error::other)?
}

/// Passes `t` converted to `kind` to `sink` as contiguous bytes (one copy when it is not already).
fn write_tensor(
    t: &tch::Tensor,
    kind: tch::Kind,
    sink: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let t = t.f_to_kind(kind).map_err(std::io::Error::other)?;
    tapir::tensor_data(&t).map_err(std::io::Error::other)?.write_bytes(sink)
}

/// Rows `start..start + len` along `dim`: `(dim, start, len)`.
type Narrow = (i64, i64, i64);

/// One weight of a checkpoint standing for a traced constant: export streams its bytes from
/// the mapped file (see [`stream`]); the mapping lives as long as the weight.
#[derive(Debug)]
struct CheckpointWeight {
    files: std::sync::Arc<Vec<Mapped>>,
    entry: Entry,
    /// Rows of the entry, when the weight is a slice of it.
    narrow: Option<Narrow>,
    meta: tapir::TensorMeta,
}

impl tapir::ConstData for CheckpointWeight {
    fn meta(&self) -> &tapir::TensorMeta {
        &self.meta
    }
    fn current_meta(&self) -> Result<tapir::TensorMeta, String> {
        Ok(self.meta.clone())
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn write_bytes(&self, sink: &mut dyn FnMut(&[u8]) -> std::io::Result<()>) -> std::io::Result<()> {
        if cfg!(target_endian = "big") {
            return Err(std::io::Error::other("big-endian hosts are not supported"));
        }
        let kind = tapir::kind::kind_of(self.meta.dtype);
        match self.narrow {
            None => stream(&self.files, &self.entry, kind, sink),
            Some((dim, start, len)) => view_entry(&self.files, &self.entry, |t| {
                let part = t.f_narrow(dim, start, len).map_err(|err| err.to_string())?;
                Ok(write_tensor(&part, kind, sink))
            })
            .map_err(std::io::Error::other)?,
        }
    }
}

/// A checkpoint as the source of a trace's weights (`Traced::bind_weights`), by name: the
/// VarStore's names must be the checkpoint's keys (rename with a [`Loader`](super::Loader) and
/// `load` when they are not). A weight stored in another floating dtype is converted while it
/// is written; another shape is an error. The bound weights keep the file mapped after the
/// `Checkpoint` is dropped.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = std::env::temp_dir().join(format!("tapir-bind-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("fc.safetensors");
/// {
///     let vs = tch::nn::VarStore::new(tch::Device::Cpu);
///     let _fc = tapir_nn::Linear::new(vs.root() / "fc", 3, 2);
///     vs.save(&path)?;
/// }
/// // Build with placeholders, trace without computing, take the bytes from the file.
/// let vs = tch::nn::VarStore::new(tch::Device::Cpu);
/// let fc = tapir_nn::placeholder_parameters(|| tapir_nn::Linear::new(vs.root() / "fc", 3, 2));
/// let x = tch::Tensor::zeros([1, 3], (tch::Kind::Float, tch::Device::Cpu));
/// let mut traced = tapir::Tracer::new()
///     .parameters(&vs)
///     .shape_only()
///     .trace(|x| tapir_nn::Module::forward(&fc, &x[0]), &[&x])?;
/// assert_eq!(traced.bind_weights(&tapir_nn::Checkpoint::open(&path)?)?, 2);
/// let bytes = traced.to_onnx_bytes(&tapir::ExportOptions::default())?;
/// # assert!(!bytes.is_empty());
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(()) }
/// ```
impl tapir::WeightSource for Checkpoint {
    fn weight(&self, name: &str, meta: &tapir::TensorMeta, slice: Option<&tapir::SliceOf>) -> Option<tapir::Weight> {
        match (self.entries.contains_key(name), slice) {
            (true, _) => Some(self.weight_data(name, None, meta)),
            (false, Some(s)) if self.entries.contains_key(&s.parent) => {
                Some(self.weight_data(&s.parent, Some((s.dim, s.start, s.len)), meta))
            }
            _ => None,
        }
    }
}

impl Checkpoint {
    /// The data of `key`'s tensor, or of rows `start..start + len` along `dim` of it (`part`),
    /// standing for a constant traced as `meta`: streamed from the file when written, converted
    /// to `meta`'s dtype on the way. An error for another shape or a dtype it cannot convert.
    pub(super) fn weight_data(
        &self,
        key: &str,
        part: Option<(i64, i64, i64)>,
        meta: &tapir::TensorMeta,
    ) -> Result<std::sync::Arc<dyn tapir::ConstData>, String> {
        let e = self.entries.get(key).ok_or_else(|| format!("`{key}` is not in {}", self.shown))?;
        let (e, narrow) = match part {
            None => (e.clone(), None),
            Some((dim, start, len)) => {
                let s = tapir::SliceOf { parent: key.to_owned(), dim, start, len };
                sliced(e, &s).map_err(|why| format!("a part of `{key}` in {}: {why}", self.shown))?
            }
        };
        let shape = match narrow {
            Some((dim, _, len)) => {
                let mut shape = e.shape.clone();
                shape[dim as usize] = len;
                shape
            }
            None => e.shape.clone(),
        };
        if shape.as_slice() != &meta.shape[..] {
            return Err(format!("shape {shape:?} in {}, {:?} in the model", self.shown, &meta.shape[..]));
        }
        let stored = tapir::kind::dtype_of(e.kind);
        let convertible = stored.is_some_and(|s| s == meta.dtype || (s.is_float() && meta.dtype.is_float()));
        if !convertible {
            return Err(format!("dtype {:?} in {}, {} in the model", e.kind, self.shown, meta.dtype));
        }
        let weight = CheckpointWeight { files: self.files.clone(), entry: e, narrow, meta: meta.clone() };
        Ok(std::sync::Arc::new(weight))
    }
}

/// The entry holding slice `s` of entry `e`: rows along dimension 0 of a contiguous tensor are
/// an entry of their own (streamed in place), other slices are cut while writing.
fn sliced(e: &Entry, s: &tapir::SliceOf) -> Result<(Entry, Option<Narrow>), String> {
    let rank = e.shape.len() as i64;
    let dim = if s.dim < 0 { s.dim + rank } else { s.dim };
    let size = *e.shape.get(usize::try_from(dim).map_err(|_| "no such dimension")?).ok_or("no such dimension")?;
    if s.start < 0 || s.len < 0 || s.start + s.len > size {
        return Err(format!("rows {}..{} of a dimension of size {size}", s.start, s.start + s.len));
    }
    let contiguous = e.strides.as_ref().is_none_or(|st| *st == contiguous_strides(&e.shape));
    if dim != 0 || !contiguous {
        return Ok((e.clone(), Some((dim, s.start, s.len))));
    }
    let row: i64 = e.shape[1..].iter().product::<i64>() * e.kind.elt_size_in_bytes() as i64;
    let mut part = e.clone();
    part.start += (s.start * row) as usize;
    part.shape[0] = s.len;
    Ok((part, None))
}

// SAFETY: `base` is the start of `map`, which `Mapped` owns: it moves with the mapping and is
// valid while it lives. The mapping itself is safe to share (memmap2's types are Send + Sync);
// tapir reads it from any thread and writes to it only through views that `with_view` lends
// to one caller at a time.
unsafe impl Send for Mapped {}
unsafe impl Sync for Mapped {}

/// Runs `f` on a tensor viewing entry `e`'s bytes in `files` (no copy unless they are not
/// aligned for the dtype), then releases the pages it read.
fn view_entry<R>(files: &[Mapped], e: &Entry, f: impl FnOnce(&tch::Tensor) -> Result<R, String>) -> Result<R, String> {
    let mapped = &files[e.file];
    let elem = e.kind.elt_size_in_bytes();
    let strides = e.strides.clone().unwrap_or_default();
    let span = span_bytes(&e.shape, e.strides.as_deref(), elem);
    debug_assert!(e.start + span <= mapped.map.len());
    // SAFETY: `start + span` lies inside the mapping (checked when the entry was read), the
    // mapping outlives the view (dropped before this returns), and it is writable (private).
    let ptr = unsafe { mapped.base.add(e.start) };
    let result = if (ptr as usize).is_multiple_of(elem) {
        let view = unsafe { tch::Tensor::f_from_blob(ptr, &e.shape, &strides, e.kind, tch::Device::Cpu) }
            .map_err(|err| err.to_string())?;
        let result = f(&view);
        drop(view);
        result
    } else {
        // SAFETY: as above; read as bytes and copied into an aligned tensor.
        let bytes = unsafe { std::slice::from_raw_parts(ptr, span) };
        let owned = aligned_copy(bytes, e, elem)?;
        f(&owned)
    };
    // The bytes were read (and `f`'s result does not view them: the contract of this
    // function); their pages need not stay resident.
    release(mapped, e.start, span);
    result
}

/// The most file bytes [`Checkpoint::copy_contiguous_into`] keeps resident at once.
const CHUNK_BYTES: usize = 1 << 20;

/// More than Linux's fault-around window (64 KiB by default).
const FAULT_AROUND: usize = 256 << 10;

fn contiguous_strides(shape: &[i64]) -> Vec<i64> {
    let mut strides = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        strides[i] = strides[i + 1] * shape[i + 1].max(1);
    }
    strides
}

/// Drops the resident pages of `mapped` covering `start..start + len`, and those up to
/// [`FAULT_AROUND`] bytes on either side: the kernel maps pages around each faulting one
/// (fault-around), so reading one range also maps the edges of its neighbours, which may have
/// been released already (tensors are loaded in name order, not file order).
fn release(mapped: &Mapped, start: usize, len: usize) {
    let page = 4096;
    let from = start.saturating_sub(FAULT_AROUND) / page * page;
    let to = ((start + len + FAULT_AROUND).div_ceil(page) * page).min(mapped.map.len());
    if to > from {
        // SAFETY: no view into these pages is alive (callers drop theirs first); discarding
        // pages of a private mapping makes later reads see the file's bytes again.
        let _ = unsafe { mapped.map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, from, to - from) };
    }
}

/// Bytes spanned by a tensor of `shape` and `strides` (contiguous when `None`).
fn span_bytes(shape: &[i64], strides: Option<&[i64]>, elem: usize) -> usize {
    if shape.contains(&0) {
        return 0;
    }
    let last = match strides {
        Some(st) => shape.iter().zip(st).map(|(&s, &t)| (s - 1) * t).sum::<i64>(),
        None => shape.iter().product::<i64>() - 1,
    };
    (last as usize + 1) * elem
}

fn aligned_copy(bytes: &[u8], e: &Entry, elem: usize) -> Result<tch::Tensor, String> {
    match &e.strides {
        None => tch::Tensor::f_from_data_size(bytes, &e.shape, e.kind).map_err(|err| err.to_string()),
        Some(st) => {
            let flat = tch::Tensor::f_from_data_size(bytes, &[(bytes.len() / elem) as i64], e.kind)
                .map_err(|err| err.to_string())?;
            flat.f_as_strided(&e.shape, st, 0).map_err(|err| err.to_string())
        }
    }
}

/// The tensors of a safetensors file held in `bytes` (file number `file`).
fn safetensors_entries(bytes: &[u8], file: usize) -> Result<Vec<(String, Entry)>, String> {
    let (header, meta) =
        safetensors::SafeTensors::read_metadata(bytes).map_err(|e| format!("not a valid safetensors file ({e})"))?;
    let data_start = 8 + header;
    let mut out = vec![];
    for (name, info) in meta.tensors() {
        let kind = kind_of(info.dtype).map_err(|m| format!("key `{name}`: {m}"))?;
        let shape: Vec<i64> = info.shape.iter().map(|&d| d as i64).collect();
        let (begin, end) = info.data_offsets;
        // Checked arithmetic throughout: every number here comes from the file.
        let want = info.shape.iter().try_fold(kind.elt_size_in_bytes(), |n, &d| n.checked_mul(d));
        let inside = data_start.checked_add(end).is_some_and(|e| e <= bytes.len());
        if want.is_none() || end.checked_sub(begin) != want || !inside {
            return Err(format!("key `{name}`: its byte range does not match its shape and dtype"));
        }
        let start = data_start + begin;
        out.push((name.clone(), Entry { file, start, kind, shape, strides: None, storage: (file, start) }));
    }
    Ok(out)
}
