#!/usr/bin/env python3
"""Hugging Face `transformers` references for tapir's checkpoint tests (tests/hf.rs).

For small GPT-2, BERT, LLaMA and ViT configurations with random weights (no network, no hub),
writes into OUT/<model>/:
  pretrained/      what `save_pretrained` writes (safetensors; LLaMA's sharded with an index)
  state_dict.bin   `torch.save(model.state_dict())` (PyTorch's zip format; tied keys included)
  legacy.bin       (GPT-2, BERT, LLaMA) the layout of older hub checkpoints: GPT-2 without the
                   `transformer.` prefix and with `attn.bias` mask buffers, BERT under `bert.`
                   with `LayerNorm.gamma/beta` names, `position_ids` and a `cls.` head, LLaMA
                   with per-layer `rotary_emb.inv_freq`
  io.safetensors   inputs `input.NNN` and HF's outputs `output.NNN`

Weights: HF's initializer gives weights of std 0.02 and norms of exactly 1/0, which hides
mistakes (exact instead of tanh GELU changes GPT-2's output by 4e-6 of its scale). Here linear
and convolution weights have std 0.2, embeddings 0.02 (small embeddings keep LayerNorm inputs
small, so a wrong eps shows), norm weights 1 +- 0.1 and biases 0 +- 0.1.
Usage: hf_reference.py OUT
"""
import sys
from pathlib import Path

import torch
import transformers
from safetensors.torch import save_file

transformers.logging.set_verbosity_error()
transformers.logging.disable_progress_bar()
torch.set_grad_enabled(False)


def spread(model, seed):
    g = torch.Generator().manual_seed(seed)
    for name, p in model.named_parameters():
        n = name.lower()
        if "norm" in n or ".ln_" in n or n.startswith("ln_"):
            base = 1.0 if name.endswith("weight") else 0.0
            p.copy_(base + 0.1 * torch.randn(p.shape, generator=g))
        elif "emb" in n or "wte" in n or "wpe" in n or "cls_token" in n:
            p.copy_(0.02 * torch.randn(p.shape, generator=g))
        elif name.endswith("bias"):
            p.copy_(0.1 * torch.randn(p.shape, generator=g))
        else:
            p.copy_(0.2 * torch.randn(p.shape, generator=g))


def write(out, name, model, inputs, outputs, legacy=None, shard=None):
    d = out / name
    d.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(d / "pretrained", **({"max_shard_size": shard} if shard else {}))
    torch.save(model.state_dict(), d / "state_dict.bin")
    if legacy is not None:
        torch.save(legacy, d / "legacy.bin")
    io = {f"input.{i:03}": x.contiguous() for i, x in enumerate(inputs)}
    io.update({f"output.{i:03}": y.contiguous() for i, y in enumerate(outputs)})
    save_file(io, str(d / "io.safetensors"))


def main():
    out = Path(sys.argv[1])
    ids = torch.randint(0, 100, (2, 7), generator=torch.Generator().manual_seed(1))

    from transformers import GPT2Config, GPT2LMHeadModel
    cfg = GPT2Config(n_embd=32, n_layer=2, n_head=4, n_positions=64, vocab_size=100, bos_token_id=0, eos_token_id=0)
    m = GPT2LMHeadModel(cfg).eval()
    spread(m, 0)
    legacy = {k.removeprefix("transformer."): v for k, v in m.state_dict().items() if k != "lm_head.weight"}
    for i in range(cfg.n_layer):
        legacy[f"h.{i}.attn.bias"] = torch.tril(torch.ones(64, 64, dtype=torch.uint8)).view(1, 1, 64, 64)
        legacy[f"h.{i}.attn.masked_bias"] = torch.tensor(-1e4)
    write(out, "gpt2", m, [ids], [m(ids).logits], legacy)

    from transformers import BertConfig, BertModel
    cfg = BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                     vocab_size=100, max_position_embeddings=64)
    m = BertModel(cfg).eval()
    spread(m, 1)
    legacy = {}
    for k, v in m.state_dict().items():
        k = k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
        legacy["bert." + k] = v
    legacy["bert.embeddings.position_ids"] = torch.arange(64).view(1, 64)
    legacy["cls.predictions.bias"] = torch.zeros(100)
    legacy["cls.predictions.transform.dense.weight"] = torch.zeros(32, 32)
    y = m(ids)
    write(out, "bert", m, [ids], [y.last_hidden_state, y.pooler_output], legacy)

    from transformers import LlamaConfig, LlamaForCausalLM
    cfg = LlamaConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                      intermediate_size=64, vocab_size=100, max_position_embeddings=64)
    m = LlamaForCausalLM(cfg).eval()
    spread(m, 2)
    legacy = dict(m.state_dict())
    inv_freq = m.model.rotary_emb.inv_freq.clone()
    for i in range(cfg.num_hidden_layers):
        legacy[f"model.layers.{i}.self_attn.rotary_emb.inv_freq"] = inv_freq
    write(out, "llama", m, [ids], [m(ids).logits], legacy, shard="20KB")

    from transformers import ViTConfig, ViTModel
    cfg = ViTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                    image_size=32, patch_size=8)
    m = ViTModel(cfg).eval()
    spread(m, 3)
    pixels = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(4))
    y = m(pixels)
    write(out, "vit", m, [pixels], [y.last_hidden_state, y.pooler_output])
    (out / "transformers-version").write_text(transformers.__version__)


if __name__ == "__main__":
    main()
