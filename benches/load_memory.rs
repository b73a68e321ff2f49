//! Peak memory of loading a checkpoint, beyond the model's own weights: `tapir_nn::Loader`
//! (memory-mapped, each tensor copied once into its variable) against reading the whole file
//! into tensors first (`tch::Tensor::read_safetensors`, then copying: what tapir did before).
//! Run: `cargo run --release -p tapir-benches --bin load_memory [MODEL]` (default resnet50).
//! Each way runs in a child process of its own, so each peak (`VmHWM`) is its own.

use std::process::Command;

use tapir_benches::status_kb;

fn child(way: &str, model: &str, path: &str) -> Result<(), Box<dyn std::error::Error>> {
    let mut vs = tch::nn::VarStore::new(tch::Device::Cpu);
    let _model = tapir_zoo::build(model, &vs).ok_or("unknown model")?;
    let weights: i64 = vs.variables().values().map(|v| v.numel() as i64 * v.kind().elt_size_in_bytes() as i64).sum();
    // Warm libtorch's copy path (its thread pool and allocator) so its one-time cost is not
    // counted as the load's.
    let warm = tch::Tensor::zeros([1 << 16], (tch::Kind::Float, tch::Device::Cpu));
    tch::no_grad(|| warm.shallow_clone().copy_(&tch::Tensor::ones([1 << 16], (tch::Kind::Float, tch::Device::Cpu))));
    let before = status_kb("VmRSS:");
    // The peak from here on: building the model may have pushed the high-water mark above the
    // current resident size (temporaries of its initialization); reset it (Linux).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    match way {
        "loader" => {
            tapir_nn::Loader::new().load(&mut vs, path)?;
        }
        "read-then-copy" => {
            let tensors = tch::Tensor::read_safetensors(path)?;
            let vars = vs.variables();
            tch::no_grad(|| {
                for (k, t) in &tensors {
                    vars[k].shallow_clone().copy_(t);
                }
            });
        }
        _ => return Err("unknown way".into()),
    }
    let peak = status_kb("VmHWM:");
    println!("{way}\t{}\t{}", weights / 1024, peak.saturating_sub(before));
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 4 {
        return child(&args[1], &args[2], &args[3]);
    }
    let model = args.get(1).map(String::as_str).unwrap_or("resnet50");
    let dir = std::env::temp_dir().join(format!("tapir-load-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("weights.safetensors");
    {
        let vs = tch::nn::VarStore::new(tch::Device::Cpu);
        let _m = tapir_zoo::build(model, &vs).ok_or("unknown model")?;
        vs.save(&path)?;
    }
    println!("| way | weights | peak extra memory | extra / weights |\n| --- | --- | --- | --- |");
    for way in ["read-then-copy", "loader"] {
        let out = Command::new(&args[0]).args([way, model, path.to_str().ok_or("path")?]).output()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let fields: Vec<&str> = text.trim().split('\t').collect();
        if let [_, w, extra] = fields.as_slice() {
            let (w, extra): (f64, f64) = (w.parse()?, extra.parse()?);
            println!("| {way} | {:.1} MB | {:.1} MB | {:.3} |", w / 1024.0, extra / 1024.0, extra / w);
        } else {
            eprintln!("{way} failed: {}", String::from_utf8_lossy(&out.stderr));
        }
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
