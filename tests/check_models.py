#!/usr/bin/env python3
"""Independent checks over every model the Rust tests exported.

For each `<dir>/**/model.onnx` with an `io.safetensors` beside it (inputs `input.NNN`, eager
outputs `output.NNN`, tolerances in the metadata), this runs the ONNX checker with
`full_check=True` and ONNX Runtime, and compares ONNX Runtime's outputs with the eager ones.
A missing package, an empty folder or any failure is an error: nothing is skipped silently.
A model with a `runtime` file beside it saying `reference` (bfloat16 models: ONNX Runtime's CPU
provider has no bfloat16 kernels for most ops) runs in ONNX's reference evaluator instead.
The one exception is a documented ONNX Runtime gap: a model with an `expect_error` file beside
it may fail ONNX Runtime's run or comparison with a message containing that file's text (the
ONNX checker must still accept it); it is counted as a known gap.
"""
import sys
from pathlib import Path


def run_io(sess, io, np, safe_open):
    """Runs `sess` on the inputs in `io` and compares with its eager outputs."""
    with safe_open(str(io), framework="numpy") as f:
        meta = f.metadata() or {}
        keys = sorted(f.keys())
        inputs = [f.get_tensor(k) for k in keys if k.startswith("input.")]
        expected = [f.get_tensor(k) for k in keys if k.startswith("output.")]
    atol, rtol = float(meta.get("atol", 1e-5)), float(meta.get("rtol", 1e-4))
    feed = {i.name: x for i, x in zip(sess.get_inputs(), inputs)}
    got = sess.run(None, feed)
    if len(got) != len(expected):
        raise AssertionError(f"{len(got)} outputs, expected {len(expected)}")
    for k, (g, e) in enumerate(zip(got, expected)):
        if g.shape != e.shape:
            raise AssertionError(f"output {k}: shape {g.shape}, expected {e.shape}")
        if g.dtype != e.dtype:
            raise AssertionError(f"output {k}: dtype {g.dtype}, expected {e.dtype}")
        if g.dtype.kind in "biu":  # integers and bools: exact, without a float round trip
            if not np.array_equal(g, e):
                bad = int(np.argmax(g.ravel() != e.ravel()))
                raise AssertionError(f"output {k}: element {bad}: got {g.flat[bad]}, expected {e.flat[bad]}")
            continue
        g64, e64 = g.astype(np.float64), e.astype(np.float64)
        ok = np.isclose(g64, e64, atol=atol, rtol=rtol, equal_nan=True)
        if not ok.all():
            err = np.abs(g64 - e64)
            worst = int(np.nanargmax(np.where(ok, 0, err)))
            raise AssertionError(
                f"output {k}: max error {np.nanmax(err):.3e} (atol {atol}, rtol {rtol}); "
                f"element {worst}: got {g64.flat[worst]}, expected {e64.flat[worst]}"
            )


class ReferenceSession:
    """ONNX's reference evaluator behind the two calls `run_io` makes of an ONNX Runtime session."""

    def __init__(self, path):
        import onnx
        from onnx.reference import ReferenceEvaluator

        self.model = onnx.load(str(path))
        self.evaluator = ReferenceEvaluator(self.model)

    def get_inputs(self):
        return self.model.graph.input

    def run(self, names, feed):
        return self.evaluator.run(names, feed)


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: check_models.py DIR", file=sys.stderr)
        return 2
    root = Path(sys.argv[1])
    import numpy as np
    import onnx
    import onnxruntime as ort
    from safetensors import safe_open

    models = sorted(root.rglob("model.onnx")) if root.is_dir() else []
    if not models:
        print(f"error: no exported models under {root}; did the Rust tests run with TAPIR_CHECK_DIR set?", file=sys.stderr)
        return 1
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    passed, known, reference, failures = 0, 0, 0, []
    for path in models:
        name = str(path.parent.relative_to(root))
        expect = path.parent / "expect_error"
        expected_error = expect.read_text() if expect.exists() else None
        try:
            onnx.checker.check_model(str(path), full_check=True)
        except Exception as exc:
            failures.append((name, f"{type(exc).__name__}: {exc}"))
            continue
        try:
            runtime = path.parent / "runtime"
            if runtime.exists() and runtime.read_text().strip() == "reference":
                sess = ReferenceSession(path)
                reference += 1
            else:
                sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
            # The traced sizes, then (a model with dynamic dimensions) other sizes: size1/, size2/...
            io_files = [path.parent / "io.safetensors"] + sorted(path.parent.glob("size*/io.safetensors"))
            for io in io_files:
                where = "" if io.parent == path.parent else f"{io.parent.name}: "
                try:
                    run_io(sess, io, np, safe_open)
                except AssertionError as exc:
                    raise AssertionError(f"{where}{exc}") from None
            passed += 1
        except Exception as exc:  # report every model, then fail
            if expected_error is not None and expected_error in str(exc):
                known += 1
            else:
                failures.append((name, f"{type(exc).__name__}: {exc}"))
    for name, why in failures:
        print(f"FAIL {name}: {why}")
    print(
        f"onnx checker + onnxruntime {ort.__version__}: {passed} models ({reference} in the reference evaluator), "
        f"{known} documented runtime gaps"
    )
    print(f"{passed + known} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
