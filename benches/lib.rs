//! Benchmarks live in `recording.rs` (cost of a tapir op with and without a trace, against the
//! bare tch op) and `export.rs` (lowering and writing). Run: `cargo bench -p tapir-benches`.
//! `compare_pytorch.py` times tapir's export against PyTorch's exporters on the same model.
