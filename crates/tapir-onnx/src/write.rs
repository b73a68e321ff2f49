//! Streams a [`Lowered`] model as ONNX protobuf, and saves it atomically.
//!
//! Protobuf messages are length-prefixed, and every length here is known before any byte is
//! written (an initializer's data length is its dtype size times its element count), so the model
//! is written front to back: the model's own fields, then the graph's, then each initializer's
//! header followed by its raw bytes straight from the tensor. Field order differs from prost's but
//! any protobuf reader accepts fields in any order. With external data, the initializers' bytes go
//! to a data file instead, in the same single pass over the tensors.

use crate::lower::{InitData, Lowered};
use crate::proto::{tensor_proto::DataLocation, StringStringEntryProto};
use crate::{lower, ExportError, ExportOptions, ExternalData, EXTERNAL_DATA_MIN_BYTES, PROTOBUF_LIMIT};
use prost::encoding::{encode_key, encode_varint, encoded_len_varint, key_len, WireType};
use prost::Message;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use tapir_graph::Graph;

const MODEL_GRAPH: u32 = 7;
const GRAPH_INITIALIZER: u32 = 5;
const TENSOR_RAW_DATA: u32 = 9;

/// Offsets of tensors of at least this size are aligned to [`LARGE_ALIGN`] in a data file.
const LARGE_TENSOR: usize = 1 << 20;
/// Memory-mapping granularity (64 KiB covers every common OS's allocation granularity).
const LARGE_ALIGN: u64 = 1 << 16;
/// Alignment of smaller tensors: enough for any element type and vector loads.
const SMALL_ALIGN: u64 = 64;

fn len_delimited_len(len: usize, tag: u32) -> usize {
    key_len(tag) + encoded_len_varint(len as u64) + len
}

fn write_len_prefix(out: &mut impl Write, tag: u32, len: usize) -> io::Result<()> {
    let mut head = Vec::with_capacity(16);
    encode_key(tag, WireType::LengthDelimited, &mut head);
    encode_varint(len as u64, &mut head);
    out.write_all(&head)
}

fn data_len(data: &InitData) -> usize {
    data.byte_len()
}

fn is_external(header: &crate::proto::TensorProto) -> bool {
    header.data_location == Some(DataLocation::External as i32)
}

/// Streams one initializer's bytes to `out`, checking that exactly `data_len` bytes came.
fn write_data(out: &mut impl Write, name: &str, data: &InitData) -> io::Result<()> {
    let n = data_len(data);
    let mut written = 0usize;
    data.write(&mut |chunk| {
        written += chunk.len();
        out.write_all(chunk)
    })
    .map_err(|e| io::Error::new(e.kind(), format!("initializer `{name}`: {e}")))?;
    if written != n {
        return Err(io::Error::other(format!("initializer `{name}` produced {written} bytes, expected {n}")));
    }
    Ok(())
}

/// Encoded sizes, computed once per write.
struct Sizes {
    /// Each initializer's encoded `TensorProto` (header plus inline data).
    tensors: Vec<usize>,
    graph: usize,
    model: usize,
}

impl Lowered {
    fn sizes(&self) -> Sizes {
        let tensors: Vec<usize> = self
            .initializers
            .iter()
            .map(|(header, data)| {
                let inline = if is_external(header) { 0 } else { len_delimited_len(data_len(data), TENSOR_RAW_DATA) };
                header.encoded_len() + inline
            })
            .collect();
        let graph =
            self.graph.encoded_len() + tensors.iter().map(|l| len_delimited_len(*l, GRAPH_INITIALIZER)).sum::<usize>();
        let model = self.model.encoded_len() + len_delimited_len(graph, MODEL_GRAPH);
        Sizes { tensors, graph, model }
    }

    /// Size in bytes of the encoded model (without its external data file, if it has one).
    pub fn encoded_len(&self) -> usize {
        self.sizes().model
    }

    /// Moves every initializer of at least `min_bytes` to the external data file `location`
    /// (relative to the model's folder), assigning aligned offsets. Returns the data file's
    /// length. [`Lowered::write_external_data`] writes that file.
    pub fn externalize(&mut self, location: &str, min_bytes: usize) -> u64 {
        let mut end = 0u64;
        for (header, data) in &mut self.initializers {
            let len = data_len(data);
            if len < min_bytes || is_external(header) {
                continue;
            }
            let align = if len >= LARGE_TENSOR { LARGE_ALIGN } else { SMALL_ALIGN };
            let offset = end.div_ceil(align) * align;
            let entry = |k: &str, v: String| StringStringEntryProto { key: Some(k.to_owned()), value: Some(v) };
            header.external_data = vec![
                entry("location", location.to_owned()),
                entry("offset", offset.to_string()),
                entry("length", len.to_string()),
            ];
            header.set_data_location(DataLocation::External);
            end = offset + len as u64;
        }
        end
    }

