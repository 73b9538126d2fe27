"""Pausing Python's cyclic garbage collector during bulk IR construction.

IR objects form reference cycles by design (an op and its results, a block and
its linked ops), so every collection during a large build walks the whole
growing graph while finding no garbage; that makes construction superlinear.
Parsing runs under :func:`paused_gc`, and code that builds large modules can too.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Disable the cyclic collector inside the block (re-entrant; restores the prior state)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
