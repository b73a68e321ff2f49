#!/usr/bin/env python3
"""PyTorch references for single layers: for each case, builds the PyTorch layer (seeded), runs
it in eval mode (or train mode where the case says), and writes DIR/<case>/weights.safetensors
and DIR/<case>/io.safetensors (inputs input.NNN, outputs output.NNN, metadata atol/rtol).

usage: layer_reference.py DIR
"""
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file


def save(out: Path, name: str, module, inputs, outputs, atol=1e-5, rtol=1e-4):
    d = out / name
    d.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, str(d / "weights.safetensors"))
    io = {f"input.{i:03}": x.contiguous() for i, x in enumerate(inputs)}
    io.update({f"output.{i:03}": y.contiguous() for i, y in enumerate(outputs)})
    save_file(io, str(d / "io.safetensors"), metadata={"atol": repr(atol), "rtol": repr(rtol)})


def main() -> None:
    out = Path(sys.argv[1])
    torch.manual_seed(0)
    nn = torch.nn
    with torch.no_grad():
        m = nn.Conv1d(4, 6, 3, stride=2, padding=1, dilation=1).eval()
        x = torch.randn(2, 4, 11)
        save(out, "conv1d", m, [x], [m(x)])

        m = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2).eval()
        x = torch.randn(2, 4, 5, 5)
        save(out, "conv_transpose2d", m, [x], [m(x)])

        m = nn.GroupNorm(3, 6, eps=1e-5).eval()
        m.weight.uniform_(0.5, 1.5), m.bias.normal_()
        x = torch.randn(2, 6, 4, 4)
        save(out, "group_norm", m, [x], [m(x)])

        m = nn.GRU(5, 7, num_layers=2, batch_first=True, bidirectional=True).eval()
        x, h0 = torch.randn(3, 6, 5), torch.randn(4, 3, 7)
        y, hn = m(x, h0)
        save(out, "gru_bidirectional_h0", m, [x, h0], [y, hn])

        m = nn.LSTM(5, 7, num_layers=1, batch_first=False, bidirectional=True).eval()
        x, h0, c0 = torch.randn(6, 3, 5), torch.randn(2, 3, 7), torch.randn(2, 3, 7)
        y, (hn, cn) = m(x, (h0, c0))
        save(out, "lstm_bidirectional_states", m, [x, h0, c0], [y, hn, cn])

        m = nn.MultiheadAttention(16, 4, batch_first=True).eval()
        q, kv = torch.randn(2, 5, 16), torch.randn(2, 7, 16)
        pad = torch.tensor([[False] * 7, [False] * 5 + [True] * 2])
        attn = torch.triu(torch.ones(5, 7, dtype=torch.bool), diagonal=3)
        y, _ = m(q, kv, kv, key_padding_mask=pad, attn_mask=attn, need_weights=False)
        save(out, "mha_masks", m, [q, kv, pad, attn], [y])

        m = nn.TransformerEncoderLayer(16, 4, dim_feedforward=32, activation="relu", batch_first=True, norm_first=True).eval()
        x = torch.randn(2, 5, 16)
        save(out, "encoder_layer_prenorm_relu", m, [x], [m(x)])

        # transformers' GPT-2 Conv1D (weight [in, out]) and LLaMA's rotary embedding, written
        # out here as transformers defines them (the package is not a test dependency).
        class HfConv1D(nn.Module):
            def __init__(self, nf, nx):
                super().__init__()
                self.nf = nf
                self.weight = nn.Parameter(torch.randn(nx, nf) * 0.5)
                self.bias = nn.Parameter(torch.randn(nf))

            def forward(self, x):
                out = torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight)
                return out.view(x.size()[:-1] + (self.nf,))

        m = HfConv1D(12, 8).eval()
        x = torch.randn(2, 5, 8)
        save(out, "hf_conv1d", m, [x], [m(x)])

        class Rotary(nn.Module):
            def __init__(self, dim, base):
                super().__init__()
                inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
                self.register_buffer("inv_freq", inv_freq, persistent=False)

            def forward(self, x):
                t = x.shape[-2]
                freqs = torch.outer(torch.arange(t).float(), self.inv_freq)
                emb = torch.cat((freqs, freqs), dim=-1)
                x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2 :]
                return x * emb.cos() + torch.cat((-x2, x1), dim=-1) * emb.sin()

        m = Rotary(8, 10000.0).eval()
        x = torch.randn(2, 3, 7, 8)
        save(out, "rotary", m, [x], [m(x)])

        m = nn.RMSNorm([8], eps=None).eval()
        m.weight.uniform_(0.5, 1.5)
        x = torch.randn(2, 3, 8)
        save(out, "rms_norm", m, [x], [m(x)])

        m = nn.PReLU(3, init=0.2).eval()
        m.weight.uniform_(0.0, 0.5)
        x = torch.randn(2, 3, 4, 4)
        save(out, "prelu", m, [x], [m(x)])

        x = torch.randn(1, 2, 3, 5)
        ups = [
            nn.Upsample(scale_factor=2.0, mode="nearest"),
            nn.Upsample(size=(7, 9), mode="nearest"),
            nn.Upsample(scale_factor=1.5, mode="bilinear", align_corners=False),
            nn.Upsample(size=(6, 8), mode="bilinear", align_corners=True),
            nn.Upsample(scale_factor=2.0, mode="bicubic", align_corners=False),
        ]
        save(out, "upsample", nn.Module(), [x], [u(x) for u in ups], atol=1e-4)

        acts = [nn.LeakyReLU(0.2), nn.ELU(0.5), nn.GELU(approximate="tanh"), nn.SiLU(), nn.Hardswish(),
                nn.Hardsigmoid(), nn.ReLU6(), nn.Hardtanh(), nn.Softplus(), nn.Mish(), nn.SELU(), nn.CELU(),
                nn.LogSigmoid(), nn.Hardshrink(), nn.Softshrink(), nn.Softmax(dim=1), nn.LogSoftmax(dim=-1)]
        x = torch.randn(3, 40) * 4
        save(out, "activations", nn.Module(), [x], [a(x) for a in acts])

    # BatchNorm2d in train mode: three steps update the running statistics; then eval output.
    m = nn.BatchNorm2d(3)
    xs = [torch.randn(4, 3, 5, 5) for _ in range(3)]
    for x in xs:
        m(x)
    m.eval()
    with torch.no_grad():
        y = m(xs[0])
        save(out, "batchnorm_after_training", nn.BatchNorm2d(3), xs, [y, m.running_mean.clone(), m.running_var.clone()])


if __name__ == "__main__":
    main()
