"""PyCUDA device memory as a :class:`zenith.runtime.pool.Backend`."""

from __future__ import annotations

from typing import Any


class CudaBackend:
    """Segments are ``driver.mem_alloc`` allocations; addresses are device pointers."""

    name = "cuda"

    def __init__(self, driver: Any) -> None:
        self.driver = driver

    def allocate(self, nbytes: int) -> Any:
        try:
            return self.driver.mem_alloc(nbytes)
        except Exception as e:  # pycuda raises pycuda._driver.MemoryError (not a MemoryError)
            if "memory" in type(e).__name__.lower() or "out of memory" in str(e).lower():
                raise MemoryError(f"device allocation of {nbytes} bytes failed: {e}") from e
            raise

    def release(self, handle: Any) -> None:
        handle.free()

    def address(self, handle: Any) -> int:
        return int(handle)
