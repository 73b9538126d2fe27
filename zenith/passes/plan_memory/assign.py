"""Offsets in one arena for buffers with known lifetimes (dynamic storage allocation).

Greedy placement in the style of TFLite's "greedy by size": buffers are taken in
some order and each goes into the gap between buffers already placed that it
overlaps in time, the best-fitting gap or the lowest one, or on top. Several
orders are tried (by size, by size times lifetime, by lifetime, by start) with
both gap rules, and the smallest arena wins. Offsets stay multiples of the
buffers' alignment because every size is.

The lower bound is the largest total size of buffers live at one step: no
placement can do better.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from zenith.passes.plan_memory.liveness import Buffer

Order = Callable[[Buffer], tuple]

ORDERS: dict[str, Order] = {
    "size": lambda b: (-b.size, b.start, b.end),
    "area": lambda b: (-b.size * (b.end - b.start + 1), -b.size, b.start),
    "lifetime": lambda b: (-(b.end - b.start), -b.size, b.start),
    "start": lambda b: (b.start, -b.size, b.end),
}


def lower_bound(buffers: Sequence[Buffer], steps: int) -> int:
    """max over steps of the bytes live at that step."""
    delta = [0] * (steps + 2)
    for b in buffers:
        delta[b.start] += b.size
        delta[b.end + 1] -= b.size
    best = live = 0
    for d in delta:
        live += d
        best = max(best, live)
    return best


def _overlaps(buffers: Sequence[Buffer]) -> dict[Buffer, list[Buffer]]:
    """For each buffer, the others live at some common step."""
    out: dict[Buffer, list[Buffer]] = {b: [] for b in buffers}
    by_start = sorted(buffers, key=lambda b: b.start)
    active: list[Buffer] = []
    for b in by_start:
        active = [a for a in active if a.end >= b.start]
        for a in active:
            out[a].append(b)
            out[b].append(a)
        active.append(b)
    return out


def _place(order: list[Buffer], overlaps: dict[Buffer, list[Buffer]], best_fit: bool) -> dict[Buffer, int]:
    offsets: dict[Buffer, int] = {}
    for b in order:
        placed = sorted((offsets[o], o.size) for o in overlaps[b] if o in offsets)
        top = 0
        choice, choice_gap = -1, -1
        for off, size in placed:
            gap = off - top
            if gap >= b.size and (choice < 0 or (best_fit and gap < choice_gap)):
                choice, choice_gap = top, gap
                if not best_fit:
                    break
            top = max(top, off + size)
        offsets[b] = choice if choice >= 0 else top
    return offsets


def assign_offsets(buffers: Sequence[Buffer]) -> tuple[int, str]:
    """Set every buffer's offset; return the arena size and the winning strategy's name."""
    nonempty = [b for b in buffers if b.size > 0]
    for b in buffers:
        b.offset = 0
    if not nonempty:
        return 0, "none"
    overlaps = _overlaps(nonempty)
    best: tuple[int, str, dict[Buffer, int]] | None = None
    for name, key in ORDERS.items():
        order = sorted(nonempty, key=key)
        for best_fit in (True, False):
            offsets = _place(order, overlaps, best_fit)
            arena = max(offsets[b] + b.size for b in nonempty)
            if best is None or arena < best[0]:
                best = (arena, f"{name}-{'best' if best_fit else 'first'}-fit", offsets)
    arena, strategy, offsets = best
    for b, off in offsets.items():
        b.offset = off
    return arena, strategy
