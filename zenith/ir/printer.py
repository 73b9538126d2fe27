"""The generic text form of the IR (see docs/ir.md).

Every op prints in one generic syntax::

    %y = "zt.add"(%x, %b) {alpha = 1.0} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>

Modules and functions print in a short custom form. Constants with more than
``inline_limit`` elements go to a resource section at the end of the file and are
referenced as ``dense_resource<rN>``, so the text round-trips exactly.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np

from zenith.ir.attributes import DenseAttr
from zenith.ir.core import Block, Operation, Region, Value
from zenith.ir.diagnostics import FileLoc, Location, NameLoc
from zenith.ir.dtypes import DType
from zenith.ir.module import Function, Module
from zenith.ir.types import FunctionType, TensorType

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_$.]*\Z")
_BAD_CHARS = re.compile(r"[^A-Za-z0-9_$.]")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*\Z")


def format_float(x: float) -> str:
    """A float literal that parses back to exactly ``x``."""
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return repr(float(x))


def format_string(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def format_key(k: str) -> str:
    return k if _KEY.match(k) else format_string(k)


class Printer:
    """Prints modules, functions and ops; one instance prints one file."""

    def __init__(self, inline_limit: int = 16, debug_info: bool = False) -> None:
        self.inline_limit = inline_limit
        self.debug_info = debug_info
        self.resources: dict[int, tuple[str, DenseAttr]] = {}
        self._names: dict[Value, str] = {}
        self._used: set[str] = set()
        self._counter = 0
        self._type_cache: dict[TensorType, str] = {}
        self.lines: list[str] = []

    # -- values ---------------------------------------------------------
    def _assign(self, v: Value) -> str:
        hint = v.name_hint
        if hint:
            base = hint if _IDENT.match(hint) else _BAD_CHARS.sub("_", hint)
            if not base or base[0].isdigit():
                base = "v" + base
            name, k = base, 0
            while name in self._used:
                k += 1
                name = f"{base}_{k}"
        else:
            name = str(self._counter)
            self._counter += 1
        self._used.add(name)
        self._names[v] = name
        return "%" + name

    def name(self, v: Value) -> str:
        n = self._names.get(v)
        return self._assign(v) if n is None else "%" + n

    # -- types and attributes -------------------------------------------
    def type(self, t: TensorType) -> str:
        s = self._type_cache.get(t)
        if s is None:
            s = self._type_cache[t] = str(t)
        return s

    def attr(self, v: Any) -> str:
        if v is None:
            return "none"
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int):
            return str(v)
        if isinstance(v, float):
            return format_float(v)
        if isinstance(v, str):
            return format_string(v)
        if isinstance(v, DType):
            return v.name
        if isinstance(v, TensorType):
            return self.type(v)
        if isinstance(v, FunctionType):
            ins = ", ".join(self.type(t) for t in v.inputs)
            outs = ", ".join(self.type(t) for t in v.results)
            return f"({ins}) -> ({outs})"
        if isinstance(v, tuple):
            return "[" + ", ".join(self.attr(x) for x in v) + "]"
        if isinstance(v, DenseAttr):
            return self.dense(v)
        raise TypeError(f"cannot print attribute of type {type(v).__name__}")

    def dense(self, d: DenseAttr) -> str:
        t = self.type(d.type)
        if d.size <= self.inline_limit or d.dtype.kind == "string":
            return f"dense<[{', '.join(_scalars(d))}]> : {t}"
        entry = self.resources.get(id(d))
        if entry is None:
            entry = self.resources[id(d)] = (f"r{len(self.resources)}", d)
        return f"dense_resource<{entry[0]}> : {t}"

    def attr_dict(self, attrs: dict[str, Any]) -> str:
        if not attrs:
            return ""
        body = ", ".join(f"{format_key(k)} = {self.attr(v)}" for k, v in attrs.items())
        return "{" + body + "}"

    def loc(self, loc: Location) -> str:
        if not self.debug_info:
            return ""
        if isinstance(loc, FileLoc):
            return f" loc({format_string(loc.filename)}:{loc.line}:{loc.col})"
        if isinstance(loc, NameLoc):
            return f" loc({format_string(loc.name)})"
        return ""

    # -- structure ------------------------------------------------------
    def module(self, m: Module) -> str:
        attrs = f" attributes {self.attr_dict(m.attributes)}" if m.attributes else ""
        self.lines.append(f"module{attrs} {{")
        for fn in m.functions:
            self.function(fn, "  ")
        self.lines.append("}")
        self._resources()
        return "\n".join(self.lines) + "\n"

    def function(self, fn: Function, indent: str = "") -> None:
        self._names, self._used, self._counter = {}, set(), 0
        args = ", ".join(f"{self._assign(a)}: {self.type(a.type)}" for a in fn.args)
        outs = ", ".join(self.type(t) for t in fn.result_types)
        extra = fn.extra_attributes
        attrs = f" attributes {self.attr_dict(extra)}" if extra else ""
        self.lines.append(f"{indent}func.func @{fn.sym_name}({args}) -> ({outs}){attrs} {{")
        for op in fn.body:
            self.op(op, indent + "  ")
        self.lines.append(f"{indent}}}")

    def op(self, op: Operation, indent: str) -> None:
        results = ", ".join(self._assign(r) for r in op.results)
        head = f"{indent}{results} = " if results else indent
        operands = ", ".join(self.name(v) for v in op.operands)
        in_types = ", ".join(self.type(v.type) for v in op.operands)
        rtypes = [self.type(r.type) for r in op.results]
        out = rtypes[0] if len(rtypes) == 1 else "(" + ", ".join(rtypes) + ")"
        if not op.regions:
            attrs = self.attr_dict(op.attributes)
            attrs = " " + attrs if attrs else ""
            self.lines.append(
                f'{head}"{op.name}"({operands}){attrs} : ({in_types}) -> {out}{self.loc(op.loc)}'
            )
            return
        self.lines.append(f'{head}"{op.name}"({operands}) (')
        for i, region in enumerate(op.regions):
            self.region(region, indent, last=i == len(op.regions) - 1)
        attrs = self.attr_dict(op.attributes)
        attrs = " " + attrs if attrs else ""
        self.lines[-1] += f"){attrs} : ({in_types}) -> {out}{self.loc(op.loc)}"

    def region(self, region: Region, indent: str, last: bool) -> None:
        self.lines.append(f"{indent}  {{")
        for i, block in enumerate(region.blocks):
            self.block(block, i, indent + "  ")
        self.lines.append(f"{indent}  }}" + ("" if last else ","))

    def block(self, block: Block, index: int, indent: str) -> None:
        args = ", ".join(f"{self._assign(a)}: {self.type(a.type)}" for a in block.args)
        self.lines.append(f"{indent}^bb{index}({args}):")
        for op in block:
            self.op(op, indent + "  ")

    def _resources(self) -> None:
        if not self.resources:
            return
        self.lines.append("")
        self.lines.append("{-#")
        self.lines.append("  dialect_resources: {")
        self.lines.append("    builtin: {")
        entries = list(self.resources.values())
        for i, (name, d) in enumerate(entries):
            sep = "," if i < len(entries) - 1 else ""
            self.lines.append(f'      {name}: "0x{d.array.tobytes().hex()}"{sep}')
        self.lines.append("    }")
        self.lines.append("  }")
        self.lines.append("#-}")


def _scalars(d: DenseAttr) -> list[str]:
    flat = d.array.reshape(-1)
    kind = d.dtype.kind
    if kind == "bool":
        return ["true" if x else "false" for x in flat.tolist()]
    if kind in ("int", "uint"):
        return [str(int(x)) for x in flat.astype(np.int64 if kind == "int" else np.uint64)]
    if kind == "float":
        return [format_float(x) for x in flat.astype(np.float64).tolist()]
    if kind == "complex":
        return [f"({format_float(z.real)}, {format_float(z.imag)})" for z in flat.tolist()]
    return [format_string(str(x)) for x in flat.tolist()]


def print_module(m: Module, inline_limit: int = 16, debug_info: bool = False) -> str:
    """The text of a module, resources included."""
    return Printer(inline_limit, debug_info).module(m)


def print_op(op: Operation) -> str:
    """One op as text (values defined outside it get fresh names)."""
    p = Printer()
    if isinstance(op, Module):
        return p.module(op)
    if isinstance(op, Function):
        p.function(op)
    else:
        p.op(op, "")
    return "\n".join(p.lines)
