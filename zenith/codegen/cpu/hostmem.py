"""Host arrays on transparent huge pages, for the direct convolution's big buffers.

Linux backs an anonymous mapping with 2 MiB pages when asked (``madvise(MADV_HUGEPAGE)``;
this machine's ``/sys/kernel/mm/transparent_hugepage/enabled`` is ``madvise``, so
nothing is huge unless asked). Kernels that stream weights and walk activations
in strided rows then miss the TLB ~500x less often: the direct convolution's
576-channel 1x1 shape went from 37 to 41 GF/s on one core and its 1024-channel
14x14 one from 50 to 59 (docs/benchmarks.md). The arena is not on huge pages
(``zenith/runtime/host.py`` says why). Buffers under 1 MiB, platforms
without ``MADV_HUGEPAGE`` and ``ZENITH_HUGEPAGES=0`` get ordinary 64-byte-aligned
NumPy memory. Fresh huge-page memory is zeroed, like ``np.zeros``.
"""

from __future__ import annotations

import contextlib
import math
import mmap
import os

import numpy as np

HUGE_PAGE = 2 << 20
MIN_BYTES = 1 << 20
ALIGNMENT = 64


def enabled() -> bool:
    return hasattr(mmap, "MADV_HUGEPAGE") and os.environ.get("ZENITH_HUGEPAGES", "1") != "0"


def zeros(shape: tuple[int, ...] | int, dtype=np.float32) -> np.ndarray:
    """A zeroed C-contiguous array, on huge pages when it is big enough (see the module doc)."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    dt = np.dtype(dtype)
    nbytes = math.prod(shape) * dt.itemsize
    if nbytes < MIN_BYTES or not enabled():
        raw = np.zeros(nbytes + ALIGNMENT, np.uint8)
        start = (-raw.ctypes.data) % ALIGNMENT
        return raw[start:start + nbytes].view(dt).reshape(shape)
    mm = mmap.mmap(-1, nbytes + HUGE_PAGE)
    with contextlib.suppress(OSError):  # a kernel without THP: ordinary pages, still correct
        mm.madvise(mmap.MADV_HUGEPAGE)
    raw = np.frombuffer(mm, np.uint8)  # keeps the mapping alive
    start = (-raw.ctypes.data) % HUGE_PAGE
    return raw[start:start + nbytes].view(dt).reshape(shape)
