"""The caching memory pool: invariants under random traffic, hit rate, limit, release."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from zenith.runtime.host import HostBackend, view
from zenith.runtime.pool import ALIGN, MemoryPool, OutOfMemory

SIZES = st.one_of(st.integers(0, 4096), st.integers(4096, 3 << 20), st.sampled_from([512, 1 << 20]))


class PoolMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.pool = MemoryPool(HostBackend())
        self.live: list = []

    @rule(n=SIZES)
    def alloc(self, n):
        b = self.pool.allocate(n)
        assert b.size >= n and b.offset % ALIGN == 0
        arr = view(b, 0, (n,), np.uint8)
        arr[:] = len(self.live) % 251  # writable and inside the segment
        self.live.append((b, n, len(self.live) % 251))

    @precondition(lambda self: self.live)
    @rule(i=st.integers(0, 10**6))
    def free(self, i):
        b, n, tag = self.live.pop(i % len(self.live))
        assert (view(b, 0, (n,), np.uint8) == tag).all(), "another block overwrote this one"
        self.pool.free(b)

    @rule()
    def release(self):
        self.pool.release_cached()

    @invariant()
    def accounting(self):
        s = self.pool.stats
        assert s.bytes_in_use == sum(b.size for b, _, _ in self.live)
        assert s.bytes_in_use <= s.bytes_reserved
        spans = sorted((id(b.segment), b.offset, b.offset + b.size) for b, _, _ in self.live)
        for (s1, _, e1), (s2, b2, _) in itertools.pairwise(spans):
            assert s1 != s2 or e1 <= b2, "live blocks overlap"


TestPoolMachine = PoolMachine.TestCase
TestPoolMachine.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)


def test_steady_workload_hits_the_cache():
    pool = MemoryPool(HostBackend())
    sizes = [3000, 150_000, 4 << 20, 700, 1 << 20, 12_345_678]
    for _ in range(101):
        blocks = [pool.allocate(n) for n in sizes]
        for b in reversed(blocks):
            pool.free(b)
    warm = pool.stats.backend_allocations
    for _ in range(100):
        blocks = [pool.allocate(n) for n in sizes]
        for b in blocks:
            pool.free(b)
    assert pool.stats.backend_allocations == warm
    assert pool.stats.hit_rate >= 0.99


def test_split_and_merge_reuse_one_segment():
    pool = MemoryPool(HostBackend())
    a, b, c = (pool.allocate(1000) for _ in range(3))
    assert pool.stats.segments == 1 and a.segment is b.segment is c.segment
    pool.free(b)
    pool.free(a)
    pool.free(c)
    big = pool.allocate(1 << 20)  # the three merged back into the whole segment
    assert big.segment is a.segment and big.offset == 0


def test_limit_releases_cache_then_raises():
    pool = MemoryPool(HostBackend(), limit=8 << 20)
    x = pool.allocate(5 << 20)
    pool.free(x)
    y = pool.allocate(7 << 20)  # needs the cached 6 MiB segment released first
    assert pool.stats.bytes_reserved == 8 << 20
    with pytest.raises(OutOfMemory, match="limit 8388608 bytes reached"):
        pool.allocate(3 << 20)
    pool.free(y)


def test_double_free_and_free_all():
    pool = MemoryPool(HostBackend())
    a = pool.allocate(10)
    pool.free(a)
    with pytest.raises(ValueError, match="freed twice"):
        pool.free(a)
    pool.allocate(100)
    pool.free_all()
    assert pool.stats.bytes_reserved == 0 and pool.stats.segments == 0

