#!/usr/bin/env python3
"""tapir against PyTorch's two ONNX exporters, side by side in one run.

For each zoo model, the PyTorch definition (tests/zoo_reference.py, seed 0) is saved as a
safetensors checkpoint; then, in rounds, each exporter runs in a fresh process of its own on that
checkpoint, interleaved (tapir, TorchScript, dynamo, next model, ...):

- tapir: `tapir time-export MODEL --weights W --static` (bench profile): load, then trace + save;
- tapir-shape: the same with `--shape-only`: the model has placeholder parameters, and each
  export traces shape-only, binds the weights to the checkpoint and streams them into the file;
- TorchScript: `torch.onnx.export(model, x, path, dynamo=False)`;
- dynamo: `torch.onnx.export(..., dynamo=True)` (needs `onnxscript`; reported missing otherwise).

Each process loads the model and its weights, exports once to warm up, resets its peak-memory
counter (/proc/self/clear_refs), exports once more to measure the peak memory the export adds
(VmHWM - VmRSS before it), then times `--runs` exports. Printed per model: time (min and median
over all rounds), peak extra memory, ONNX node count and file size, and each exporter's ratio to
tapir. With `--chain` it also runs the long-chain growth bench (3k/12k/48k/100k ops) and with
`--off-path` the off-path criterion bench (tapir ops with no trace active against plain tch).

Run from the repo root with the project venv (absolute times drift between machines; the
ratios are what to compare):

    .venv/bin/python benches/suite.py [--rounds 3] [--runs 5] [--models mlp,resnet18] [--chain] [--off-path]
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = ["mlp", "resnet18", "resnet50", "encoder", "lstm"]
BATCH = {"mlp": 8, "resnet18": 1, "resnet50": 1, "encoder": 2, "lstm": 2}
OPSET = 20


def memory_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def child(exporter: str, model_name: str, weights: str, out: str, runs: int) -> None:
    """One PyTorch exporter in this process; prints one JSON line."""
    sys.path.insert(0, str(ROOT / "tests"))
    import torch
    from safetensors.torch import load_file

    import zoo_reference

    torch.set_num_threads(1)
    torch.manual_seed(0)
    model, make_input = zoo_reference.build(model_name)
    model.load_state_dict(load_file(weights))
    model.eval()
    x = make_input(BATCH[model_name])
    dynamo = exporter == "dynamo"

    def export() -> None:
        kwargs = {"dynamo": dynamo, "opset_version": OPSET}
        if dynamo:
            # Weights inside the file, as the other two write them.
            kwargs.update(verbose=False, external_data=False)
        torch.onnx.export(model, (x,), out, **kwargs)

    export()  # warm-up: imports, first-call caches
    before = memory_kb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")
    export()
    peak_extra = memory_kb("VmHWM") - before
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        export()
        times.append((time.perf_counter() - t0) * 1e3)
    print(json.dumps({"times_ms": times, "peak_extra_kb": peak_extra}))


def run_tapir(model: str, weights: Path, out: Path, runs: int, shape_only: bool = False) -> dict:
    cmd = ["cargo", "run", "--quiet", "--profile", "bench", "-p", "tapir-cli", "--", "time-export", model,
           "--weights", str(weights), "--static", "--batch", str(BATCH[model]), "--runs", str(runs),
           "--opset", str(OPSET), "--out", str(out)] + (["--shape-only"] if shape_only else [])
    line = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    return json.loads(line)


def run_torch(exporter: str, model: str, weights: Path, out: Path, runs: int) -> dict:
    cmd = [sys.executable, __file__, "--child", exporter, model, str(weights), str(out), str(runs)]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["failed"])[-1]
        return {"error": last[:120]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def nodes(path: Path) -> int:
    import onnx

    return len(onnx.load(str(path), load_external_data=False).graph.node)


def weights_for(model: str, path: Path) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    import torch
    from safetensors.torch import save_file

    import zoo_reference

    torch.manual_seed(0)
    module = zoo_reference.build(model)[0]
    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, str(path))


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:6], int(sys.argv[6]))
        return 0
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--runs", type=int, default=5, help="timed exports per process")
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--chain", action="store_true", help="also run the long-chain growth bench")
    p.add_argument("--off-path", action="store_true", help="also run the off-path criterion bench")
    args = p.parse_args()
    models = [m for m in args.models.split(",") if m]
    try:
        import onnxscript  # noqa: F401

        exporters = ["tapir", "tapir-shape", "torchscript", "dynamo"]
    except ImportError:
        exporters = ["tapir", "tapir-shape", "torchscript"]
        print("dynamo exporter skipped: `onnxscript` is not installed (.venv/bin/pip install onnxscript)")
    subprocess.run(["cargo", "build", "--quiet", "--profile", "bench", "-p", "tapir-cli"], cwd=ROOT, check=True)
    import torch

    results = {(m, e): {"times_ms": [], "peak_extra_kb": [], "errors": []} for m in models for e in exporters}
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        for m in models:
            weights_for(m, d / f"{m}.safetensors")
        for r in range(args.rounds):
            for m in models:
                for e in exporters:
                    out = d / f"{m}_{e}.onnx"
                    if e.startswith("tapir"):
                        got = run_tapir(m, d / f"{m}.safetensors", out, args.runs, e == "tapir-shape")
                    else:
                        got = run_torch(e, m, d / f"{m}.safetensors", out, args.runs)
                    res = results[(m, e)]
                    if "error" in got:
                        res["errors"].append(got["error"])
                        continue
                    res["times_ms"] += got["times_ms"]
                    res["peak_extra_kb"].append(got["peak_extra_kb"])
                    res["nodes"] = nodes(out)
                    res["bytes"] = out.stat().st_size
            print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    print(f"\nExport to a file, opset {OPSET}, static shapes, one thread; torch {torch.__version__}; "
          f"{args.rounds} rounds x {args.runs} runs, each exporter in its own process, interleaved.")
    print("time = trace + export + write (ms, min / median); mem = peak extra memory of one export (MB); "
          "x = ratio to tapir (median time, memory, nodes). tapir's save fsyncs the file; PyTorch's do not.\n")
    header = f"{'model':9s} {'exporter':12s} {'min':>9s} {'median':>9s} {'x':>6s} {'mem':>8s} {'x':>6s} {'nodes':>6s} {'x':>5s} {'bytes':>11s}"
    print(header)
    print("-" * len(header))
    for m in models:
        base = results[(m, "tapir")]
        base_med = statistics.median(base["times_ms"]) if base["times_ms"] else None
        base_mem = max(base["peak_extra_kb"]) if base["peak_extra_kb"] else None
        for e in exporters:
            res = results[(m, e)]
            if not res["times_ms"]:
                print(f"{m:9s} {e:12s} failed: {res['errors'][0] if res['errors'] else 'no result'}")
                continue
            med, lo = statistics.median(res["times_ms"]), min(res["times_ms"])
            mem = max(res["peak_extra_kb"])
            tx = f"{med / base_med:6.2f}" if base_med else "     -"
            # Below 1 MB an export's extra memory is noise (allocator pages): no ratio.
            mx = f"{mem / base_mem:6.2f}" if base_mem and base_mem >= 1024 else "     -"
            nx = f"{res['nodes'] / base['nodes']:5.2f}" if base.get("nodes") else "    -"
            print(f"{m:9s} {e:12s} {lo:9.2f} {med:9.2f} {tx} {mem / 1024:8.1f} {mx} {res['nodes']:6d} {nx} {res['bytes']:11d}")
    if args.chain:
        print("\nLong chains (cargo run --release -p tapir-benches --bin chain_growth):")
        r = subprocess.run(["cargo", "run", "--quiet", "--release", "-p", "tapir-benches", "--bin", "chain_growth"],
                           cwd=ROOT, check=True, capture_output=True, text=True)
        print(r.stdout)
    if args.off_path:
        print("\nOff-path cost (cargo bench -p tapir-benches --bench recording -- off_path):")
        r = subprocess.run(["cargo", "bench", "-p", "tapir-benches", "--bench", "recording", "--", "off_path"],
                           cwd=ROOT, check=True, capture_output=True, text=True)
        print("\n".join(l for l in r.stdout.splitlines() if "ratio" in l or "off_path" in l))
    return 0


if __name__ == "__main__":
    sys.exit(main())
