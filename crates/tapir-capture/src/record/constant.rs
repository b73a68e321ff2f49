//! tch tensors as graph constants.

use crate::kind::dtype_of;
use std::sync::Mutex;
use tapir_graph::{ConstData, TensorMeta};

/// A constant backed by a tch tensor that shares its `TensorImpl` with the user's tensor (no copy
/// at trace time). Export reads the tensor's bytes at export time, so it writes the values the
/// tensor holds then: an in-place update of the same dtype and shape (an optimizer step,
/// `copy_`, `set_data` with a tensor of the same dtype and shape) is exported as updated. A change
/// of dtype or shape (`VarStore::half`, `set_data` with another shape, `VarStore::load` of a
/// checkpoint in another dtype) makes export fail with an error naming the constant; it never
/// reads memory by the recorded type.
#[derive(Debug)]
pub struct TchConst {
    meta: TensorMeta,
    /// The named weight this constant slices (`named_slice`).
    slice_of: Option<tapir_graph::SliceOf>,
    // tch::Tensor is Send but not Sync; the lock makes the constant shareable.
    tensor: Mutex<tch::Tensor>,
}

/// Dtype and shape of a tch tensor as it is now; an error for a placeholder, which has none.
fn meta_now(t: &tch::Tensor) -> Result<TensorMeta, String> {
    if !t.defined() {
        return Err("the tensor is undefined".to_owned());
    }
    if crate::is_placeholder(t) {
        return Err(
            "it is a placeholder with no data (a model built with placeholder parameters): bind the trace's weights to a checkpoint before exporting (`Traced::bind_weights`)"
                .to_owned(),
        );
    }
    let kind = t.kind();
    let dtype = dtype_of(kind).ok_or_else(|| format!("dtype {kind:?} cannot be exported to ONNX"))?;
    Ok(TensorMeta { dtype, shape: t.size().into() })
}

/// `t` as a constant's data (for a [`tapir_graph::WeightSource`]): export writes its bytes as
/// it holds them then. An error for a dtype ONNX cannot hold or a placeholder.
pub fn tensor_data(t: &tch::Tensor) -> Result<std::sync::Arc<dyn tapir_graph::ConstData>, String> {
    let meta = meta_now(t)?;
    Ok(std::sync::Arc::new(TchConst::new(t, meta)))
}

impl TchConst {
    pub fn new(tensor: &tch::Tensor, meta: TensorMeta) -> Self {
        TchConst { meta, slice_of: None, tensor: Mutex::new(tensor.shallow_clone()) }
    }

    /// A constant that is `slice` of a named weight (`tensor` is that slice).
    pub fn slice(tensor: &tch::Tensor, meta: TensorMeta, slice: tapir_graph::SliceOf) -> Self {
        TchConst { meta, slice_of: Some(slice), tensor: Mutex::new(tensor.shallow_clone()) }
    }

    /// Whether the tensor is a placeholder (see [`crate::placeholder`]).
    pub fn is_placeholder(&self) -> bool {
        crate::is_placeholder(&self.tensor.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// A shallow clone of the tensor (shares storage).
    pub fn tensor(&self) -> tch::Tensor {
        self.tensor.lock().unwrap_or_else(|p| p.into_inner()).shallow_clone()
    }
}

impl ConstData for TchConst {
    fn meta(&self) -> &TensorMeta {
        &self.meta
    }

    fn current_meta(&self) -> Result<TensorMeta, String> {
        meta_now(&self.tensor.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn has_data(&self) -> bool {
        !self.is_placeholder()
    }

    fn slice_of(&self) -> Option<&tapir_graph::SliceOf> {
        self.slice_of.as_ref()
    }

    fn write_bytes(&self, sink: &mut dyn FnMut(&[u8]) -> std::io::Result<()>) -> std::io::Result<()> {
        if cfg!(target_endian = "big") {
            return Err(std::io::Error::other("big-endian hosts are not supported"));
        }
        // An alias is a new TensorImpl over the same storage: it keeps that storage alive and
        // unchanged in type and size even if the user's tensor is given new data meanwhile.
        let alias = {
            let guard = self.tensor.lock().unwrap_or_else(|p| p.into_inner());
            if !guard.defined() {
                return Err(std::io::Error::other("the captured tensor is undefined"));
            }
            guard.f_alias().map_err(std::io::Error::other)?
        };
        let now = meta_now(&alias).map_err(std::io::Error::other)?;
        if now != self.meta {
            return Err(std::io::Error::other(format!(
                "the captured tensor was {} when traced and is {now} now",
                self.meta
            )));
        }
        let host = if alias.device() == tch::Device::Cpu && alias.is_contiguous() {
            alias
        } else {
            // Device or strided data: one contiguous host copy.
            alias.f_to_device(tch::Device::Cpu).and_then(|t| t.f_contiguous()).map_err(std::io::Error::other)?
        };
        let len = self.meta.byte_len();
        let have = host.numel() * host.kind().elt_size_in_bytes();
        if have != len {
            return Err(std::io::Error::other(format!("the captured tensor holds {have} bytes, expected {len}")));
        }
        if len == 0 {
            return Ok(());
        }
        // SAFETY: `host` is a contiguous CPU tensor whose dtype and shape were just checked to be
        // `meta`'s, so its data pointer addresses `len` initialized bytes; `host` owns a reference
        // to that storage for the whole borrow.
        let bytes = unsafe { std::slice::from_raw_parts(host.data_ptr() as *const u8, len) };
        sink(bytes)
    }
}