    /// Writes the encoded model to `out`. Inline initializer bytes go from their tensors to `out`
    /// directly; external ones are only referenced.
    pub fn write_to(&self, out: &mut impl Write) -> io::Result<()> {
        let sizes = self.sizes();
        out.write_all(&self.model.encode_to_vec())?;
        write_len_prefix(out, MODEL_GRAPH, sizes.graph)?;
        out.write_all(&self.graph.encode_to_vec())?;
        for ((header, data), len) in self.initializers.iter().zip(sizes.tensors) {
            write_len_prefix(out, GRAPH_INITIALIZER, len)?;
            out.write_all(&header.encode_to_vec())?;
            if !is_external(header) {
                write_len_prefix(out, TENSOR_RAW_DATA, data_len(data))?;
                write_data(out, header.name(), data)?;
            }
        }
        Ok(())
    }

    /// Writes the external data file: each external initializer's bytes at its offset, zeros
    /// between them.
    pub fn write_external_data(&self, out: &mut impl Write) -> io::Result<()> {
        let mut at = 0u64;
        let zeros = [0u8; LARGE_ALIGN as usize];
        for (header, data) in self.initializers.iter().filter(|(h, _)| is_external(h)) {
            let offset = header
                .external_data
                .iter()
                .find(|e| e.key() == "offset")
                .and_then(|e| e.value().parse::<u64>().ok())
                .ok_or_else(|| io::Error::other(format!("initializer `{}` has no offset", header.name())))?;
            if offset < at {
                return Err(io::Error::other(format!("initializer `{}`: offsets out of order", header.name())));
            }
            let mut pad = offset - at;
            while pad > 0 {
                let n = pad.min(zeros.len() as u64) as usize;
                out.write_all(&zeros[..n])?;
                pad -= n as u64;
            }
            write_data(out, header.name(), data)?;
            at = offset + data_len(data) as u64;
        }
        Ok(())
    }
}

/// Lowers `graph`, applies the optimizations and the precision conversion `options` ask for:
/// the model as it will be written (`path` names the destination in I/O errors).
pub fn prepare(graph: &Graph, options: &ExportOptions, path: &str) -> Result<Lowered, ExportError> {
    let mut lowered = lower(graph, options)?;
    crate::fold::optimize(&mut lowered, &options.optimize)
        .map_err(|source| ExportError::Io { path: path.to_owned(), source })?;
    if let Some(half) = &options.half_precision {
        crate::half::convert(&mut lowered, half, options.opset)?;
    }
    Ok(lowered)
}

/// Lowers `graph` and returns the encoded model. Weights are always inline here: a model over
/// 2 GiB is [`ExportError::TooLarge`] (save it to a file to get external data).
pub fn to_bytes(graph: &Graph, options: &ExportOptions) -> Result<Vec<u8>, ExportError> {
    let lowered = prepare(graph, options, "<memory>")?;
    let len = lowered.encoded_len();
    if len > PROTOBUF_LIMIT {
        return Err(ExportError::TooLarge { bytes: len as u64 });
    }
    let mut out = Vec::with_capacity(len);
    lowered.write_to(&mut out).map_err(|source| ExportError::Io { path: "<memory>".to_owned(), source })?;
    Ok(out)
}

/// Follows `path` through symbolic links to the file they name (which may not exist yet).
fn resolve_links(path: &Path) -> io::Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = fs::read_link(&p)?;
                p = match p.parent() {
                    Some(parent) if target.is_relative() => parent.join(target),
                    _ => target,
                };
            }
            _ => return Ok(p),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

/// A name for a temporary file beside `target`, unique to this call.
fn temp_beside(target: &Path, file_name: &str) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    target.with_file_name(format!(".{file_name}.tmp{}-{n}", std::process::id()))
}

/// Writes a new file at `tmp` with `write`, flushed and synced.
fn write_file(tmp: &Path, write: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>) -> io::Result<()> {
    let file = fs::OpenOptions::new().write(true).create_new(true).open(tmp)?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    write(&mut w)?;
    let file = w.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()
}

