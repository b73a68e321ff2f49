//! Streams a [`Lowered`] model as ONNX protobuf.
//!
//! Protobuf messages are length-prefixed, and every length here is known before any byte is
//! written (an initializer's data length is its dtype size times its element count), so the model
//! is written front to back: the model's own fields, then the graph's, then each initializer's
//! header followed by its raw bytes straight from the tensor. Field order differs from prost's but
//! any protobuf reader accepts fields in any order.

use crate::lower::{InitData, Lowered};
use crate::{lower, ExportError, ExportOptions};
use prost::encoding::{encode_key, encode_varint, encoded_len_varint, key_len, WireType};
use prost::Message;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use tapir_graph::Graph;

const MODEL_GRAPH: u32 = 7;
const GRAPH_INITIALIZER: u32 = 5;
const TENSOR_RAW_DATA: u32 = 9;

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
    match data {
        InitData::Tensor(t) => t.meta().byte_len(),
        InitData::Bytes(b) => b.len(),
    }
}

impl Lowered {
    /// Size in bytes of the encoded model.
    pub fn encoded_len(&self) -> usize {
        let (graph_len, _) = self.graph_len();
        self.model_without_graph().encoded_len() + len_delimited_len(graph_len, MODEL_GRAPH)
    }

    fn model_without_graph(&self) -> crate::proto::ModelProto {
        crate::proto::ModelProto { graph: None, ..self.model.clone() }
    }

    fn graph_len(&self) -> (usize, Vec<usize>) {
        let graph = self.model.graph.as_ref().map_or(0, |g| g.encoded_len());
        let tensor_lens: Vec<usize> = self
            .initializers
            .iter()
            .map(|(header, data)| header.encoded_len() + len_delimited_len(data_len(data), TENSOR_RAW_DATA))
            .collect();
        let total = graph + tensor_lens.iter().map(|l| len_delimited_len(*l, GRAPH_INITIALIZER)).sum::<usize>();
        (total, tensor_lens)
    }

    /// Writes the encoded model to `out`. Initializer bytes go from their tensors to `out` directly.
    pub fn write_to(&self, out: &mut impl Write) -> io::Result<()> {
        out.write_all(&self.model_without_graph().encode_to_vec())?;
        let (graph_len, tensor_lens) = self.graph_len();
        write_len_prefix(out, MODEL_GRAPH, graph_len)?;
        if let Some(graph) = &self.model.graph {
            out.write_all(&graph.encode_to_vec())?;
        }
        for ((header, data), len) in self.initializers.iter().zip(tensor_lens) {
            write_len_prefix(out, GRAPH_INITIALIZER, len)?;
            out.write_all(&header.encode_to_vec())?;
            let n = data_len(data);
            write_len_prefix(out, TENSOR_RAW_DATA, n)?;
            let mut written = 0usize;
            match data {
                InitData::Bytes(b) => {
                    out.write_all(b)?;
                    written = b.len();
                }
                InitData::Tensor(t) => t.write_bytes(&mut |chunk| {
                    written += chunk.len();
                    out.write_all(chunk)
                })?,
            }
            if written != n {
                return Err(io::Error::other(format!(
                    "initializer {:?} produced {written} bytes, expected {n}",
                    header.name.as_deref().unwrap_or("")
                )));
            }
        }
        Ok(())
    }
}

/// Lowers `graph` and returns the encoded model.
pub fn to_bytes(graph: &Graph, options: &ExportOptions) -> Result<Vec<u8>, ExportError> {
    let lowered = lower(graph, options)?;
    let mut out = Vec::with_capacity(lowered.encoded_len());
    lowered.write_to(&mut out).map_err(|source| ExportError::Io { path: "<memory>".to_owned(), source })?;
    Ok(out)
}

/// Lowers `graph` and writes it to `path` through a temporary file in the same folder, renamed
/// into place only once complete. On any error nothing is left at `path` or beside it.
pub fn save(graph: &Graph, path: impl AsRef<Path>, options: &ExportOptions) -> Result<u64, ExportError> {
    let path = path.as_ref();
    let lowered = lower(graph, options)?;
    let io_err = |source| ExportError::Io { path: path.display().to_string(), source };
    let file_name =
        path.file_name().ok_or_else(|| io_err(io::Error::new(io::ErrorKind::InvalidInput, "not a file path")))?;
    let tmp = path.with_file_name(format!(".{}.tmp{}", file_name.to_string_lossy(), std::process::id()));
    let result = (|| {
        let file = std::fs::File::create(&tmp)?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        lowered.write_to(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)
    })();
    match result {
        Ok(()) => Ok(lowered.encoded_len() as u64),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(io_err(e))
        }
    }
}
