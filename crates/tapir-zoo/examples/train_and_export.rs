//! Trains the tiny CNN on synthetic data with `tch::nn::Adam`, exporting an ONNX checkpoint
//! halfway through without disturbing training, and the final model at the end.
//!
//! `cargo run -p tapir-zoo --example train_and_export -- OUT_DIR`

use tapir::{ExportOptions, Tracer};
use tapir_nn::ModuleT;
use tapir_zoo::training::{synthetic_batch, train_step, TinyCnn};
use tch::nn::OptimizerConfig;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "target/train".into()));
    std::fs::create_dir_all(&out)?;
    tch::manual_seed(0);
    let vs = tch::nn::VarStore::new(tch::Device::Cpu);
    let model = TinyCnn::new(&vs.root());
    let mut opt = tch::nn::Adam::default().build(&vs, 1e-2)?;
    let (example, _) = synthetic_batch(4);
    for step in 1..=300 {
        let loss = train_step(&model, &mut opt, 64);
        if step % 50 == 0 {
            println!("step {step}: loss {loss:.4}");
        }
        if step == 150 || step == 300 {
            let traced = Tracer::new().parameters(&vs).trace(|x| model.forward_t(&x[0], false), &[&example])?;
            let path = out.join(format!("tiny_cnn_step{step}.onnx"));
            let bytes = traced.save_onnx(&path, &ExportOptions::default())?;
            println!("exported {} ({bytes} bytes)", path.display());
        }
    }
    Ok(())
}
