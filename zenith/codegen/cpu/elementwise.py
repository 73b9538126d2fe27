"""Elementwise work on the CPU: whole ``elementwise`` kernels and anchors' epilogues.

:func:`chain` turns a list of elementwise ops (a kernel body, or the epilogue
after an anchor) into ``run(values, outs)``. Two paths, measured:

- **generated C** (``cgen.py``) when every op has a scalar expression
  (``zenith/codegen/scalar.py``), every value is f32 or f64, the inputs
  broadcast to the output shape, and there are at least ``c_min_elements``
  elements: one pass over memory, OpenMP over ``threads``;
- **NumPy** otherwise: ufuncs for the common float ops (the last op of each
  output writes straight into it with ``out=``), the op references for the rest.

In-place kernels (an output over an input, see docs/architecture.md) are safe on
both paths: an output is written only by the op that computes it (NumPy ufuncs
with exactly aliased operands) or element by element after its inputs are read (C).
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable

import numpy as np

from zenith.codegen.cpu import cc, cgen
from zenith.codegen.cpu.kernel import CpuOptions, Run, body_ops, register
from zenith.codegen.cpu.reference import eval_op, store
from zenith.ir.core import Operation, Value

FLOATS = ("f32", "f64")
UFUNCS: dict[str, Callable] = {
    "zt.add": np.add, "zt.sub": np.subtract, "zt.mul": np.multiply, "zt.div": np.divide,
    "zt.max": np.maximum, "zt.min": np.minimum, "zt.neg": np.negative, "zt.exp": np.exp,
    "zt.log": np.log, "zt.sqrt": np.sqrt, "zt.tanh": np.tanh, "zt.abs": np.absolute,
}


def _relu(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    return np.maximum(x, np.zeros((), x.dtype), out=out)


UFUNCS["zt.relu"] = _relu


def _float_op(op: Operation) -> bool:
    return (op.name in UFUNCS and not op.attributes and
            all(v.type.dtype.name in FLOATS for v in (*op.operands, *op.results)))


def numpy_chain(ops: list[Operation], inputs: list[Value], outputs: list[Value]) -> Run:
    """``run(values, outs)``: ``values`` are the arrays of ``inputs``; fills ``outs``."""
    producer = {v: i for i, v in enumerate(outputs)}
    plan = []
    for op in ops:
        r = op.results[0] if len(op.results) == 1 else None
        direct = r is not None and r in producer and _float_op(op)
        plan.append((op, _float_op(op), producer[r] if direct else -1))
    written = {producer[op.results[0]] for op, _, k in plan if k >= 0}
    copies = [(i, v) for i, v in enumerate(outputs) if i not in written]

    def run(values: list[np.ndarray], outs: list[np.ndarray]) -> None:
        env = dict(zip(inputs, values))
        for op, fast, k in plan:
            ins = [env[v] for v in op.operands]
            if fast:
                env[op.results[0]] = UFUNCS[op.name](*ins, out=outs[k] if k >= 0 else None)
            else:
                for r, val in zip(op.results, eval_op(op, ins, env)):
                    env[r] = val
        if copies:
            store("epilogue", [np.asarray(env[v]) for _, v in copies], [outs[i] for i, _ in copies])

    return run


def chain(ops: list[Operation], inputs: list[Value], outputs: list[Value], options: CpuOptions,
          name: str) -> tuple[str, Run]:
    """The best ``run(values, outs)`` for these ops: ("c", ...) or ("numpy", ...)."""
    if options.use_c and outputs and cc.available():
        n = int(np.prod(outputs[0].type.shape)) if outputs[0].type.is_static else 0
        if n >= options.c_min_elements:
            src = cgen.elementwise_source(ops, inputs, outputs, options.threads, name)
            if src is not None:
                fn = getattr(cc.load(src), cgen.ENTRY)
                fn.restype = None
                fn.argtypes = [ctypes.c_void_p] * (len(inputs) + len(outputs))
                return "c", _c_run(fn)
    return "numpy", numpy_chain(ops, inputs, outputs)


def _c_run(fn) -> Run:
    def run(values: list[np.ndarray], outs: list[np.ndarray]) -> None:
        fn(*[a.ctypes.data for a in values], *[o.ctypes.data for o in outs])

    return run


@register("elementwise")
def build_elementwise(op: Operation, options: CpuOptions) -> tuple[str, Run] | None:
    block = op.regions[0].blocks[0]
    ops = body_ops(op)
    if any(o.regions for o in ops):
        return None
    how, run = chain(ops, list(block.args), list(block.terminator.operands), options,
                     op.attr("name"))
    return f"{how}-elementwise", run
