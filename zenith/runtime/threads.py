"""The BLAS thread count of the CPU runtime (NumPy's OpenBLAS), set at run time.

NumPy reads ``OPENBLAS_NUM_THREADS`` once, at import; :func:`set_blas_threads`
finds the OpenBLAS that NumPy loaded (``/proc/self/maps``) and calls its
``*_set_num_threads`` entry, so a process can pin the runtime's GEMMs to the same
thread count as its peers (benchmarks use 2). Generated C takes its OpenMP thread
count from ``CpuOptions.threads`` (``ZENITH_NUM_THREADS``).
"""

from __future__ import annotations

import ctypes
import functools

_SETTERS = ("scipy_openblas_set_num_threads64_", "openblas_set_num_threads64_",
            "scipy_openblas_set_num_threads", "openblas_set_num_threads")
_GETTERS = tuple(s.replace("set_", "get_") for s in _SETTERS)


@functools.lru_cache(maxsize=1)
def _openblas() -> ctypes.CDLL | None:
    import numpy  # noqa: F401  (loads its BLAS)

    try:
        with open("/proc/self/maps") as f:
            paths = sorted({ln.split()[-1] for ln in f if "openblas" in ln.lower() and "/" in ln})
    except OSError:
        return None
    for p in paths:
        try:
            return ctypes.CDLL(p)
        except OSError:
            continue
    return None


def _call(names: tuple[str, ...], *args: int) -> int | None:
    lib = _openblas()
    for name in names:
        fn = getattr(lib, name, None) if lib is not None else None
        if fn is not None:
            return fn(*args)
    return None


def set_blas_threads(n: int) -> bool:
    """Use ``n`` BLAS threads from now on; False if NumPy's BLAS is not a known OpenBLAS."""
    return _call(_SETTERS, int(n)) is not None


def blas_threads() -> int | None:
    """The BLAS thread count, or None if unknown."""
    return _call(_GETTERS)
