"""Zenith IR back to an ONNX ``ModelProto``.

Each ``zt`` op has an export rule (``export_rules.py`` and friends) that emits
ONNX nodes through an :class:`ExportContext`. Constants become initializers;
symbolic dims become ``dim_param``; the function's ``arg_names`` and
``result_names`` name the graph's inputs and outputs. A module with ops that
have no rule fails with one error listing them all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import onnx
from onnx import helper

from zenith.frontend.onnx.dtypes import array_to_tensor, to_onnx_type
from zenith.ir.core import Operation, Value
from zenith.ir.diagnostics import ZenithError
from zenith.ir.module import Function, Module
from zenith.ir.types import TensorType

DEFAULT_OPSET = 21

ExportRule = Callable[["ExportContext", Operation], Sequence[str] | str]


class _Rule:
    __slots__ = ("fn", "opset")

    def __init__(self, fn: ExportRule, opset: int) -> None:
        self.fn = fn
        self.opset = opset


EXPORT_RULES: dict[str, _Rule] = {}


def export_rule(*names: str, opset: int = 1):
    """Register the decorated function as the export rule of zt ops ``names``;
    ``opset`` is the lowest default-domain opset the emitted nodes need."""

    def deco(fn: ExportRule) -> ExportRule:
        for n in names:
            EXPORT_RULES[n] = _Rule(fn, opset)
        return fn

    return deco


def value_info(name: str, t: TensorType) -> onnx.ValueInfoProto:
    dims = [d if d is not None else None for d in t.shape]
    return helper.make_tensor_value_info(name, to_onnx_type(t.dtype), dims)


class ExportContext:
    """Names values and collects nodes and initializers for one graph."""

    def __init__(self, opset: int) -> None:
        self.opset = opset
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._names: dict[Value, str] = {}
        self._taken: set[str] = set()
        self._counter = 0

    def fresh(self, hint: str | None = None) -> str:
        base = hint or "t"
        name = base
        while name in self._taken:
            self._counter += 1
            name = f"{base}_{self._counter}"
        self._taken.add(name)
        return name

    def name(self, v: Value) -> str:
        """The ONNX name of an IR value (assigned on first use)."""
        n = self._names.get(v)
        if n is None:
            n = self._names[v] = self.fresh(v.name_hint)
        return n

    def bind(self, v: Value, name: str) -> None:
        self._names[v] = name
        self._taken.add(name)

    def const(self, value: Any, dtype: Any = None, hint: str = "c") -> str:
        """An initializer holding ``value`` (NumPy dtype ``dtype`` when given)."""
        arr = np.asarray(value) if dtype is None else np.asarray(value, dtype=dtype)
        name = self.fresh(hint)
        self.initializers.append(array_to_tensor(arr, name))
        return name

    def ints(self, values: Sequence[int], hint: str = "ints") -> str:
        return self.const(np.asarray(list(values), dtype=np.int64), hint=hint)

    def node(self, op_type: str, inputs: Sequence[str], outputs: Sequence[str] | int = 1,
             domain: str = "", **attrs: Any) -> list[str]:
        """Append a node; ``outputs`` are names or a count of fresh names."""
        outs = [self.fresh(op_type.lower()) for _ in range(outputs)] if isinstance(outputs, int) \
            else list(outputs)
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(helper.make_node(op_type, list(inputs), outs, domain=domain or None,
                                           **attrs))
        return outs

    def emit(self, op: Operation) -> None:
        rule = EXPORT_RULES[op.name]
        outs = rule.fn(self, op)
        outs = [outs] if isinstance(outs, str) else list(outs)
        if len(outs) != len(op.results):
            raise ZenithError(f"export rule of '{op.name}' gave {len(outs)} outputs, op has "
                              f"{len(op.results)}", op.loc)
        for r, name in zip(op.results, outs):
            self.bind(r, name)


def required_opset(fn: Function) -> int:
    return max([DEFAULT_OPSET] + [EXPORT_RULES[op.name].opset for op in fn.body
                                  if op.name in EXPORT_RULES])


def check_exportable(fn: Function) -> None:
    missing: dict[str, list[str]] = {}
    for op in fn.body.walk():
        if op.name != "func.return" and op.name not in EXPORT_RULES:
            missing.setdefault(op.name, []).append(op.loc.prefix())
    if missing:
        lines = [f"  {k}: {len(v)} op(s) at {', '.join(v[:4])}{' ...' if len(v) > 4 else ''}"
                 for k, v in sorted(missing.items())]
        raise ZenithError(f"cannot export to ONNX: {len(missing)} op kind(s) have no export "
                          "rule:\n" + "\n".join(lines))


def export_function(fn: Function, opset: int | None = None) -> tuple[onnx.GraphProto, int]:
    """The ONNX graph of one function and the default-domain opset it needs."""
    check_exportable(fn)
    ctx = ExportContext(opset or required_opset(fn))
    arg_names = list(fn.attributes.get("arg_names", ())) or [
        a.name_hint or f"input_{i}" for i, a in enumerate(fn.args)]
    inputs = []
    for a, n in zip(fn.args, arg_names):
        ctx.bind(a, n)
        inputs.append(value_info(n, a.type))
    ret = None
    for op in fn.body:
        if op.name == "func.return":
            ret = op
            break
        ctx.emit(op)
    if ret is None:
        raise ZenithError(f"@{fn.sym_name} has no return", fn.loc)
    result_names = list(fn.attributes.get("result_names", ())) or [
        f"output_{i}" for i in range(ret.num_operands)]
    outputs, used = [], set(arg_names)
    for v, n in zip(ret.operands, result_names):
        name = ctx.name(v)
        if name != n or n in used:
            n = n if n not in used else ctx.fresh(n)
            ctx.node("Identity", [name], [n])
        else:
            ctx._taken.add(n)
        used.add(n)
        outputs.append(value_info(n, v.type))
    return helper.make_graph(ctx.nodes, fn.sym_name, inputs, outputs, ctx.initializers), ctx.opset


def export_onnx(module: Module | Function, opset: int | None = None,
                producer: str = "zenith") -> onnx.ModelProto:
    """Export a module's main function (or a function) as an ONNX model."""
    fn = module.main if isinstance(module, Module) else module
    graph, used_opset = export_function(fn, opset)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", used_opset)],
                              producer_name=producer)
    model.ir_version = min(model.ir_version, 10)
    return model
