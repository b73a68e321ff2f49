"""Writes tests/data/torch_mlp.onnx with PyTorch's TorchScript-based exporter (deterministic
for a fixed seed). The schema round-trip test decodes it with tapir's proto/onnx.proto and
re-encodes it byte for byte. Run with the project venv: .venv/bin/python tests/data/make_torch_fixture.py"""
from pathlib import Path

import torch

torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
out = Path(__file__).with_name("torch_mlp.onnx")
torch.onnx.export(model, (torch.randn(1, 4),), str(out), dynamo=False, opset_version=17,
                  input_names=["x"], output_names=["y"])
print(f"wrote {out} ({out.stat().st_size} bytes)")
