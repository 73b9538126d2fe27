"""A caching memory pool: size classes, best fit, split and merge, a limit, statistics.

Memory comes from a :class:`Backend` (host arrays on the CPU, device allocations
through PyCUDA on the GPU) in *segments*; a segment is carved into *blocks*. A
freed block merges with free neighbours in its segment and waits in a free list
for the next request of a fitting size, so a steady workload stops asking the
backend for memory after its first call (the hit rate the runtime reports).

Requests up to ``SMALL_LIMIT`` bytes share 2 MiB segments; larger requests get
segments of their own size rounded up to 2 MiB, and a large block splits only
when the remainder is at least 1 MiB, which bounds fragmentation.
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass, field
from typing import Any, Protocol

ALIGN = 512
SMALL_LIMIT = 1 << 20
SMALL_SEGMENT = 2 << 20
LARGE_ROUND = 2 << 20
LARGE_MIN_SPLIT = 1 << 20


class OutOfMemory(MemoryError):
    """The pool cannot satisfy a request within its limit."""


class Backend(Protocol):
    """Where segments come from."""

    name: str

    def allocate(self, nbytes: int) -> Any:
        """Return a handle to ``nbytes`` of fresh memory (raise MemoryError on failure)."""

    def release(self, handle: Any) -> None:
        """Give a segment's memory back."""

    def address(self, handle: Any) -> int:
        """The base address of a segment (for alignment checks and kernel arguments)."""


@dataclass(eq=False)
class Segment:
    handle: Any
    size: int
    small: bool
    blocks_in_use: int = 0


@dataclass(eq=False)
class Block:
    """A piece of a segment: ``[offset, offset + size)``."""

    segment: Segment
    offset: int
    size: int
    free: bool = True
    prev: Block | None = None
    next: Block | None = None
    requested: int = 0
    id: int = field(default_factory=itertools.count().__next__)

    @property
    def handle(self) -> Any:
        return self.segment.handle


@dataclass
class PoolStats:
    allocations: int = 0
    cache_hits: int = 0
    backend_allocations: int = 0
    backend_releases: int = 0
    bytes_in_use: int = 0
    bytes_requested: int = 0
    peak_bytes_in_use: int = 0
    bytes_reserved: int = 0
    peak_bytes_reserved: int = 0
    segments: int = 0

    @property
    def hit_rate(self) -> float:
        return self.cache_hits / self.allocations if self.allocations else 0.0

    def as_dict(self) -> dict[str, float]:
        d = dict(self.__dict__)
        d["hit_rate"] = self.hit_rate
        return d


def _round(nbytes: int) -> int:
    return (max(nbytes, 1) + ALIGN - 1) // ALIGN * ALIGN


