//! tch tensors as graph constants.

use std::sync::Mutex;
use tapir_graph::{ConstData, TensorMeta};

/// A constant backed by a tch tensor that shares storage with the user's tensor (no copy at
/// trace time). Export reads the tensor's bytes at export time.
#[derive(Debug)]
pub struct TchConst {
    meta: TensorMeta,
    // tch::Tensor is Send but not Sync; the lock makes the constant shareable.
    tensor: Mutex<tch::Tensor>,
}

impl TchConst {
    pub fn new(tensor: &tch::Tensor, meta: TensorMeta) -> Self {
        TchConst { meta, tensor: Mutex::new(tensor.shallow_clone()) }
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

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn write_bytes(&self, sink: &mut dyn FnMut(&[u8]) -> std::io::Result<()>) -> std::io::Result<()> {
        let guard = self.tensor.lock().unwrap_or_else(|p| p.into_inner());
        let host;
        let t: &tch::Tensor = if guard.device() == tch::Device::Cpu && guard.is_contiguous() {
            &guard
        } else {
            // Device or strided data: one contiguous host copy.
            host = guard.f_to_device(tch::Device::Cpu).and_then(|t| t.f_contiguous()).map_err(std::io::Error::other)?;
            &host
        };
        let len = self.meta.byte_len();
        if len == 0 {
            return Ok(());
        }
        // SAFETY: `t` is a contiguous CPU tensor of `meta`'s dtype and shape, so its data pointer
        // addresses `len` initialized bytes, kept alive by `t` for the duration of the borrow.
        let bytes = unsafe { std::slice::from_raw_parts(t.data_ptr() as *const u8, len) };
        if cfg!(target_endian = "big") {
            return Err(std::io::Error::other("big-endian hosts are not supported"));
        }
        sink(bytes)
    }
}
