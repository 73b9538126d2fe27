"""Structural equality: same ops, attributes, types and use-def shape."""

from __future__ import annotations

import math
from typing import Any

from zenith.ir.core import Block, Operation, Region, Value


def structurally_equal(a: Operation, b: Operation) -> bool:
    """Whether two ops (modules, functions...) are the same up to value identity."""
    return _Matcher().op(a, b)


def attr_equal(x: Any, y: Any) -> bool:
    """Attribute equality where NaN equals NaN."""
    if isinstance(x, float) and isinstance(y, float):
        return x == y or (math.isnan(x) and math.isnan(y))
    if isinstance(x, tuple) and isinstance(y, tuple):
        return len(x) == len(y) and all(attr_equal(a, b) for a, b in zip(x, y))
    return type(x) is type(y) and x == y


def _attrs_equal(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.keys() == b.keys() and all(attr_equal(a[k], b[k]) for k in a)


class _Matcher:
    def __init__(self) -> None:
        self.map: dict[Value, Value] = {}

    def value(self, x: Value, y: Value) -> bool:
        if x.type != y.type:
            return False
        return self.map.get(x, x) is y

    def op(self, a: Operation, b: Operation) -> bool:
        if a.name != b.name or not _attrs_equal(a.attributes, b.attributes):
            return False
        if a.num_operands != b.num_operands or len(a.results) != len(b.results):
            return False
        if len(a.regions) != len(b.regions):
            return False
        if not all(self.value(x, y) for x, y in zip(a.operands, b.operands)):
            return False
        for ra, rb in zip(a.regions, b.regions):
            if not self.region(ra, rb):
                return False
        for x, y in zip(a.results, b.results):
            if x.type != y.type:
                return False
            self.map[x] = y
        return True

    def region(self, a: Region, b: Region) -> bool:
        if len(a.blocks) != len(b.blocks):
            return False
        return all(self.block(x, y) for x, y in zip(a.blocks, b.blocks))

    def block(self, a: Block, b: Block) -> bool:
        if len(a.args) != len(b.args) or len(a) != len(b):
            return False
        for x, y in zip(a.args, b.args):
            if x.type != y.type:
                return False
            self.map[x] = y
        return all(self.op(x, y) for x, y in zip(a, b))
