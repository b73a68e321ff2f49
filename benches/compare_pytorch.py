#!/usr/bin/env python3
"""Times tapir's export against PyTorch's ONNX exporters on the same model, in one run.

Model: MLP 784-512-512-10 with ReLU, batch 8, opset 20, float32, written to a file.
tapir: `tapir time-export` (bench profile), median of 20 trace + export runs.
PyTorch: torch.onnx.export, TorchScript-based (dynamo=False) and torch.export-based (dynamo=True,
needs onnxscript; reported as unavailable otherwise), median of 5 runs each.
Run from the repo root with the project venv: .venv/bin/python benches/compare_pytorch.py
"""
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import torch


def tapir_times(out: Path) -> dict:
    cmd = ["cargo", "run", "--quiet", "--profile", "bench", "-p", "tapir-cli", "--",
           "time-export", "--out", str(out), "--opset", "20"]
    line = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    return json.loads(line)


def torch_times(out: Path, dynamo: bool, runs: int = 5) -> dict:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512),
                                torch.nn.ReLU(), torch.nn.Linear(512, 10)).eval()
    x = torch.randn(8, 784)
    path = out / f"torch_{'dynamo' if dynamo else 'torchscript'}.onnx"
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        torch.onnx.export(model, (x,), str(path), dynamo=dynamo, opset_version=20)
        times.append((time.perf_counter() - t0) * 1e3)
    return {"export_ms": statistics.median(times), "bytes": path.stat().st_size}


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        out = Path(d)
        rows = {"tapir (trace + export)": None, "torch.onnx.export dynamo=False": None, "torch.onnx.export dynamo=True": None}
        t = tapir_times(out)
        rows["tapir (trace + export)"] = {"export_ms": t["trace_ms"] + t["export_ms"], "bytes": t["bytes"]}
        rows["torch.onnx.export dynamo=False"] = torch_times(out, dynamo=False)
        try:
            rows["torch.onnx.export dynamo=True"] = torch_times(out, dynamo=True)
        except Exception as e:  # onnxscript missing, or the exporter failed
            rows["torch.onnx.export dynamo=True"] = {"error": f"{type(e).__name__}: {str(e).splitlines()[0][:100]}"}
    print(f"MLP 784-512-512-10, batch 8, opset 20, torch {torch.__version__}")
    for name, r in rows.items():
        if "error" in r:
            print(f"  {name:34s} unavailable ({r['error']})")
        else:
            print(f"  {name:34s} {r['export_ms']:9.2f} ms   {r['bytes']:>9d} bytes")


if __name__ == "__main__":
    main()
