//! Loading a PyTorch `state_dict` saved as safetensors into a VarStore, by name.

use std::collections::BTreeSet;
use std::path::Path;

/// Why weights could not be loaded. Every problem is listed; nothing is loaded unless all keys
/// match.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("reading {path}: {message}")]
    Read { path: String, message: String },
    #[error("{path} does not match the model:{}", problems.iter().map(|p| format!("\n  - {p}")).collect::<String>())]
    Mismatch { path: String, problems: Vec<String> },
}

/// Copies every tensor of the safetensors file at `path` into the VarStore variable of the same
/// name. Errors, listing every key, if any variable is missing from the file, any tensor in the
/// file has no variable, or any shape differs. Dtypes are converted to the variable's.
pub fn load_safetensors(vs: &mut tch::nn::VarStore, path: impl AsRef<Path>) -> Result<usize, LoadError> {
    let path = path.as_ref();
    let shown = path.display().to_string();
    let read_err = |message: String| LoadError::Read { path: shown.clone(), message };
    let tensors = tch::Tensor::read_safetensors(path).map_err(|e| read_err(e.to_string()))?;
    let vars = vs.variables();
    let file_keys: BTreeSet<&str> = tensors.iter().map(|(k, _)| k.as_str()).collect();
    let mut problems = vec![];
    let mut names: Vec<&String> = vars.keys().collect();
    names.sort();
    for name in &names {
        if !file_keys.contains(name.as_str()) {
            problems.push(format!("missing key `{name}`"));
        }
    }
    for (k, t) in &tensors {
        match vars.get(k) {
            None => problems.push(format!("unexpected key `{k}`")),
            Some(v) if v.size() != t.size() => {
                problems.push(format!("key `{k}`: shape {:?} in the file, {:?} in the model", t.size(), v.size()))
            }
            Some(_) => {}
        }
    }
    if !problems.is_empty() {
        problems.sort();
        return Err(LoadError::Mismatch { path: shown, problems });
    }
    tch::no_grad(|| {
        for (k, t) in &tensors {
            let mut v = vars[k].shallow_clone();
            v.f_copy_(&t.to_kind(v.kind()).to_device(v.device())).map_err(|e| read_err(format!("key `{k}`: {e}")))?;
        }
        Ok::<(), LoadError>(())
    })?;
    Ok(tensors.len())
}
