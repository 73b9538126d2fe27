"""Compile real models with Zenith on this machine's CPU and check them against ONNX Runtime.

    .venv/bin/python examples/demo.py              # ResNet-50 and BERT-base
    .venv/bin/python examples/demo.py resnet50     # just one

ResNet-50 is the light model shipped in the ``onnx`` package with random weights;
BERT-base is built from ``transformers.BertConfig()`` with random weights and
exported with ``torch.onnx.export``. For each model the demo prints the compile
time, Zenith's and ONNX Runtime's run time (median of a few runs), the largest
absolute difference of the outputs, and whether it is within rtol 1e-3, atol 1e-4.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

import zenith
from zenith.tools.models import export_bert, light_model_path, randomize_light_model


def timed(fn: Callable[[], object], runs: int = 3) -> tuple[object, float]:
    """The last result and the median wall time of ``runs`` calls after one warm-up."""
    out = fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, statistics.median(times)


def ort_session(path: str) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.log_severity_level = 3
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def compare(name: str, path: str, feeds: dict[str, np.ndarray], **compile_kw) -> bool:
    print(f"== {name}: {path}")
    t0 = time.perf_counter()
    model = zenith.compile(path, target="cpu", **compile_kw)
    compile_s = time.perf_counter() - t0
    ops = sum(1 for op in model.module.main.body if op.name not in ("zt.constant", "func.return"))
    print(f"   compiled in {compile_s:.2f} s: {ops} ops after {zenith.api.DEFAULT_PIPELINE}")
    ours, zenith_s = timed(lambda: model.run(feeds))
    sess = ort_session(path)
    ref, ort_s = timed(lambda: sess.run(None, feeds))
    ok = True
    for out_name, got, want in zip(model.output_names, ours, ref):
        err = float(np.max(np.abs(got.astype(np.float64) - want)))
        close = bool(np.allclose(got, want, rtol=1e-3, atol=1e-4))
        ok &= close
        print(f"   output {out_name} {tuple(got.shape)}: max |zenith - onnxruntime| = {err:.3g} "
              f"({'ok' if close else 'MISMATCH'})")
    print(f"   run time: zenith {zenith_s * 1000:.0f} ms ({model.report_dict()['executor']}), "
          f"onnxruntime {ort_s * 1000:.0f} ms")
    return ok


def resnet50() -> bool:
    path = str(Path(tempfile.mkdtemp(prefix="zenith-demo-")) / "resnet50.onnx")
    onnx.save(randomize_light_model(light_model_path("resnet50")), path)
    x = np.random.default_rng(0).random((1, 3, 224, 224), np.float32)
    return compare("ResNet-50 (the onnx package's light model, random weights)", path,
                   {"gpu_0/data_0": x})


def bert(seq: int = 64) -> bool:
    path = Path(tempfile.mkdtemp(prefix="zenith-demo-")) / "bert_base.onnx"
    print("== exporting BERT-base (random weights) with torch.onnx.export ...")
    export_bert(path, seq=seq, dynamic=True)
    path = str(path)
    ids = np.random.default_rng(0).integers(0, 30522, (1, seq)).astype(np.int64)
    mask = np.ones((1, seq), np.int64)
    mask[0, seq - 8:] = 0
    feeds = {"input_ids": ids, "attention_mask": mask}
    return compare(f"BERT-base, sequence {seq}", path, feeds,
                   input_shapes={"input_ids": (1, seq), "attention_mask": (1, seq)})


MODELS = {"resnet50": resnet50, "bert": bert}


def main(argv: list[str]) -> int:
    names = argv or list(MODELS)
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        print(f"unknown model(s) {unknown}; choose from {list(MODELS)}", file=sys.stderr)
        return 2
    ok = all([MODELS[n]() for n in names])
    print("all outputs agree with ONNX Runtime" if ok else "SOME OUTPUTS DISAGREE")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
