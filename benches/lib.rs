//! Benchmarks live in `recording.rs` (cost of a tapir op with and without a trace, against the
//! bare tch op) and `export.rs` (lowering and writing). Run: `cargo bench -p tapir-benches`.
//! `suite.py` runs tapir and PyTorch's two exporters side by side on the zoo (time, peak memory,
//! node counts, as ratios), and optionally the long-chain and off-path benches.
