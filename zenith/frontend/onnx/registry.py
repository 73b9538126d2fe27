"""The converter registry: ONNX op type (and domain) to a function building ``zt`` ops.

    @converter("Relu", since=6)
    def _relu(ctx: NodeContext) -> Value:
        return ctx.op("zt.relu", ctx.input(0))

A converter covers the opset versions ``since <= opset < until``; several
converters of one op type cover different version ranges. It returns the node's
outputs in order (a single Value, or a list with ``None`` for absent optional
outputs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DEFAULT_DOMAINS = ("", "ai.onnx")


@dataclass(frozen=True)
class Converter:
    op_type: str
    domain: str
    since: int
    until: int | None
    fn: Callable[[Any], Any]

    def covers(self, version: int) -> bool:
        return self.since <= version and (self.until is None or version < self.until)


CONVERTERS: dict[tuple[str, str], list[Converter]] = {}


def _domain(domain: str) -> str:
    return "" if domain in DEFAULT_DOMAINS else domain


def converter(*op_types: str, since: int = 1, until: int | None = None, domain: str = ""):
    """Register the decorated function as the converter of ``op_types`` for an opset range."""

    def deco(fn):
        for op_type in op_types:
            entries = CONVERTERS.setdefault((_domain(domain), op_type), [])
            new = Converter(op_type, _domain(domain), since, until, fn)
            for e in entries:
                if e.covers(since) or new.covers(e.since):
                    raise ValueError(f"converters of {op_type} overlap at opset {since}")
            entries.append(new)
        return fn

    return deco


def find_converter(domain: str, op_type: str, version: int) -> Converter | None:
    """The converter of ``op_type`` in ``domain`` at opset ``version``, or None."""
    for c in CONVERTERS.get((_domain(domain), op_type), ()):
        if c.covers(version):
            return c
    return None


def supported_ops() -> dict[tuple[str, str], list[tuple[int, int | None]]]:
    """Every (domain, op type) with the opset ranges it converts."""
    return {k: [(c.since, c.until) for c in v] for k, v in sorted(CONVERTERS.items())}
