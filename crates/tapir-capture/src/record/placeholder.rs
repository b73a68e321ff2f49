//! Placeholder tensors: a shape and a dtype, no data. A model built with placeholder parameters
//! traces shape-only and exports with its weights' bytes taken from elsewhere (a checkpoint)
//! at export time, so it is never materialized in memory.
//!
//! A placeholder is a zero expanded to its shape (every stride 0) over one element of storage
//! of its own, so captured placeholders keep distinct identities. Export refuses one whose data
//! was not bound to a source: it never writes the zero as if it were the weight.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// The storages of the placeholders made so far (their data pointers), with a handle on each
/// so that no other tensor can be allocated at a recorded address. One element (and a tensor
/// handle) per placeholder is held for the life of the process.
struct Registry {
    /// Storage address to the placeholder's shape.
    addresses: HashMap<usize, Vec<i64>>,
    held: Vec<tch::Tensor>,
}

fn registry() -> &'static Mutex<Registry> {
    static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
    REGISTRY.get_or_init(|| Mutex::new(Registry { addresses: HashMap::new(), held: Vec::new() }))
}

/// A placeholder of `shape`, `kind` and `device`: it reads as zeros and holds no data of its
/// own (see the module docs).
pub fn placeholder(shape: &[i64], kind: tch::Kind, device: tch::Device) -> Result<tch::Tensor, tch::TchError> {
    let base = tch::Tensor::f_zeros([1], (kind, device))?;
    let t = base.f_expand(shape, false)?;
    let mut r = registry().lock().unwrap_or_else(|p| p.into_inner());
    r.addresses.insert(base.data_ptr() as usize, shape.to_vec());
    r.held.push(base);
    Ok(t)
}

/// Whether `t` views a placeholder's storage (a placeholder, or a view of one).
pub fn is_placeholder(t: &tch::Tensor) -> bool {
    placeholder_shape(t).is_some()
}

/// The shape of the placeholder whose storage `t` views, if it views one.
pub(crate) fn placeholder_shape(t: &tch::Tensor) -> Option<Vec<i64>> {
    if !t.defined() || t.numel() == 0 {
        return None;
    }
    let r = registry().lock().unwrap_or_else(|p| p.into_inner());
    if r.addresses.is_empty() {
        return None;
    }
    r.addresses.get(&(t.data_ptr() as usize)).cloned()
}

/// Why `t` cannot be captured: it is part of a placeholder (a view taken on the tch side, of
/// another shape), whose part export could not tell, since the placeholder's storage holds one
/// element. A view of the same shape (a square matrix transposed) is not detectable this way.
pub(crate) fn partial_view(t: &tch::Tensor) -> Option<String> {
    let shape = placeholder_shape(t)?;
    let size = t.size();
    (size != shape).then(|| {
        format!(
            "it captures a part {size:?} of a placeholder parameter {shape:?} (a view taken on the tch side), which has no data to tell the part by: take the part with a traced op on the whole parameter, or with `tapir::named_slice`"
        )
    })
}