class MemoryPool:
    """Caching allocator over a backend, with an optional byte limit."""

    def __init__(self, backend: Backend, limit: int | None = None) -> None:
        self.backend = backend
        self.limit = limit
        self.stats = PoolStats()
        self._free: dict[bool, list[tuple[int, int, Block]]] = {True: [], False: []}
        self._segments: list[Segment] = []

    # -- public API -----------------------------------------------------
    def allocate(self, nbytes: int) -> Block:
        """A block of at least ``nbytes`` bytes, ALIGN-aligned within its segment."""
        if nbytes < 0:
            raise ValueError(f"cannot allocate {nbytes} bytes")
        size = _round(nbytes)
        small = size <= SMALL_LIMIT
        self.stats.allocations += 1
        block = self._take_free(size, small)
        if block is not None:
            self.stats.cache_hits += 1
        else:
            block = self._new_segment(size, small)
        block = self._split(block, size)
        block.free = False
        block.requested = nbytes
        block.segment.blocks_in_use += 1
        self.stats.bytes_in_use += block.size
        self.stats.bytes_requested += nbytes
        self.stats.peak_bytes_in_use = max(self.stats.peak_bytes_in_use, self.stats.bytes_in_use)
        return block

    def free(self, block: Block) -> None:
        """Return a block to the cache, merging it with free neighbours."""
        if block.free:
            raise ValueError("block freed twice")
        block.free = True
        block.segment.blocks_in_use -= 1
        self.stats.bytes_in_use -= block.size
        self.stats.bytes_requested -= block.requested
        block.requested = 0
        for neighbour in (block.prev, block.next):
            if neighbour is not None and neighbour.free:
                self._remove_free(neighbour)
        if block.prev is not None and block.prev.free:
            block = self._merge(block.prev, block)
        if block.next is not None and block.next.free:
            block = self._merge(block, block.next)
        self._insert_free(block)

    def release_cached(self) -> int:
        """Give every entirely free segment back to the backend; return bytes released."""
        released = 0
        for seg in list(self._segments):
            if seg.blocks_in_use == 0:
                released += self._drop_segment(seg)
        return released

    def free_all(self) -> None:
        """Forget every block (live ones too) and release all segments."""
        for seg in list(self._segments):
            self._drop_segment(seg, force=True)
        self.stats.bytes_in_use = 0
        self.stats.bytes_requested = 0

    def address(self, block: Block) -> int:
        return self.backend.address(block.handle) + block.offset

    # -- internals ------------------------------------------------------
    def _take_free(self, size: int, small: bool) -> Block | None:
        lst = self._free[small]
        i = bisect.bisect_left(lst, (size, -1))
        if i == len(lst):
            return None
        _, _, block = lst.pop(i)
        return block

    def _insert_free(self, block: Block) -> None:
        bisect.insort(self._free[block.segment.small], (block.size, block.id, block))

    def _remove_free(self, block: Block) -> None:
        lst = self._free[block.segment.small]
        i = bisect.bisect_left(lst, (block.size, block.id))
        assert lst[i][2] is block
        lst.pop(i)

    def _split(self, block: Block, size: int) -> Block:
        rest = block.size - size
        min_split = ALIGN if block.segment.small else LARGE_MIN_SPLIT
        if rest < min_split:
            return block
        tail = Block(block.segment, block.offset + size, rest, True, block, block.next)
        if block.next is not None:
            block.next.prev = tail
        block.next = tail
        block.size = size
        self._insert_free(tail)
        return block

    def _merge(self, a: Block, b: Block) -> Block:
        a.size += b.size
        a.next = b.next
        if b.next is not None:
            b.next.prev = a
        return a

    def _new_segment(self, size: int, small: bool) -> Block:
        seg_size = SMALL_SEGMENT if small else (size + LARGE_ROUND - 1) // LARGE_ROUND * LARGE_ROUND
        if self.limit is not None and self.stats.bytes_reserved + seg_size > self.limit:
            self.release_cached()
            if self.stats.bytes_reserved + seg_size > self.limit:
                raise OutOfMemory(
                    f"memory pool limit {self.limit} bytes reached: {self.stats.bytes_reserved} "
                    f"reserved, {self.stats.bytes_in_use} in use, {seg_size} more needed")
        try:
            handle = self.backend.allocate(seg_size)
        except MemoryError as e:
            if self.release_cached():
                handle = self.backend.allocate(seg_size)
            else:
                raise OutOfMemory(f"{self.backend.name} could not allocate {seg_size} bytes: {e}") from e
        seg = Segment(handle, seg_size, small)
        self._segments.append(seg)
        self.stats.backend_allocations += 1
        self.stats.segments += 1
        self.stats.bytes_reserved += seg_size
        self.stats.peak_bytes_reserved = max(self.stats.peak_bytes_reserved, self.stats.bytes_reserved)
        return Block(seg, 0, seg_size)

    def _drop_segment(self, seg: Segment, force: bool = False) -> int:
        assert force or seg.blocks_in_use == 0
        for small in (True, False):
            self._free[small] = [e for e in self._free[small] if e[2].segment is not seg]
        self._segments.remove(seg)
        self.backend.release(seg.handle)
        self.stats.backend_releases += 1
        self.stats.segments -= 1
        self.stats.bytes_reserved -= seg.size
        return seg.size
