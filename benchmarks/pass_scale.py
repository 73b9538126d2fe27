"""How ``canonicalize,cse,dce`` scales with module size (10k and 100k ops by default).

    PYTHONPATH=. python benchmarks/pass_scale.py [--sizes 10000 100000] [--repeat 3]

Each synthetic module is a set of independent chains of small blocks; every block
gives each pass work: ``x + 0`` and a double negation for the folders, a transpose
pair for a pattern, a duplicated ``exp`` for cse, a dead ``tanh`` for dce. The
pipeline runs through the pass manager with verification after each pass (its
time is reported separately). Times are process CPU time (other processes on a
shared machine do not inflate them), the best of ``--repeat`` runs per size,
then the ratio of the largest size's time to the smallest's.
"""

from __future__ import annotations

import argparse
import gc
import time

import numpy as np

from zenith.ir import Builder, DenseAttr, Function, Module, TensorType, dtype
from zenith.passes import PassManager

OPS_PER_BLOCK = 11
CHAINS = 16


def synthetic_module(n_ops: int) -> Module:
    """About ``n_ops`` ops in CHAINS independent chains of rewritable blocks."""
    t = TensorType(dtype("f32"), (4, 8))
    m = Module()
    fn = m.add_function(Function("main", [t] * CHAINS, []))
    b = Builder.at_end(fn.body)
    values = list(fn.args)
    blocks = max(1, n_ops // OPS_PER_BLOCK)
    for i in range(blocks):
        k = i % CHAINS
        v = values[k]
        zero = b.op("zt.constant", value=DenseAttr(np.zeros((), np.float32)))
        a = b.op("zt.add", v, zero)                      # folds to v
        n = b.op("zt.neg", b.op("zt.neg", a))            # folds to a
        t1 = b.op("zt.transpose", n)                     # transpose pair: a pattern
        t2 = b.op("zt.transpose", t1)
        e1 = b.op("zt.exp", t2)
        e2 = b.op("zt.exp", t2)                          # duplicate for cse
        s = b.op("zt.add", e1, e2)
        b.op("zt.tanh", s)                               # dead
        values[k] = b.op("zt.mul", s, s)
    b.create("func.return", values)
    fn.sync_signature()
    return m


def run_once(n_ops: int) -> tuple[int, int, float, float, float]:
    """(ops before, ops after, CPU seconds in passes, CPU seconds verifying, wall seconds)."""
    m = synthetic_module(n_ops)
    before = sum(1 for _ in m.ops())
    pm = PassManager.parse("canonicalize,cse,dce")
    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    report = pm.run(m)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    verify_s = sum(r.verify_seconds for r in report.records)
    after = sum(1 for _ in m.ops())
    # The manager times passes and verification in wall time; split the CPU time alike.
    passes_cpu = cpu * (wall - verify_s) / wall
    return before, after, passes_cpu, cpu - passes_cpu, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rows = []
    for n in args.sizes:
        runs = [run_once(n) for _ in range(args.repeat)]
        before, after = runs[0][:2]
        passes = min(r[2] for r in runs)
        verify_s = min(r[3] for r in runs)
        wall = min(r[4] for r in runs)
        rows.append((n, before, after, passes, verify_s))
        print(f"{before:>8} ops -> {after:>7} ops: passes {passes:7.3f} s CPU "
              f"({1e6 * passes / before:5.1f} us/op), verifier {verify_s:6.3f} s CPU, "
              f"wall in all {wall:6.3f} s", flush=True)
    if len(rows) > 1:
        (_, b0, _, p0, v0), (_, b1, _, p1, v1) = rows[0], rows[-1]
        print(f"{b1 / b0:.1f}x the ops: passes took {p1 / p0:.2f}x the time, "
              f"passes + verifier {(p1 + v1) / (p0 + v0):.2f}x")


if __name__ == "__main__":
    main()
