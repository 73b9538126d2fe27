"""Target-independent lowering of a fused, memory-planned function to a Program skeleton.

After ``fuse,plan-memory`` the function holds only constants, views, ``zk.fused``
kernels (with ``offsets``) and ``func.return``. :func:`lower_function` gives every
value a :class:`Buffer`, collects the constants as parameters, and lists one
:class:`Launch` per kernel; ``kernel_ops`` maps each kernel name to its op, from
which a target's generator writes the kernel. The result's ``kernels`` dict is
left empty for the target to fill.
"""

from __future__ import annotations

from dataclasses import dataclass

from zenith.codegen.program import Buffer, Launch, Program
from zenith.ir.core import Operation, Value
from zenith.ir.diagnostics import ZenithError
from zenith.ir.module import Function
from zenith.ir.opdef import CONSTANT_LIKE, TERMINATOR, VIEW

FUSED = "zk.fused"


@dataclass
class Lowered:
    program: Program
    kernel_ops: dict[str, Operation]
    buffer_of: dict[Value, int]


def _is_view(op: Operation) -> bool:
    return op.has_trait(VIEW) and len(op.operands) == 1 and len(op.results) == 1 and not op.regions


def _static_shape(v: Value, where: Operation | None) -> tuple[int, ...]:
    t = v.type
    if not t.is_static:
        at = f" at {where.loc}" if where is not None else ""
        raise ZenithError(f"value of type {t}{at} has no static shape; compile with concrete "
                          "input shapes")
    return tuple(int(d) for d in t.shape)


def lower_function(fn: Function, target: str) -> Lowered:
    """Buffers, parameters and launches of a planned function (ZenithError if not planned)."""
    if "arena_bytes" not in fn.attributes:
        raise ZenithError(f"function @{fn.sym_name} has no memory plan; run 'fuse,plan-memory' first")
    buffers: list[Buffer] = []
    params: list = []
    launches: list[Launch] = []
    kernel_ops: dict[str, Operation] = {}
    buffer_of: dict[Value, int] = {}

    def add(v: Value, b: Buffer) -> int:
        buffers.append(b)
        buffer_of[v] = len(buffers) - 1
        return len(buffers) - 1

    names = list(fn.attributes.get("arg_names", ())) or [
        a.name_hint or f"arg{i}" for i, a in enumerate(fn.args)]
    inputs = [add(a, Buffer("input", _static_shape(a, None), a.type.dtype.name, index=i, name=names[i]))
              for i, a in enumerate(fn.args)]
    outputs: list[int] = []
    for op in fn.body:
        if op.has_trait(CONSTANT_LIKE):
            arr = op.attr("value").array
            params.append(arr)
            r = op.results[0]
            add(r, Buffer("param", tuple(arr.shape), r.type.dtype.name, index=len(params) - 1,
                          name=r.name_hint or ""))
        elif _is_view(op):
            base = buffer_of[op.operand(0)]
            root = buffers[base].base if buffers[base].kind == "view" else base
            r = op.results[0]
            add(r, Buffer("view", _static_shape(r, op), r.type.dtype.name, base=root,
                          name=r.name_hint or ""))
        elif op.name == FUSED:
            name = op.attr("name")
            offsets = op.attributes.get("offsets")
            if offsets is None:
                raise ZenithError(f"kernel '{name}' at {op.loc} has no offsets; run 'plan-memory'")
            ins = tuple(buffer_of[v] for v in op.operands)
            outs = tuple(add(r, Buffer("arena", _static_shape(r, op), r.type.dtype.name,
                                       offset=int(off), name=r.name_hint or ""))
                         for r, off in zip(op.results, offsets))
            kernel_ops[name] = op
            launches.append(Launch(name, ins, outs))
        elif op.has_trait(TERMINATOR):
            outputs = [buffer_of[v] for v in op.operands]
        else:
            raise ZenithError(f"'{op.name}' at {op.loc} is outside every kernel; run 'fuse' first")
    out_names = list(fn.attributes.get("result_names", ())) or [f"out{i}" for i in range(len(outputs))]
    program = Program(target=target, buffers=buffers, params=params, kernels={}, launches=launches,
                      inputs=inputs, input_names=names, outputs=outputs, output_names=out_names,
                      arena_bytes=int(fn.attributes["arena_bytes"]),
                      info={"arena_lower_bound": int(fn.attributes.get("arena_lower_bound", 0)),
                            "arena_naive": int(fn.attributes.get("arena_naive", 0)),
                            "kinds": {n: o.attr("kind") for n, o in kernel_ops.items()}})
    return Lowered(program, kernel_ops, buffer_of)
