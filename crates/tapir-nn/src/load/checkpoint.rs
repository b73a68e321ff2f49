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
    files: Vec<Mapped>,
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
        let mut ck = Checkpoint { files: vec![], entries: BTreeMap::new(), shown: shown.clone() };
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
        self.files.push(Mapped { map, base });
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
        let mapped = &self.files[e.file];
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
        if !contiguous || !dest.is_contiguous() || dest.numel() as i64 != numel || !(base as usize).is_multiple_of(elem)
        {
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
