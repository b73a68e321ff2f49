//! ONNX Runtime in-process (feature `testing`), through the `ort` crate with its dynamic
//! loading: the library is the one the pinned `onnxruntime` Python wheel ships (`./dev setup`
//! writes its path into `.cargo/config.toml` as `ORT_DYLIB_PATH`); nothing is downloaded at
//! build time. Without it, [`run_onnxruntime`] says why, and `testing::assert_exports` says that
//! ONNX Runtime was not run.

use std::sync::OnceLock;

/// The ONNX Runtime environment, loaded once per process from `ORT_DYLIB_PATH`.
fn environment() -> Result<&'static ort::environment::Environment, String> {
    static ENV: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        let path = std::env::var("ORT_DYLIB_PATH").map_err(|_| {
            "ORT_DYLIB_PATH is not set (point it at libonnxruntime.so; `./dev setup` does, from the \
             onnxruntime Python wheel)"
                .to_owned()
        })?;
        if !std::path::Path::new(&path).is_file() {
            return Err(format!("ORT_DYLIB_PATH={path}: no such file"));
        }
        let builder = ort::init_from(&path).map_err(|e| format!("loading ONNX Runtime from {path}: {e}"))?;
        builder.build().map_err(|e| format!("starting ONNX Runtime from {path}: {e}"))
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// `Ok` when ONNX Runtime can be run in this process, else why not.
pub fn onnxruntime_available() -> Result<(), String> {
    environment().map(|_| ())
}

fn input(t: &tch::Tensor) -> Result<ort::value::DynValue, String> {
    let t = t.to_device(tch::Device::Cpu).contiguous();
    let shape: Vec<usize> = t.size().iter().map(|&d| d as usize).collect();
    let flat = t.flatten(0, -1);
    fn make<T>(shape: Vec<usize>, data: Vec<T>) -> Result<ort::value::DynValue, String>
    where
        T: ort::value::PrimitiveTensorElementType + Clone + std::fmt::Debug + 'static,
    {
        ort::value::Tensor::from_array((shape, data)).map(|v| v.into_dyn()).map_err(|e| e.to_string())
    }
    let err = |e: tch::TchError| e.to_string();
    match t.kind() {
        tch::Kind::Float => make(shape, Vec::<f32>::try_from(&flat).map_err(err)?),
        tch::Kind::Double => make(shape, Vec::<f64>::try_from(&flat).map_err(err)?),
        tch::Kind::Int64 => make(shape, Vec::<i64>::try_from(&flat).map_err(err)?),
        tch::Kind::Int => make(shape, Vec::<i32>::try_from(&flat).map_err(err)?),
        tch::Kind::Int16 => make(shape, Vec::<i16>::try_from(&flat).map_err(err)?),
        tch::Kind::Int8 => make(shape, Vec::<i8>::try_from(&flat).map_err(err)?),
        tch::Kind::Uint8 => make(shape, Vec::<u8>::try_from(&flat).map_err(err)?),
        tch::Kind::Bool => make(shape, Vec::<bool>::try_from(&flat).map_err(err)?),
        tch::Kind::Half => make(shape, half_bits(&flat)?.into_iter().map(half::f16::from_bits).collect()),
        tch::Kind::BFloat16 => make(shape, half_bits(&flat)?.into_iter().map(half::bf16::from_bits).collect()),
        other => Err(format!("inputs of dtype {other:?} are not supported by this check")),
    }
}

/// The 16-bit patterns of a half-precision tensor's elements.
fn half_bits(t: &tch::Tensor) -> Result<Vec<u16>, String> {
    let n = t.numel();
    let mut bytes = vec![0u8; n * 2];
    t.f_copy_data_u8(&mut bytes, n).map_err(|e| e.to_string())?;
    Ok(bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect())
}

fn output(v: &ort::value::DynValue) -> Result<tch::Tensor, String> {
    fn make<T: tch::kind::Element>(shape: &[i64], data: &[T]) -> tch::Tensor {
        tch::Tensor::from_slice(data).reshape(shape)
    }
    macro_rules! try_as {
        ($($t:ty),*) => {
            $(if let Ok((shape, data)) = v.try_extract_tensor::<$t>() {
                return Ok(make(&shape.to_vec(), data));
            })*
        };
    }
    try_as!(f32, f64, i64, i32, i16, i8, u8, bool);
    // Half types arrive through float32 (exact) and go back to their own kind.
    if let Ok((shape, data)) = v.try_extract_tensor::<half::f16>() {
        let wide: Vec<f32> = data.iter().map(|x| x.to_f32()).collect();
        return Ok(make(shape, &wide).to_kind(tch::Kind::Half));
    }
    if let Ok((shape, data)) = v.try_extract_tensor::<half::bf16>() {
        let wide: Vec<f32> = data.iter().map(|x| x.to_f32()).collect();
        return Ok(make(shape, &wide).to_kind(tch::Kind::BFloat16));
    }
    Err(format!("an output of type {:?} is not supported by this check", v.dtype()))
}

/// Runs the ONNX model `bytes` in ONNX Runtime (CPU, one thread) on `inputs` (in the graph's
/// input order) and returns its outputs as tch tensors. Errors say whether ONNX Runtime is not
/// available ([`onnxruntime_available`]) or what it refused.
pub fn run_onnxruntime(bytes: &[u8], inputs: &[&tch::Tensor]) -> Result<Vec<tch::Tensor>, String> {
    let env = environment()?;
    let refused = |e: String| format!("ONNX Runtime refused the model: {e}");
    let builder = ort::session::Session::builder(env).map_err(|e| refused(e.to_string()))?;
    let builder = builder.with_intra_threads(1).map_err(|e| refused(e.to_string()))?;
    // A failure is returned as this function's error; ONNX Runtime's own log would repeat it.
    let mut builder = builder.with_log_level(ort::logging::LogLevel::Fatal).map_err(|e| refused(e.to_string()))?;
    let mut session = builder.commit_from_memory(bytes).map_err(|e| refused(e.to_string()))?;
    let values = inputs.iter().map(|t| input(t)).collect::<Result<Vec<_>, _>>()?;
    let feed: Vec<ort::session::SessionInputValue<'_>> = values.into_iter().map(Into::into).collect();
    let outputs = session.run(feed.as_slice()).map_err(|e| format!("ONNX Runtime failed: {e}"))?;
    outputs.values().map(|v| output(&v)).collect()
}
