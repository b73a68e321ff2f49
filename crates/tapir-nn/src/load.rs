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
    let bytes = std::fs::read(path).map_err(|e| read_err(e.to_string()))?;
    let file = safetensors::SafeTensors::deserialize(&bytes)
        .map_err(|e| read_err(format!("not a valid safetensors file ({e})")))?;
    let mut tensors = Vec::with_capacity(file.len());
    for (name, view) in file.tensors() {
        let t = tensor_of(&view).map_err(|message| read_err(format!("key `{name}`: {message}")))?;
        tensors.push((name, t));
    }
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

/// A tch tensor holding a copy of a safetensors view's data.
fn tensor_of(view: &safetensors::tensor::TensorView<'_>) -> Result<tch::Tensor, String> {
    use safetensors::Dtype as D;
    use tch::Kind as K;
    let kind = match view.dtype() {
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
    };
    let shape: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
    tch::Tensor::f_from_data_size(view.data(), &shape, kind).map_err(|e| e.to_string())
}
