#!/usr/bin/env python3
"""Dumps PyTorch's OpInfo samples for the ops tapir has, with torch's own outputs.

usage: opinfo_samples.py OUT_DIR

For every OpInfo in OPS (the name tapir's suite maps to a tapir method) and each dtype in
DTYPES that the OpInfo supports on CPU, the first CAP samples of `reference_inputs` (which
starts with `sample_inputs`) are written: every tensor (sample input, tensor arguments, torch's
outputs) to OUT_DIR/tensors.safetensors, and OUT_DIR/samples.json describing each sample's
arguments. Seeds are fixed, so the dump is the same on every run with the pinned torch.
Samples whose arguments or outputs cannot be written (another dtype, an unknown Python value)
are counted in samples.json's `skipped`, never dropped silently.
"""
import json
import math
import sys
from pathlib import Path

# (OpInfo name, variant_test_name)
OPS = [
    ("add", ""), ("sub", ""), ("mul", ""), ("div", "no_rounding_mode"), ("div", "trunc_rounding"),
    ("div", "floor_rounding"), ("pow", ""), ("minimum", ""), ("maximum", ""), ("neg", ""),
    ("sqrt", ""), ("rsqrt", ""), ("exp", ""), ("log", ""), ("abs", ""), ("reciprocal", ""),
    ("clamp", ""), ("clamp_min", ""), ("clamp_max", ""),
    ("sin", ""), ("cos", ""), ("tan", ""), ("asin", ""), ("acos", ""), ("atan", ""), ("sinh", ""),
    ("cosh", ""), ("erf", ""), ("floor", ""), ("ceil", ""), ("round", ""), ("trunc", ""), ("sign", ""),
    ("log1p", ""), ("expm1", ""), ("log2", ""),
    ("nn.functional.relu6", ""), ("nn.functional.hardtanh", ""), ("nn.functional.hardsigmoid", ""),
    ("nn.functional.softplus", ""), ("nn.functional.selu", ""), ("nn.functional.celu", ""),
    ("nn.functional.mish", ""),
    ("eq", ""), ("ne", ""), ("lt", ""), ("le", ""), ("gt", ""), ("ge", ""),
    ("logical_and", ""), ("logical_or", ""), ("logical_xor", ""), ("logical_not", ""),
    ("where", ""), ("masked_fill", ""),
    ("nn.functional.relu", ""), ("sigmoid", ""), ("tanh", ""), ("nn.functional.leaky_relu", ""),
    ("nn.functional.elu", ""), ("nn.functional.silu", ""), ("nn.functional.hardswish", ""),
    ("nn.functional.gelu", ""), ("softmax", ""), ("softmax", "with_dtype"), ("log_softmax", ""),
    ("log_softmax", "with_dtype"),
    ("matmul", ""), ("nn.functional.linear", ""),
    ("reshape", ""), ("view", ""), ("flatten", ""), ("permute", ""), ("transpose", ""),
    ("squeeze", ""), ("squeeze", "multiple"), ("unsqueeze", ""), ("cat", ""), ("stack", ""),
    ("split", ""), ("split", "list_args"), ("split_with_sizes", ""), ("chunk", ""), ("narrow", ""),
    ("select", ""), ("index_select", ""), ("expand", ""), ("repeat", ""),
    ("sum", ""), ("mean", ""), ("amax", ""), ("amin", ""), ("max", "reduction_with_dim"),
    ("max", "reduction_no_dim"), ("max", "binary"), ("min", "reduction_with_dim"),
    ("min", "reduction_no_dim"), ("min", "binary"), ("argmax", ""), ("argmin", ""),
    ("nn.functional.conv1d", ""), ("nn.functional.conv2d", ""), ("nn.functional.conv_transpose2d", ""),
    ("nn.functional.max_pool2d", ""), ("nn.functional.avg_pool2d", ""),
    ("nn.functional.adaptive_avg_pool2d", ""), ("nn.functional.batch_norm", ""),
    ("nn.functional.layer_norm", ""), ("nn.functional.group_norm", ""),
    ("nn.functional.embedding", ""), ("nn.functional.dropout", ""), ("contiguous", ""), ("to", ""),
    # the modern-architecture ops
    ("log10", ""), ("exp2", ""), ("square", ""), ("nn.functional.logsigmoid", ""),
    ("nn.functional.hardshrink", ""), ("nn.functional.softshrink", ""), ("isnan", ""), ("isinf", ""),
    ("isfinite", ""), ("nan_to_num", ""), ("remainder", ""), ("fmod", ""), ("tril", ""), ("triu", ""),
    ("flip", ""), ("roll", ""), ("cumsum", ""), ("outer", ""), ("bmm", ""), ("addmm", ""), ("baddbmm", ""),
    ("gather", ""), ("scatter", ""), ("scatter_add", ""), ("nn.functional.glu", ""),
    ("nn.functional.prelu", ""), ("var", ""), ("std", ""), ("linalg.vector_norm", ""), ("logsumexp", ""),
    ("any", ""), ("all", ""), ("prod", ""), ("sort", ""), ("argsort", ""), ("topk", ""),
    ("repeat_interleave", ""), ("nn.functional.pixel_shuffle", ""), ("nn.functional.pixel_unshuffle", ""),
    ("nn.functional.one_hot", ""), ("full_like", ""), ("zeros_like", ""), ("ones_like", ""),
    ("nn.functional.pad", "constant"), ("nn.functional.pad", "reflect"), ("nn.functional.pad", "replicate"),
    ("lerp", ""), ("unflatten", ""), ("nn.functional.rms_norm", ""), ("nn.functional.max_pool1d", ""),
    ("nn.functional.avg_pool1d", ""), ("nn.functional.adaptive_avg_pool1d", ""),
]
CAP = 16  # samples per op and dtype
MAX_NUMEL = 16384  # larger tensors (a few reference inputs) are skipped: they add time, not cases


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: opinfo_samples.py OUT_DIR", file=sys.stderr)
        return 2
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    import torch
    from safetensors.torch import save_file
    from torch.testing._internal.common_methods_invocations import op_db

    dtypes = {"float32": torch.float32, "int64": torch.int64, "bool": torch.bool}
    storable = {torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int64, torch.int32,
                torch.int16, torch.int8, torch.uint8, torch.bool}
    by_key = {(o.name, o.variant_test_name): o for o in op_db}
    tensors, samples, skipped = {}, [], {}

    class Unstorable(Exception):
        pass

    def encode(v, key):
        if isinstance(v, torch.Tensor):
            if v.dtype not in storable or v.is_complex():
                raise Unstorable(f"dtype {v.dtype}")
            if v.numel() > MAX_NUMEL:
                raise Unstorable("too large")
            tensors[key] = v.detach().cpu().contiguous().clone()
            return {"tensor": key}
        if isinstance(v, bool):
            return {"bool": v}
        if isinstance(v, int):
            return {"int": v}
        if isinstance(v, float):
            return {"float": v if math.isfinite(v) else repr(v)}
        if v is None:
            return None
        if isinstance(v, str):
            return {"str": v}
        if isinstance(v, torch.dtype):
            return {"dtype": str(v).removeprefix("torch.")}
        if isinstance(v, (list, tuple, torch.Size)):
            return {"list": [encode(x, f"{key}.{i}") for i, x in enumerate(v)]}
        raise Unstorable(type(v).__name__)

    for name, variant in OPS:
        op = by_key[(name, variant)]
        supported = op.supported_dtypes("cpu")
        for dname, dtype in dtypes.items():
            if dtype not in supported:
                continue
            torch.manual_seed(0)
            taken = 0
            for sample in op.reference_inputs("cpu", dtype, requires_grad=False):
                if taken == CAP:
                    break
                sid = f"{name}.{variant}.{dname}.{taken}"
                try:
                    with torch.no_grad():
                        result = op(sample.input, *sample.args, **sample.kwargs)
                    outs = list(result) if isinstance(result, (tuple, list)) else [result]
                    if not all(isinstance(o, torch.Tensor) for o in outs):
                        raise Unstorable("non-tensor output")
                    entry = {
                        "op": name,
                        "variant": variant,
                        "dtype": dname,
                        "index": taken,
                        "input": encode(sample.input, f"{sid}.input"),
                        "args": [encode(a, f"{sid}.arg{i}") for i, a in enumerate(sample.args)],
                        "kwargs": {k: encode(v, f"{sid}.kw.{k}") for k, v in sample.kwargs.items()},
                        "outputs": [encode(o, f"{sid}.out{i}")["tensor"] for i, o in enumerate(outs)],
                    }
                except Unstorable as e:
                    for k in [k for k in tensors if k.startswith(sid + ".")]:
                        del tensors[k]
                    why = f"{name}.{variant}: {e}"
                    skipped[why] = skipped.get(why, 0) + 1
                    continue
                except Exception:  # torch itself rejects the sample (an error-input sample)
                    for k in [k for k in tensors if k.startswith(sid + ".")]:
                        del tensors[k]
                    continue
                samples.append(entry)
                taken += 1
    save_file(tensors, str(out / "tensors.safetensors"))
    (out / "samples.json").write_text(json.dumps({"torch": torch.__version__, "samples": samples, "skipped": skipped}))
    print(f"{len(samples)} OpInfo samples of {len(OPS)} ops -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
