"""Host (CPU) memory for the pool, and NumPy views of pool blocks."""

from __future__ import annotations

import numpy as np

from zenith.runtime import hostmem
from zenith.runtime.pool import Block


class HostBackend:
    """Segments are 64-byte-aligned NumPy byte arrays (on huge pages from 1 MiB: hostmem)."""

    name = "host"

    def allocate(self, nbytes: int) -> np.ndarray:
        return hostmem.zeros(nbytes, np.uint8)

    def release(self, handle: np.ndarray) -> None:
        del handle  # NumPy frees the memory when the last view goes

    def address(self, handle: np.ndarray) -> int:
        return int(handle.ctypes.data)


def view(block: Block, offset: int, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A NumPy array over ``block`` starting ``offset`` bytes in."""
    dt = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dt.itemsize
    if offset + nbytes > block.size:
        raise ValueError(f"view of {nbytes} bytes at {offset} overruns a block of {block.size}")
    buf = block.handle[block.offset + offset: block.offset + offset + nbytes]
    return buf.view(dt).reshape(shape)
