"""Fused epilogues of anchor kernels (matmul, conv, attention), applied in registers.

An anchor kernel's body is ``anchor, elementwise ops..., zk.yield``. The
template computes the anchor's value for one output element (its
*accumulator*) and hands this module the C expressions of that element's
coordinates in the anchor's output shape. :func:`Epilogue.emit` returns the
code computing every body value after the anchor (scalar expressions from
``zenith/codegen/scalar.py``) and the stores of every yielded value, each kernel
input read with NumPy broadcasting to the output shape.

Also here: the CUDA storage types and the load/store conversions shared by the
anchor templates (f16 and bf16 are ``__half`` and ``__nv_bfloat16`` in memory,
``float`` in registers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from zenith.codegen.cuda.common import CUDA_STORAGE, ctype, load, store
from zenith.codegen.scalar import BOOL_RESULT, UnsupportedOp, scalar_expr
from zenith.ir.core import Operation, Value
from zenith.ir.diagnostics import ZenithError
from zenith.ir.dtypes import DType
from zenith.ir.opdef import ELEMENTWISE, VIEW

PRELUDE = "#include <cuda_fp16.h>\n#include <cuda_bf16.h>\n#include <stdint.h>\n"
INDEX_LIMIT = 2**31 - 1


def storage(dt: DType, where: str = "") -> str:
    """The CUDA type of ``dt`` in memory (ZenithError for the types no template handles)."""
    t = CUDA_STORAGE.get(dt.name)
    if t is None:
        raise ZenithError(f"{where}: the CUDA target has no storage type for {dt}")
    return t


def op_attrs(op: Operation) -> dict:
    """An op's attributes with the definition's defaults filled in."""
    od = op.opdef
    out = {k: spec.default for k, spec in od.attrs.items()} if od is not None else {}
    out.update(op.attributes)
    return out


def static_shape(v: Value, where: str) -> tuple[int, ...]:
    t = v.type
    if not t.is_static:
        raise ZenithError(f"{where}: {t} has no static shape; compile with concrete input shapes")
    shape = tuple(int(d) for d in t.shape)
    if math.prod(shape) > INDEX_LIMIT:
        raise ZenithError(f"{where}: {t} has more than 2^31 elements (32-bit indexing)")
    return shape


def strides(shape: tuple[int, ...]) -> list[int]:
    out, acc = [], 1
    for d in reversed(shape):
        out.append(acc)
        acc *= d
    return out[::-1]


def broadcast_index(shape: tuple[int, ...], out_shape: tuple[int, ...], coords: list[str]) -> str:
    """The flat index into a tensor of ``shape`` broadcast (NumPy rules) to ``out_shape``."""
    off = len(out_shape) - len(shape)
    terms = []
    for d, (n, s) in enumerate(zip(shape, strides(shape))):
        if n == 1:
            continue
        c = coords[off + d]
        terms.append(c if s == 1 else f"({c}) * {s}")
    return " + ".join(terms) if terms else "0"


def unflatten(index: str, dims: tuple[int, ...]) -> list[str]:
    """C expressions of the coordinates of flat ``index`` over ``dims`` (row-major)."""
    out = []
    for i, (d, s) in enumerate(zip(dims, strides(dims))):
        if d == 1:
            out.append("0")
            continue
        e = f"({index})" if s == 1 else f"(({index}) / {s})"
        out.append(e if i == 0 else f"({e} % {d})")
    return out


@dataclass
class KernelIO:
    """Parameter names of one ``zk.fused`` op: ``in<i>`` per operand, ``out<j>`` per result."""

    op: Operation
    ins: list[str] = field(default_factory=list)
    outs: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.op.attr("name")

    def params(self) -> str:
        block = self.op.regions[0].blocks[0]
        ps = [f"const {storage(a.type.dtype, self.where)}* __restrict__ {n}"
              for a, n in zip(block.args, self.ins)]
        ps += [f"{storage(r.type.dtype, self.where)}* __restrict__ {n}"
               for r, n in zip(self.op.results, self.outs)]
        return ", ".join(ps)

    @property
    def where(self) -> str:
        return f"kernel '{self.name}' at {self.op.loc}"


def kernel_io(op: Operation) -> KernelIO:
    return KernelIO(op, [f"in{i}" for i in range(len(op.operands))],
                    [f"out{j}" for j in range(len(op.results))])


def find_anchor(op: Operation, names: tuple[str, ...]) -> Operation:
    """The one body op named in ``names`` (ZenithError naming the kernel otherwise)."""
    found = [o for o in op.regions[0].blocks[0] if o.name in names]
    if len(found) != 1:
        raise ZenithError(f"kernel '{op.attr('name')}' at {op.loc}: expected one of "
                          f"{', '.join(names)} in the body, found {len(found)}")
    return found[0]


class Epilogue:
    """The elementwise ops after ``anchor`` in the body of ``io.op``, as scalar C code."""

    def __init__(self, io: KernelIO, anchor: Operation) -> None:
        self.io = io
        self.anchor = anchor
        block = io.op.regions[0].blocks[0]
        self.out_shape = static_shape(anchor.results[0], io.where)
        # Every body value outside the anchor's data path that the epilogue reads: a
        # kernel input (block argument) or a view of one (same data, another shape).
        self.tensors: dict[Value, tuple[str, tuple[int, ...]]] = {
            a: (n, static_shape(a, io.where)) for a, n in zip(block.args, io.ins)}
        self.ops: list[Operation] = []
        seen = False
        for o in block:
            if o is anchor:
                seen = True
            elif o.name == "zk.yield":
                self.yields = list(o.operands)
            elif o.has_trait(VIEW) and o.operand(0) in self.tensors:
                self.tensors[o.results[0]] = (self.tensors[o.operand(0)][0],
                                              static_shape(o.results[0], io.where))
            elif not seen:
                raise ZenithError(f"{io.where}: '{o.name}' before the anchor '{anchor.name}' "
                                  "(prologues are not supported by this template)")
            elif not o.has_trait(ELEMENTWISE):
                raise ZenithError(f"{io.where}: epilogue op '{o.name}' is not elementwise")
            else:
                self.ops.append(o)

    def input_value(self, v: Value, coords: list[str]) -> str:
        """The compute-type load of kernel input ``v`` at output ``coords`` (broadcast)."""
        name, shape = self.tensors[v]
        idx = broadcast_index(shape, self.out_shape, coords)
        return load(v.type.dtype, f"{name}[{idx}]")

    def emit(self, acc: str, coords: list[str], linear: str, indent: str = "    ",
             guard: str | None = None) -> str:
        """Code computing every epilogue value from ``acc`` (the anchor's value, compute type)
        at output ``coords`` (flat ``linear``) and storing each yielded value."""
        names: dict[Value, str] = {self.anchor.results[0]: acc}
        lines = []
        for k, o in enumerate(self.ops):
            args = []
            for v in o.operands:
                if v in names:
                    args.append(names[v])
                elif v in self.tensors:
                    args.append(self.input_value(v, coords))
                else:
                    raise ZenithError(f"{self.io.where}: epilogue op '{o.name}' reads a value "
                                      "defined neither in the kernel nor as its input")
            expr = self._expr(o, args)
            var = f"e{k}"
            lines.append(f"{ctype(o.results[0].type.dtype)} {var} = {expr};")
            names[o.results[0]] = var
        for j, v in enumerate(self.yields):
            if v not in names:
                raise ZenithError(f"{self.io.where}: yields a value the epilogue does not compute")
            if static_shape(v, self.io.where) != self.out_shape:
                raise ZenithError(f"{self.io.where}: yielded value {v.type} does not have the "
                                  f"anchor's output shape {self.out_shape}")
            lines.append(f"{self.io.outs[j]}[{linear}] = {store(v.type.dtype, names[v])};")
        body = "\n".join(indent + ln for ln in lines)
        if guard:
            return f"{indent}if ({guard}) {{\n" + "\n".join("  " + ln for ln in body.split("\n")) \
                + f"\n{indent}}}"
        return body

    def _expr(self, o: Operation, args: list[str]) -> str:
        res = o.results[0].type.dtype
        if o.name == "zt.cast":
            src = o.operand(0).type.dtype
            if src.name in ("f16", "bf16") and res.name != src.name:
                # Values of a narrow type are kept in float registers between ops; a cast
                # out of that type sees the value the IR defines: rounded to it.
                args = [load(src, store(src, f"(float)({args[0]})"))]
            if res.name in ("f16", "bf16"):
                # Round to the narrow type now: later ops see the rounded value.
                return load(res, store(res, f"(float)({args[0]})"))
            if res.is_bool:
                return f"(({args[0]}) != 0)"
            if src.is_float and res.is_int:
                return f"({ctype(res)})({args[0]})"
            return f"({ctype(res)})({args[0]})"
        if o.name == "zt.where":
            ct = ctype(res)
        elif o.name in BOOL_RESULT:
            ct = ctype(o.operand(0).type.dtype)
        else:
            ct = ctype(res)
        try:
            return scalar_expr(o.name, args, op_attrs(o), ct)
        except UnsupportedOp as e:
            raise ZenithError(f"{self.io.where}: epilogue op '{o.name}' at {o.loc}: {e}") from None


def check_f8(dt: DType, where: str) -> None:
    if dt.name not in ("f32", "f16", "bf16", "f64"):
        raise ZenithError(f"{where}: the CUDA anchor templates take f32, f16, bf16 or f64, not {dt}")
