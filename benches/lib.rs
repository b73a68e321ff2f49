//! Benchmarks live in `recording.rs` (cost of a tapir op with and without a trace, against the
//! bare tch op) and `export.rs` (lowering and writing). Run: `cargo bench -p tapir-benches`.
//! `suite.py` runs tapir and PyTorch's two exporters side by side on the zoo (time, peak memory,
//! node counts, as ratios), and optionally the long-chain and off-path benches.

/// A field of this process's `/proc/self/status` in KiB (`VmRSS`, `VmHWM`, `RssAnon`, ...); 0
/// where it cannot be read (not Linux).
pub fn status_kb(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
