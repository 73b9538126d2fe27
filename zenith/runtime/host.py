"""Host (CPU) memory for the pool, and NumPy views of pool blocks."""

from __future__ import annotations

import numpy as np

from zenith.runtime.pool import Block

ALIGNMENT = 64


class HostBackend:
    """Segments are 64-byte-aligned NumPy byte arrays.

    Not on huge pages (``zenith.codegen.cpu.hostmem``, which the direct convolution
    uses): with the arena on 2 MiB pages BERT-base was 3-7% slower in four one-process
    comparisons (e.g. 280.2 against 268.5 ms), plausibly because its buffers, at
    offsets that are multiples of large powers of two, then collide in the
    physically indexed L2."""

    name = "host"

    def allocate(self, nbytes: int) -> np.ndarray:
        raw = np.empty(nbytes + ALIGNMENT, dtype=np.uint8)
        start = (-raw.ctypes.data) % ALIGNMENT
        return raw[start:start + nbytes]

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
