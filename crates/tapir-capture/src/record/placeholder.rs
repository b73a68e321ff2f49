//! Placeholder tensors: a shape and a dtype, no data. A model built with placeholder parameters
//! traces shape-only and exports with its weights' bytes taken from elsewhere (a checkpoint)
//! at export time, so it is never materialized in memory.
//!
//! A placeholder is a zero expanded to its shape (every stride 0) over one element of storage
//! of its own, so captured placeholders keep distinct identities. Export refuses one whose data
//! was not bound to a source: it never writes the zero as if it were the weight.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

/// The storages of the placeholders made so far (their data pointers), with a handle on each
/// so that no other tensor can be allocated at a recorded address. One element (and a tensor
/// handle) per placeholder is held for the life of the process.
struct Registry {
    addresses: HashSet<usize>,
    held: Vec<tch::Tensor>,
}

fn registry() -> &'static Mutex<Registry> {
    static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
    REGISTRY.get_or_init(|| Mutex::new(Registry { addresses: HashSet::new(), held: Vec::new() }))
}

/// A placeholder of `shape`, `kind` and `device`: it reads as zeros and holds no data of its
/// own (see the module docs).
pub fn placeholder(shape: &[i64], kind: tch::Kind, device: tch::Device) -> Result<tch::Tensor, tch::TchError> {
    let base = tch::Tensor::f_zeros([1], (kind, device))?;
    let t = base.f_expand(shape, false)?;
    let mut r = registry().lock().unwrap_or_else(|p| p.into_inner());
    r.addresses.insert(base.data_ptr() as usize);
    r.held.push(base);
    Ok(t)
}

/// Whether `t` views a placeholder's storage (a placeholder, or a view of one).
pub fn is_placeholder(t: &tch::Tensor) -> bool {
    if !t.defined() || t.numel() == 0 {
        return false;
    }
    let r = registry().lock().unwrap_or_else(|p| p.into_inner());
    !r.addresses.is_empty() && r.addresses.contains(&(t.data_ptr() as usize))
}
