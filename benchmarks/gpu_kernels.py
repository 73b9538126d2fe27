"""Kernel throughput on the GPU: Zenith's GEMM against torch.matmul, and its fused softmax and
layer_norm against the peak memory bandwidth.

    PYTHONPATH=. python benchmarks/gpu_kernels.py [--gemm 4096x4096x4096] [--rows 32768 --cols 4096]
        [--dtypes f16,f32] [--runs 100] [--warmup 10] [--out docs/benchmarks.md]

Each kernel is a one-op Zenith module compiled with ``target="cuda"``; its device
time comes from ``CudaExecutable.time_plan`` (CUDA events around back-to-back
launches of the bound plan: the kernel alone, no copies), the median of
``--runs``. torch's figure is timed with CUDA events on its current stream.
GEMM: TFLOP/s (2 M N K / time) and the fraction of torch.matmul's. Softmax and
layer_norm over the last axis: GB/s (bytes read + written / time) and the
fraction of the peak DRAM bandwidth, 2 x memory clock x bus width from the
device attributes. Exits with status 2 and says what is missing without a GPU.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.gpu_common import fmt, peak_bandwidth, publish, require_gpu, time_ms


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--gemm", default="4096x4096x4096", help="MxNxK of the f16 GEMM")
    p.add_argument("--rows", type=int, default=32768, help="rows of softmax / layer_norm")
    p.add_argument("--cols", type=int, default=4096, help="row length of softmax / layer_norm")
    p.add_argument("--dtypes", default="f16,f32", help="dtypes of softmax / layer_norm")
    p.add_argument("--runs", type=int, default=100, help="timed runs per figure (median; at least 50)")
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--out", type=Path, help="append the markdown section to this file")
    a = p.parse_args(argv)
    if a.runs < 50:
        p.error("--runs must be at least 50")
    return a


def one_op_module(op: str, shapes: list[tuple[int, ...]], dt: str, consts: list[Any] = (), **attrs: Any):
    """``main(args...) -> op(args..., consts...)`` as a Zenith module."""
    import numpy as np

    from zenith.ir import Builder, DenseAttr, Function, Module, TensorType, dtype

    m = Module()
    fn = m.add_function(Function("main", [], []))
    b = Builder.at_end(fn.body)
    args = [fn.body.add_arg(TensorType(dtype(dt), s)) for s in shapes]
    cs = [b.op("zt.constant", value=DenseAttr(np.asarray(c, dtype(dt).np_dtype))) for c in consts]
    y = b.op(op, *args, *cs, **attrs)
    b.create("func.return", [y])
    fn.sync_signature()
    return m


def zenith_ms(module: Any, inputs: list[Any], args: argparse.Namespace) -> tuple[float, Any]:
    """Median device ms of the compiled module's plan, and its output (a torch tensor)."""
    import zenith

    cm = zenith.compile(module, target="cuda")
    got = cm.run(inputs)[0]  # run once through the full path (and check it runs)
    assert got.shape == cm.executor.program.buffers[cm.executor.program.outputs[0]].shape
    return statistics.median(cm.executor.time_plan(inputs, runs=args.runs, warmup=args.warmup)), got


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch = require_gpu("gpu_kernels.py")
    import numpy as np

    rows = []
    m, n, k = (int(x) for x in args.gemm.split("x"))
    a = torch.randn(m, k, device="cuda", dtype=torch.float16)
    b = torch.randn(k, n, device="cuda", dtype=torch.float16)
    z, got = zenith_ms(one_op_module("zt.matmul", [(m, k), (k, n)], "f16"), [a, b], args)
    t = time_ms(torch, lambda: torch.matmul(a, b), args.runs, args.warmup)
    ref = torch.matmul(a, b).float()
    err = float((got.float() - ref).abs().max() / ref.abs().max())
    tf = lambda ms: 2 * m * n * k / (ms * 1e-3) / 1e12  # noqa: E731
    rows.append(["matmul", f"{m}x{n}x{k}", "f16", fmt(z), fmt(t), f"{tf(z):.0f} TFLOP/s",
                 f"{tf(t):.0f} TFLOP/s", f"{tf(z) / tf(t):.2f} of torch.matmul", fmt(err)])
    print(" | ".join(rows[-1]), file=sys.stderr, flush=True)

    peak = peak_bandwidth()
    r, c = args.rows, args.cols
    for dt in args.dtypes.split(","):
        tdt = {"f16": torch.float16, "f32": torch.float32, "bf16": torch.bfloat16}[dt]
        x = torch.randn(r, c, device="cuda", dtype=tdt)
        nbytes = 2 * x.numel() * x.element_size()
        gbs = lambda ms: nbytes / (ms * 1e-3) / 1e9  # noqa: E731
        g = np.random.default_rng(0).uniform(0.5, 1.5, c)
        beta = np.random.default_rng(1).uniform(-0.1, 0.1, c)
        gt, bt = (torch.tensor(v, device="cuda", dtype=tdt) for v in (g, beta))
        cases = [("softmax", one_op_module("zt.softmax", [(r, c)], dt, axis=-1),
                  lambda x=x: torch.softmax(x, -1)),
                 ("layer_norm",
                  one_op_module("zt.layer_norm", [(r, c)], dt, [g, beta], axis=-1, epsilon=1e-5),
                  lambda x=x, gt=gt, bt=bt: torch.nn.functional.layer_norm(x, (c,), gt, bt, 1e-5))]
        for name, module, peer in cases:
            z, got = zenith_ms(module, [x], args)
            t = time_ms(torch, peer, args.runs, args.warmup)
            ref = peer().float()
            err = float((got.float() - ref).abs().max() / ref.abs().max())
            rows.append([name, f"{r}x{c}", dt, fmt(z), fmt(t), f"{gbs(z):.0f} GB/s", f"{gbs(t):.0f} GB/s",
                         f"{gbs(z) * 1e9 / peak:.2f} of peak", fmt(err)])
            print(" | ".join(rows[-1]), file=sys.stderr, flush=True)

    header = ["kernel", "shape", "dtype", "Zenith ms", "torch ms", "Zenith", "torch", "fraction",
              "max rel diff vs torch"]
    publish(f"GPU kernels (median of {args.runs} runs; peak DRAM bandwidth {peak / 1e9:.0f} GB/s "
            "from the device attributes)", torch, header, rows, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
