"""CPU latency: Zenith's CPU runtime against ONNX Runtime and PyTorch eager, 2 threads each.

    PYTHONPATH=. python benchmarks/cpu_latency.py [--models bert,resnet50] [--runs 30] [--block 6]

Models (random weights, nothing downloaded): BERT-base (``transformers.BertModel``,
batch 1, sequence 128) and ResNet-50 (torchvision's layout in plain PyTorch, batch 1,
224x224, eval mode), both from ``zenith.tools.models``.
Each is exported with ``torch.onnx.export(..., dynamo=False, opset_version=17)``;
Zenith (``zenith.compile(path, target="cpu")``) and ONNX Runtime (``ORT_ENABLE_ALL``)
run the ONNX file, PyTorch runs the module itself under ``torch.inference_mode()``.

Method (docs/benchmarks.md): one process; every runtime uses 2 threads
(``torch.set_num_threads(2)``; ORT ``intra_op_num_threads=2`` with
``session.intra_op.allow_spinning=0``; Zenith: OpenBLAS and generated C at 2
threads). Zenith runs twice: as compiled by default (OpenBLAS threads its GEMMs)
and with ``ZENITH_GEMM_SPLIT=1`` (GEMMs split into row blocks on the runtime's 2
threads, OpenBLAS at 1 thread, set before each block). Calls are timed in
interleaved blocks of ``--block`` calls per runtime, the first call of each block
dropped and the order of runtimes alternated between rounds, until every runtime
has ``--runs`` timed calls; the table shows medians and ratios. Outputs are compared across runtimes first.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from zenith.tools.models import bert_module, export_onnx, resnet50_module

THREADS = 2
# zenith-split runs its GEMMs as row blocks on its own 2 threads, OpenBLAS single-threaded
BLAS_THREADS = {"zenith-split": 1}


def runners(name: str, tmp: Path) -> tuple[dict[str, Callable[[], object]], dict[str, Callable]]:
    """Callables per runtime (and the functions giving their outputs as arrays)."""
    import onnxruntime as ort
    import torch

    import zenith

    rng = np.random.default_rng(0)
    if name == "bert":
        module = bert_module()
        ids = rng.integers(0, 30522, (1, 128)).astype(np.int64)
        mask = np.ones((1, 128), np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
    else:
        module = resnet50_module()
        feeds = {"x": rng.standard_normal((1, 3, 224, 224)).astype(np.float32)}
    targs = tuple(torch.from_numpy(v) for v in feeds.values())
    path = export_onnx(module, targs, tmp / f"{name}.onnx", input_names=list(feeds))

    t0 = time.perf_counter()
    cm = zenith.compile(str(path), target="cpu")
    print(f"# {name}: Zenith compile {time.perf_counter() - t0:.1f} s; "
          f"{cm.report_dict().get('executor')}", flush=True)
    os.environ["ZENITH_GEMM_SPLIT"] = "1"
    cm_split = zenith.compile(str(path), target="cpu")
    del os.environ["ZENITH_GEMM_SPLIT"]
    so = ort.SessionOptions()
    so.intra_op_num_threads = THREADS
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.log_severity_level = 3
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    arrays = list(feeds.values())

    def torch_run():
        with torch.inference_mode():
            out = module(*targs)
        return out

    def first(x) -> np.ndarray:
        if isinstance(x, (tuple, list)):
            x = x[0]
        if hasattr(x, "last_hidden_state"):
            x = x.last_hidden_state
        return np.asarray(x.detach().numpy() if hasattr(x, "detach") else x)

    calls = {"zenith": lambda: cm(*arrays), "zenith-split": lambda: cm_split(*arrays),
             "onnxruntime": lambda: sess.run(None, feeds), "pytorch": torch_run}
    return calls, {k: (lambda f=f: first(f())) for k, f in calls.items()}


def measure(calls: dict[str, Callable[[], object]], runs: int, block: int) -> dict[str, list[float]]:
    from zenith.runtime.threads import set_blas_threads

    times: dict[str, list[float]] = {k: [] for k in calls}
    order = list(calls)
    rnd = 0
    while min(len(v) for v in times.values()) < runs:
        for k in order if rnd % 2 == 0 else order[::-1]:
            set_blas_threads(BLAS_THREADS.get(k, THREADS))
            calls[k]()  # the first call of a block: dropped
            for _ in range(block):
                t0 = time.perf_counter()
                calls[k]()
                times[k].append(time.perf_counter() - t0)
        rnd += 1
    return times


def table(rows: list[tuple[str, dict[str, float]]]) -> str:
    lines = ["| model | Zenith ms | Zenith split-GEMM ms | ONNX Runtime ms | PyTorch eager ms | "
             "Zenith / ORT | Zenith / PyTorch | split / ORT | split / PyTorch |",
             "|---|---|---|---|---|---|---|---|---|"]
    for model, med in rows:
        z, zs, o, p = med["zenith"], med["zenith-split"], med["onnxruntime"], med["pytorch"]
        lines.append(f"| {model} | {z:.1f} | {zs:.1f} | {o:.1f} | {p:.1f} | {z / o:.2f}x | "
                     f"{z / p:.2f}x | {zs / o:.2f}x | {zs / p:.2f}x |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="bert,resnet50")
    ap.add_argument("--runs", type=int, default=30, help="timed calls per runtime (>= 30)")
    ap.add_argument("--block", type=int, default=6, help="timed calls per block")
    ap.add_argument("--profile", action="store_true", help="print Zenith's per-kernel times")
    ap.add_argument("--runtimes", default="zenith,zenith-split,onnxruntime,pytorch",
                    help="which runtimes to time (the table needs all four)")
    args = ap.parse_args(argv)

    import onnxruntime
    import torch

    from zenith.runtime.threads import blas_threads, set_blas_threads

    torch.set_num_threads(THREADS)
    set_blas_threads(THREADS)
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    cpu = platform.processor() or platform.machine()
    print(f"# {when}; {cpu}; numpy {np.__version__} (OpenBLAS threads {blas_threads()}), onnxruntime "
          f"{onnxruntime.__version__}, torch {torch.__version__}; {THREADS} threads each", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models.split(","):
            calls, outputs = runners(name, Path(tmp))
            ref = outputs["onnxruntime"]()
            set_blas_threads(1)
            split_out = outputs["zenith-split"]()
            set_blas_threads(THREADS)
            for k in ("zenith", "zenith-split", "pytorch"):
                got = split_out if k == "zenith-split" else outputs[k]()
                err = float(np.max(np.abs(got - ref)))
                print(f"# {name}: max |{k} - onnxruntime| = {err:.2e}", flush=True)
            keep = args.runtimes.split(",")
            times = measure({k: v for k, v in calls.items() if k in keep}, args.runs, args.block)
            med = {k: 1e3 * float(np.median(v)) for k, v in times.items()}
            print(f"# {name}: " + ", ".join(f"{k} {v:.1f} ms (n={len(times[k])})"
                                           for k, v in med.items()), flush=True)
            rows.append(("bert-base (1x128)" if name == "bert" else "resnet-50 (1x3x224x224)", med))
            if args.profile:
                _print_profile(name, Path(tmp))
    if all(len(med) == 4 for _, med in rows):
        print(table(rows))
    return 0


def _print_profile(name: str, tmp: Path) -> None:
    import zenith

    cm = zenith.compile(str(tmp / f"{name}.onnx"), target="cpu")
    feeds = {i: np.zeros(t.shape, t.dtype.np_dtype) for i, t in zip(cm.input_names, cm.input_types)}
    cm(**feeds)  # warm-up: the first call packs the weights
    exe = cm.executor.last
    exe.profile = True
    for _ in range(6):
        cm(**feeds)
    print(exe.profile_table(15))


if __name__ == "__main__":
    raise SystemExit(main())
