"""The reference interpreter: runs IR with each op's NumPy reference.

It is the semantic oracle for every pass and backend. Inputs are checked
against the function's signature (dtype, rank, static dims, and symbolic dims
bound consistently); each op's outputs are checked against its result types,
so a wrong type rule or reference is caught at the op that has it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from zenith.ir.core import Block, Operation, Value
from zenith.ir.diagnostics import ZenithError
from zenith.ir.dtypes import from_numpy
from zenith.ir.module import Function, Module
from zenith.ir.types import TensorType


class RefContext:
    """What an op's reference implementation sees besides its inputs."""

    __slots__ = ("env", "interp", "op")

    def __init__(self, op: Operation, interp: Interpreter, env: dict[Value, np.ndarray]):
        self.op = op
        self.interp = interp
        self.env = env

    def attr(self, key: str) -> Any:
        return self.op.attr(key)

    def attr_values(self) -> dict[str, Any]:
        """All attributes with defaults filled in, as keyword arguments."""
        od = self.op.opdef
        out = {k: spec.default for k, spec in od.attrs.items() if not spec.required} if od else {}
        out.update(self.op.attributes)
        return out

    @property
    def result_types(self) -> list[TensorType]:
        return [r.type for r in self.op.results]

    def run_region(self, index: int, *args: np.ndarray) -> list[np.ndarray]:
        """Run block 0 of region ``index`` with ``args``; return what it yields."""
        block = self.op.regions[index].blocks[0]
        return self.interp.run_block(block, list(args), dict(self.env))


class Interpreter:
    """Evaluates functions op by op."""

    def __init__(self, check_types: bool = True) -> None:
        self.check_types = check_types

    def run(self, fn: Function | Module, inputs: Sequence[np.ndarray] | Mapping[str, np.ndarray]
            ) -> list[np.ndarray]:
        if isinstance(fn, Module):
            fn = fn.main
        args = bind_inputs(fn, inputs)
        return self.run_block(fn.body, args, {})

    def run_block(self, block: Block, args: list[np.ndarray], env: dict[Value, np.ndarray]
                  ) -> list[np.ndarray]:
        for a, v in zip(block.args, args):
            env[a] = v
        remaining = {v: v.num_uses for v in list(block.args)}
        for op in block:
            ins = []
            for v in op.operands:
                if v not in env:
                    raise ZenithError(f"'{op.name}' reads a value that was never computed", op.loc)
                ins.append(env[v])
            if op.name == "func.return" or (op is block.last and op.has_trait("terminator")):
                return ins
            outs = self.eval_op(op, ins, env)
            for r, val in zip(op.results, outs):
                env[r] = val
                remaining[r] = r.num_uses
            for v in op.operands:
                n = remaining.get(v)
                if n is not None:
                    remaining[v] = n - 1
                    if n == 1:
                        env.pop(v, None)
        raise ZenithError("block has no terminator", block.last.loc if block.last else None)

    def eval_op(self, op: Operation, ins: list[np.ndarray], env: dict[Value, np.ndarray]
                ) -> list[np.ndarray]:
        od = op.opdef
        if od is None or od.reference is None:
            raise ZenithError(f"'{op.name}' has no reference semantics", op.loc)
        try:
            out = od.reference(RefContext(op, self, env), *ins)
        except ZenithError:
            raise
        except Exception as e:  # a reference failing on valid input is a bug: name the op
            raise ZenithError(f"'{op.name}' failed in the reference interpreter: "
                              f"{type(e).__name__}: {e}", op.loc) from e
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        outs = [np.asarray(o) for o in outs]
        if len(outs) != len(op.results):
            raise ZenithError(f"'{op.name}' reference gave {len(outs)} results, "
                              f"op has {len(op.results)}", op.loc)
        if self.check_types:
            for i, (r, o) in enumerate(zip(op.results, outs)):
                check_value(r.type, o, f"result #{i} of '{op.name}'", op)
        return outs


def check_value(t: TensorType, arr: np.ndarray, what: str, op: Operation | None = None,
                symbols: dict[str, int] | None = None) -> None:
    """Raise unless ``arr`` has the dtype and a shape compatible with ``t``."""
    loc = op.loc if op is not None else None
    try:
        dt = from_numpy(arr.dtype)
    except TypeError:
        raise ZenithError(f"{what} has unsupported NumPy dtype {arr.dtype}", loc) from None
    if dt is not t.dtype:
        raise ZenithError(f"{what} has dtype {dt}, expected {t.dtype}", loc)
    if arr.ndim != t.rank:
        raise ZenithError(f"{what} has shape {tuple(arr.shape)} (rank {arr.ndim}), expected {t}", loc)
    for axis, (d, n) in enumerate(zip(t.shape, arr.shape)):
        if isinstance(d, int) and d != n:
            raise ZenithError(f"{what} has shape {tuple(arr.shape)}, expected {t} "
                              f"(dim {axis} is {n}, not {d})", loc)
        if isinstance(d, str) and symbols is not None:
            bound = symbols.setdefault(d, n)
            if bound != n:
                raise ZenithError(f"{what} has {d}={n} at dim {axis}, but another input bound "
                                  f"{d}={bound}", loc)


def bind_inputs(fn: Function, inputs: Sequence[np.ndarray] | Mapping[str, np.ndarray]
                ) -> list[np.ndarray]:
    """Order and check call arguments against ``fn``'s signature."""
    names = list(fn.attributes.get("arg_names", ())) or [
        a.name_hint or f"arg{i}" for i, a in enumerate(fn.args)]
    if isinstance(inputs, Mapping):
        missing = [n for n in names if n not in inputs]
        extra = [k for k in inputs if k not in names]
        if missing or extra:
            msg = []
            if missing:
                msg.append("missing input(s) " + ", ".join(repr(m) for m in missing))
            if extra:
                msg.append("unknown input(s) " + ", ".join(repr(e) for e in extra))
            raise ZenithError(f"@{fn.sym_name}: " + "; ".join(msg) +
                              f" (expected: {', '.join(map(repr, names))})", fn.loc)
        arrays = [inputs[n] for n in names]
    else:
        arrays = list(inputs)
        if len(arrays) != len(fn.args):
            raise ZenithError(f"@{fn.sym_name} takes {len(fn.args)} input(s), got {len(arrays)}",
                              fn.loc)
    out = []
    symbols: dict[str, int] = {}
    for name, a, arr in zip(names, fn.args, arrays):
        arr = np.asarray(arr)
        check_value(a.type, arr, f"input '{name}'", symbols=symbols)
        out.append(arr)
    return out


def interpret(fn: Function | Module, inputs: Sequence[np.ndarray] | Mapping[str, np.ndarray]
              ) -> list[np.ndarray]:
    """Run ``fn`` (or a module's main function) on NumPy inputs."""
    return Interpreter().run(fn, inputs)
