#!/usr/bin/env python3
"""PyTorch references for the zoo: for each model name, builds the PyTorch definition with seeded
random weights (and non-trivial batch-norm statistics), runs it in eval mode on a seeded input,
and writes DIR/<model>/weights.safetensors (the state_dict) and DIR/<model>/io.safetensors
(input.000, output.000; metadata atol = 1e-4 x max |output|, rtol = 0).

usage: zoo_reference.py DIR BATCH MODEL [MODEL ...]
"""
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file


class Mlp(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512),
                                       torch.nn.ReLU(), torch.nn.Linear(512, 10))

    def forward(self, x):
        return self.net(x)


class Encoder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(1000, 256)
        layer = torch.nn.TransformerEncoderLayer(256, 4, dim_feedforward=1024, activation="gelu", batch_first=True)
        self.enc = torch.nn.TransformerEncoder(layer, num_layers=4, enable_nested_tensor=False)

    def forward(self, x):
        return self.enc(self.emb(x))


class LstmClassifier(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(64, 128, num_layers=2, batch_first=True)
        self.head = torch.nn.Linear(128, 10)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1, :])


def build(name: str):
    if name == "mlp":
        return Mlp(), lambda n: torch.randn(n, 784)
    if name in ("resnet18", "resnet50"):
        import torchvision
        return getattr(torchvision.models, name)(), lambda n: torch.randn(n, 3, 224, 224)
    if name == "encoder":
        return Encoder(), lambda n: torch.randint(0, 1000, (n, 128))
    if name == "lstm":
        return LstmClassifier(), lambda n: torch.randn(n, 32, 64)
    raise SystemExit(f"unknown model {name}")


def main() -> None:
    out, batch, names = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    for name in names:
        torch.manual_seed(0)
        model, make_input = build(name)
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.running_mean.normal_(0.0, 0.1)
                    m.running_var.uniform_(0.5, 1.5)
                    m.weight.uniform_(0.5, 1.5)
                    m.bias.normal_(0.0, 0.1)
        model.eval()
        x = make_input(batch)
        with torch.no_grad():
            y = model(x)
        d = out / name
        d.mkdir(parents=True, exist_ok=True)
        state = {k: v.contiguous() for k, v in model.state_dict().items()}
        save_file(state, str(d / "weights.safetensors"))
        scale = float(y.abs().max())
        save_file({"input.000": x.contiguous(), "output.000": y.contiguous()}, str(d / "io.safetensors"),
                  metadata={"atol": repr(1e-4 * scale), "rtol": "0"})
        print(f"{name}: {len(state)} tensors, output {tuple(y.shape)}, max |y| {scale:.3g}")


if __name__ == "__main__":
    main()