/// Makes the renames in `dir` durable. File systems that cannot sync a folder are accepted.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    match File::open(dir).and_then(|d| d.sync_all()) {
        Err(e) if !matches!(e.kind(), io::ErrorKind::InvalidInput | io::ErrorKind::Unsupported) => return Err(e),
        _ => {}
    }
    let _ = dir;
    Ok(())
}

/// Removes the temporary files when dropped, unless they were renamed into place.
struct Temps(Vec<PathBuf>);

impl Drop for Temps {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = fs::remove_file(p);
        }
    }
}

/// Lowers `graph` and writes it to `path`. Returns the bytes written (model and data file).
///
/// - A regular file (new or existing) is written to a temporary file in the same folder, synced,
///   and renamed into place, then the folder is synced: `path` holds either the old model or the
///   new one, never part of one, and a failed save leaves nothing behind. Concurrent saves to one
///   path each succeed and leave one complete model.
/// - A symbolic link is followed: its final target is replaced, the link stays.
/// - A device or FIFO (`/dev/null`, `/dev/stdout`) is written to directly.
/// - Weights go to `<file name>.data` beside the target when [`ExportOptions::external_data`]
///   asks for it or the model exceeds 2 GiB; the data file and the model are both written to
///   temporary files first and renamed together under a lock on the folder, data file first.
///   An external-data model cannot be written to a device.
pub fn save(graph: &Graph, path: impl AsRef<Path>, options: &ExportOptions) -> Result<u64, ExportError> {
    let path = path.as_ref();
    let mut lowered = prepare(graph, options, &path.display().to_string())?;
    let io_err = |source| ExportError::Io { path: path.display().to_string(), source };
    let target = resolve_links(path).map_err(io_err)?;
    let special = match fs::metadata(&target) {
        Ok(m) if m.is_dir() => return Err(io_err(io::Error::new(io::ErrorKind::IsADirectory, "it is a directory"))),
        Ok(m) => !m.is_file(),
        Err(_) => false,
    };
    let inline_len = lowered.encoded_len();
    let external = match options.external_data {
        ExternalData::Always => true,
        ExternalData::Auto => inline_len > PROTOBUF_LIMIT,
        ExternalData::Never if inline_len > PROTOBUF_LIMIT => {
            return Err(ExportError::TooLarge { bytes: inline_len as u64 })
        }
        ExternalData::Never => false,
    };
    if special {
        if external {
            return Err(io_err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a model with external data must be saved to a regular file, not a device or FIFO",
            )));
        }
        let write = || {
            let mut w = BufWriter::with_capacity(1 << 20, fs::OpenOptions::new().write(true).open(&target)?);
            lowered.write_to(&mut w)?;
            w.flush()
        };
        write().map_err(io_err)?;
        return Ok(inline_len as u64);
    }
    let file_name = target
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| io_err(io::Error::new(io::ErrorKind::InvalidInput, "not a file path with a UTF-8 name")))?
        .to_owned();
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !external {
        let tmp = temp_beside(&target, &file_name);
        let mut temps = Temps(vec![tmp.clone()]);
        write_file(&tmp, |w| lowered.write_to(w)).map_err(io_err)?;
        fs::rename(&tmp, &target).map_err(io_err)?;
        temps.0.clear();
        sync_dir(&dir).map_err(io_err)?;
        return Ok(inline_len as u64);
    }
    let data_name = format!("{file_name}.data");
    let data_len = lowered.externalize(&data_name, EXTERNAL_DATA_MIN_BYTES);
    let model_len = lowered.encoded_len();
    if model_len > PROTOBUF_LIMIT {
        return Err(ExportError::TooLarge { bytes: model_len as u64 });
    }
    let data_target = target.with_file_name(&data_name);
    let (data_tmp, model_tmp) = (temp_beside(&target, &data_name), temp_beside(&target, &file_name));
    let mut temps = Temps(vec![data_tmp.clone(), model_tmp.clone()]);
    let commit = || {
        write_file(&data_tmp, |w| lowered.write_external_data(w))?;
        write_file(&model_tmp, |w| lowered.write_to(w))?;
        // The pair is renamed under an exclusive lock on the folder, so concurrent saves to one
        // path never leave a model beside another save's data file.
        let lock = File::open(&dir)?;
        lock.lock()?;
        fs::rename(&data_tmp, &data_target)?;
        fs::rename(&model_tmp, &target)?;
        sync_dir(&dir)?;
        drop(lock);
        Ok(())
    };
    commit().map_err(io_err)?;
    temps.0.clear();
    Ok(model_len as u64 + data_len)
}
