#!/usr/bin/env python3
"""ONNX Runtime latency of a dynamic-shape export against the static export of the same model.

For each zoo model, `tapir export` (bench profile) writes it static (`--static`) and dynamic
(batch, and the sequence length for encoder and lstm), from the same weights; both run in ONNX
Runtime (one thread) on the same input, interleaved, and the script prints the median latency
of each and their ratio. Run from the repo root with the project venv:
.venv/bin/python benches/dynamic_ort.py
"""
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from safetensors.torch import save_file

# (model, input shape, input dtype, extra export flags for the dynamic model)
CASES = [
    ("mlp", (8, 784), np.float32, []),
    ("resnet18", (2, 3, 224, 224), np.float32, []),
    ("encoder", (2, 128), np.int64, ["--dynamic", "seq"]),
    ("lstm", (2, 32, 64), np.float32, ["--dynamic", "seq"]),
]


def export(model: str, out: Path, weights: Path, batch: int, flags: list) -> None:
    cmd = ["cargo", "run", "--quiet", "--profile", "bench", "-p", "tapir-cli", "--", "export", model,
           "--weights", str(weights), "--batch", str(batch), "--out", str(out), *flags]
    subprocess.run(cmd, check=True, capture_output=True, text=True)


def weights_for(model: str, path: Path) -> None:
    """The model's state_dict from its PyTorch definition (same names as the zoo's)."""
    torch.manual_seed(0)
    import zoo_reference  # tests/zoo_reference.py
    save_file({k: v.contiguous() for k, v in zoo_reference.build(model)[0].state_dict().items()}, str(path))


def main() -> None:
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    print(f"ONNX Runtime {ort.__version__}, one thread; median of interleaved runs")
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        for model, shape, dtype, flags in CASES:
            weights = d / f"{model}.safetensors"
            weights_for(model, weights)
            paths = {"static": d / f"{model}_static.onnx", "dynamic": d / f"{model}_dynamic.onnx"}
            export(model, paths["static"], weights, shape[0], ["--static"])
            export(model, paths["dynamic"], weights, shape[0], flags)
            sess = {k: ort.InferenceSession(str(p), opts, providers=["CPUExecutionProvider"]) for k, p in paths.items()}
            rng = np.random.default_rng(0)
            x = rng.integers(0, 1000, size=shape) if dtype == np.int64 else rng.standard_normal(shape).astype(dtype)
            name = sess["static"].get_inputs()[0].name
            outs = {k: s.run(None, {name: x})[0] for k, s in sess.items()}
            assert np.allclose(outs["static"], outs["dynamic"], atol=1e-5, rtol=1e-5), model
            times = {"static": [], "dynamic": []}
            runs = 40 if model != "resnet18" else 15
            for _ in range(runs):
                for k, s in sess.items():
                    t0 = time.perf_counter()
                    s.run(None, {name: x})
                    times[k].append((time.perf_counter() - t0) * 1e3)
            st, dy = statistics.median(times["static"]), statistics.median(times["dynamic"])
            print(f"  {model:9s} {str(shape):18s} static {st:8.3f} ms   dynamic {dy:8.3f} ms   dynamic/static {dy / st:5.3f}")


if __name__ == "__main__":
    main()
