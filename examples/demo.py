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
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

import zenith

LIGHT = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"


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


def with_random_weights(path: Path, seed: int = 0) -> onnx.ModelProto:
    """The light model's constant weights (ConstantOfShape, which make every class equally
    likely) replaced by random ones; the logits become a second output."""
    m = onnx.load(path)
    rng = np.random.default_rng(seed)
    shapes = {t.name: onnx.numpy_helper.to_array(t) for t in m.graph.initializer}
    users = {name: (n.op_type, i) for n in m.graph.node for i, name in enumerate(n.input)}
    nodes = []
    for n in m.graph.node:
        if n.op_type != "ConstantOfShape" or n.input[0] not in shapes:
            nodes.append(n)
            continue
        shape = tuple(int(d) for d in shapes[n.input[0]])
        op, i = users.get(n.output[0], ("", 0))
        if op in ("Conv", "Gemm") and i == 1:
            w = rng.standard_normal(shape) / np.sqrt(np.prod(shape[1:]))
        elif op == "BatchNormalization" and i in (1, 4):
            w = rng.uniform(0.2, 0.6, shape) if i == 1 else rng.uniform(0.5, 1.5, shape)
        else:
            w = rng.uniform(-0.1, 0.1, shape)
        m.graph.initializer.append(onnx.numpy_helper.from_array(w.astype(np.float32), n.output[0]))
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    logits = [n for n in nodes if n.op_type == "Softmax"][-1].input[0]
    m.graph.output.append(onnx.helper.make_tensor_value_info(logits, onnx.TensorProto.FLOAT, None))
    return m


def resnet50() -> bool:
    path = str(Path(tempfile.mkdtemp(prefix="zenith-demo-")) / "resnet50.onnx")
    onnx.save(with_random_weights(LIGHT / "light_resnet50.onnx"), path)
    x = np.random.default_rng(0).random((1, 3, 224, 224), np.float32)
    return compare("ResNet-50 (the onnx package's light model, random weights)", path,
                   {"gpu_0/data_0": x})


def bert(seq: int = 64) -> bool:
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    model = BertModel(BertConfig()).eval()

    class Wrapper(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = model

        def forward(self, ids, mask):
            out = self.bert(input_ids=ids, attention_mask=mask)
            return out.last_hidden_state, out.pooler_output

    path = str(Path(tempfile.mkdtemp(prefix="zenith-demo-")) / "bert_base.onnx")
    ids = torch.randint(0, 30522, (1, seq))
    print("== exporting BERT-base (random weights) with torch.onnx.export ...")
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(Wrapper(), (ids, torch.ones_like(ids)), path, dynamo=False,
                          opset_version=17, input_names=["input_ids", "attention_mask"],
                          output_names=["last_hidden_state", "pooler_output"],
                          dynamic_axes={"input_ids": {1: "seq"}, "attention_mask": {1: "seq"}})
    mask = np.ones((1, seq), np.int64)
    mask[0, seq - 8:] = 0
    feeds = {"input_ids": ids.numpy(), "attention_mask": mask}
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
