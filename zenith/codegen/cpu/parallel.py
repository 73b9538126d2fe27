"""GEMMs split across the runtime's own threads (row blocks, one BLAS thread each).

OpenBLAS's thread pool spin-waits between calls; on a busy machine (other
processes, or PyTorch's and ONNX Runtime's pools next to it) a spinning pool loses
its time slices and a 2-thread GEMM gets slower than a 1-thread one. With
``CpuOptions.split_gemm`` the runtime instead runs OpenBLAS single-threaded and
splits each large 2-D GEMM into row blocks, one per thread: the caller computes
the first block, a worker thread (which sleeps on a queue when idle) the others.
NumPy releases the GIL inside ``matmul``, so the blocks run in parallel.

Opt-in (``ZENITH_GEMM_SPLIT=1``): the row blocks round differently from one
OpenBLAS call, and one ONNX conformance test (the light SqueezeNet, whose
constant weights make its 1000 logits equal to ~1e10 and its expected softmax
uniform only if every logit is bit-identical) then fails; see docs/runtime.md.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

MIN_FLOPS = 1 << 21  # smaller GEMMs are not worth a hand-off (~20 us)
_pools: dict[int, ThreadPoolExecutor] = {}
_lock = threading.Lock()


def _pool(workers: int) -> ThreadPoolExecutor:
    with _lock:
        pool = _pools.get(workers)
        if pool is None:
            pool = _pools[workers] = ThreadPoolExecutor(workers, thread_name_prefix="zenith-gemm")
        return pool


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray, threads: int) -> None:
    """``out[...] = a @ b`` for 2-D operands, row blocks of ``a``/``out`` on ``threads`` threads."""
    m, k = a.shape
    n = b.shape[1]
    parts = min(threads, m)
    if parts < 2 or 2 * m * n * k < MIN_FLOPS:
        np.matmul(a, b, out=out)
        return
    step = -(-m // parts)
    pool = _pool(parts - 1)
    futures = [pool.submit(np.matmul, a[i:i + step], b, out=out[i:i + step])
               for i in range(step, m, step)]
    np.matmul(a[:step], b, out=out[:step])
    for f in futures:
        f.result()


def run_parallel(fn, items: list) -> None:
    """``fn(item)`` for every item: the first in the caller, the rest on worker threads."""
    pool = _pool(len(items) - 1)
    futures = [pool.submit(fn, it) for it in items[1:]]
    fn(items[0])
    for f in futures:
        f.result()
