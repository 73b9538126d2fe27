"""Build, print, parse and verify modules of 10k and 100k ops; report seconds and growth.

    .venv/bin/python benchmarks/ir_scale.py [--sizes 10000 100000]

Growth is linear when the 100k time is about 10x the 10k time (the target is at
most 12x). Each phase is timed as the best of --repeat runs. The build runs under
``paused_gc()`` as the parser does (see zenith/ir/gcutil.py for why);
``--gc-during-build`` shows the cost of not doing so.
"""

from __future__ import annotations

import argparse
import gc
import time

import numpy as np

import zenith  # noqa: F401  (registers ops)
from zenith.ir import (
    Builder,
    DenseAttr,
    Function,
    Module,
    TensorType,
    dtype,
    parse_module,
    print_module,
    verify,
)
from zenith.ir.gcutil import paused_gc

UNARY = ["zt.relu", "zt.tanh", "zt.sigmoid", "zt.exp", "zt.neg"]
BINARY = ["zt.add", "zt.mul", "zt.sub", "zt.max"]


def build(n_ops: int) -> Module:
    """A chain-and-fan module: each op reads one or two recent values."""
    f32 = dtype("f32")
    t = TensorType(f32, (4, 16))
    m = Module()
    fn = m.add_function(Function("main", [t, t], [t]))
    b = Builder.at_end(fn.body)
    vals = list(fn.args)
    vals.append(b.op("zt.constant", value=DenseAttr(np.arange(64, dtype=np.float32).reshape(4, 16))))
    rng = np.random.default_rng(0)
    for i in range(n_ops - 2):
        if i % 3 == 0:
            v = b.op(UNARY[i % len(UNARY)], vals[-1])
        else:
            other = vals[-1 - int(rng.integers(1, min(len(vals), 8)))]
            v = b.op(BINARY[i % len(BINARY)], vals[-1], other)
        vals.append(v)
    b.create("func.return", [vals[-1]])
    return m


def _best(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def build_bulk(n: int) -> Module:
    with paused_gc():
        return build(n)


def measure(n: int, repeat: int, bulk: bool) -> dict[str, float]:
    t_build, m = _best(lambda: build_bulk(n) if bulk else build(n), repeat)
    t_print, text = _best(lambda: print_module(m), repeat)
    t_parse, m2 = _best(lambda: parse_module(text, "scale.zir"), repeat)
    t_verify, _ = _best(lambda: verify(m2), repeat)
    return {"build": t_build, "print": t_print, "parse": t_parse, "verify": t_verify}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--gc-during-build", action="store_true",
                    help="build with the cyclic GC running (superlinear; see zenith/ir/gcutil.py)")
    args = ap.parse_args()
    rows = {n: measure(n, args.repeat, not args.gc_during_build) for n in args.sizes}
    phases = ["build", "print", "parse", "verify"]
    print(f"{'ops':>8} " + " ".join(f"{p:>9}" for p in phases) + "   (seconds)")
    for n, r in rows.items():
        print(f"{n:>8} " + " ".join(f"{r[p]:9.3f}" for p in phases))
    if len(args.sizes) >= 2:
        lo, hi = args.sizes[0], args.sizes[-1]
        ratio = {p: rows[hi][p] / rows[lo][p] for p in phases}
        print(f"growth {hi}/{lo} ({hi / lo:.0f}x ops): " +
              ", ".join(f"{p} {ratio[p]:.1f}x" for p in phases))
        worst = max(ratio.values())
        print(f"worst growth {worst:.1f}x (target <= 12x): {'OK' if worst <= 12 else 'MISSED'}")


if __name__ == "__main__":
    main()
