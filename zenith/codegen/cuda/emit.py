"""Element expressions over an index space: the heart of every CUDA generator.

:class:`Emitter` turns "the value ``v`` of a kernel body at multi-index ``idx``"
into C statements, walking producers backwards (TorchInductor's pointwise with
indexing): an elementwise op evaluates its operands at the broadcast index, an
injective op (transpose, slice, pad, concat, split, gather, tile, expand,
reshape...) maps the index onto its operand's, and a block argument is a load
from the kernel's input pointer. Indices are C expressions (strings, ``"0"``
for a constant zero); values are held in their compute type (float for
f16/bf16, see zenith/codegen/scalar.py). Results are cached per (value, index)
in the current scope, so a value read twice at the same index is computed once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from zenith.codegen.cuda.common import ctype, kernel_error, load, numel, storage, strides
from zenith.codegen.scalar import BOOL_RESULT, UnsupportedOp, scalar_expr
from zenith.ir.core import Operation, Value
from zenith.ir.opdef import ELEMENTWISE

Idx = tuple[str, ...]
_NAME = re.compile(r"[A-Za-z_]\w*")
_SHIFTED = re.compile(r"^(?:([A-Za-z_]\w*) ([+-]) (\d+)|(\d+) \+ ([A-Za-z_]\w*))$")
VIEWS = {"zt.reshape", "zt.flatten", "zt.squeeze", "zt.unsqueeze", "zt.identity"}



def _is_simple(e: str) -> bool:
    return e.replace("_", "a").isalnum() or (e.startswith("-") and e[1:].isdigit())


def shape_of(v: Value) -> tuple[int, ...]:
    return tuple(int(d) for d in v.type.shape)


def broadcast_index(idx: Idx, src: tuple[int, ...], dst: tuple[int, ...]) -> Idx:
    """The index of an operand of shape ``src`` broadcast to ``dst`` at ``idx``."""
    off = len(dst) - len(src)
    return tuple("0" if d == 1 else idx[off + i] for i, d in enumerate(src))


class Emitter:
    """Statements computing body values at indices, for one kernel (``kop``)."""

    def __init__(self, kop: Operation, ins: list[str], idx_t: str, indent: int = 1) -> None:
        self.kop = kop
        self.idx_t = idx_t
        self.lines: list[str] = []
        self.indent = indent
        self.counter = 0
        self.scopes: list[dict] = [{}]
        block = kop.regions[0].blocks[0]
        self.arg_ptr = {a: n for a, n in zip(block.args, ins)}
        self.bound: dict[Value, Callable[[Idx], str | None]] = {}  # None: compute it as usual
        # Vector mode: a load of an argument at exactly this index becomes this expression.
        self.vector_index: Idx | None = None
        self.vector_loads: dict[Value, str] = {}
        self.vector_name: Callable[[Value], str] | None = None
        # Vector mode with a shared row: (base last index, V); names that depend on the lane j.
        self.contiguous: tuple[str, int] | None = None
        self.tainted: set[str] = set()
        self.shifted: dict[str, tuple[str, int]] = {}  # index temporaries that are "dl + c"

    # -- statements -------------------------------------------------------------------------

    def emit(self, line: str) -> None:
        self.lines.append("  " * self.indent + line)

    def fresh(self, prefix: str = "t") -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def let(self, ty: str, expr: str, prefix: str = "t") -> str:
        if _is_simple(expr):
            return expr
        name = self.fresh(prefix)
        self.emit(f"const {ty} {name} = {expr};")
        if self.tainted and self.depends_on_lane(expr):
            self.tainted.add(name)
            m = _SHIFTED.match(expr)
            if m:  # name = root + constant (a slice, split or concat offset on the last axis)
                var, sign, c = (m.group(1), m.group(2), m.group(3)) if m.group(1) else \
                    (m.group(5), "+", m.group(4))
                root, base = self.shifted.get(var, (var, 0))
                self.shifted[name] = (root, base + (int(c) if sign == "+" else -int(c)))
        return name

    def depends_on_lane(self, expr: str) -> bool:
        """Whether ``expr`` reads a name that varies across the V elements of a vector thread."""
        return any(t in self.tainted for t in _NAME.findall(expr))

    def ix(self, expr: str) -> str:
        """An index expression bound to a temporary when it is not trivial."""
        return self.let(self.idx_t, expr, "i")

    @contextmanager
    def block(self, head: str | None = None) -> Iterator[None]:
        """A C block (``head {`` ... ``}``) with its own value cache."""
        if head is not None:
            self.emit(head + " {")
            self.indent += 1
        self.scopes.append({})
        try:
            yield
        finally:
            self.scopes.pop()
            if head is not None:
                self.indent -= 1
                self.emit("}")

    def _cached(self, key) -> str | None:
        for s in reversed(self.scopes):
            if key in s:
                return s[key]
        return None

    # -- index arithmetic -------------------------------------------------------------------

    def unravel(self, flat: str, shape: tuple[int, ...], prefix: str = "d") -> Idx:
        """The multi-index of ``flat`` in ``shape`` (row-major)."""
        out, st = [], strides(shape)
        for k, (d, s) in enumerate(zip(shape, st)):
            if d == 1:
                out.append("0")
                continue
            e = flat if s == 1 else f"({flat} / {s})"
            if k > 0 and numel(shape[:k]) > 1:
                e = f"({e} % {d})"
            out.append(self.let(self.idx_t, e, prefix))
        return tuple(out)

    def ravel(self, idx: Idx, shape: tuple[int, ...]) -> str:
        """The flat offset of ``idx`` in a contiguous tensor of ``shape``."""
        terms = []
        for i, d, s in zip(idx, shape, strides(shape)):
            if d == 1 or i == "0":
                continue
            terms.append(i if s == 1 else f"{i} * {s}")
        return " + ".join(terms) if terms else "0"

    def reshape_index(self, idx: Idx, src: tuple[int, ...], dst: tuple[int, ...]) -> Idx:
        """Index into ``src`` of element ``idx`` of its reshape to ``dst``."""
        if [d for d in src if d != 1] == [d for d in dst if d != 1]:
            it = iter(i for i, d in zip(idx, dst) if d != 1)
            return tuple("0" if d == 1 else next(it) for d in src)
        return self.unravel(self.ix(self.ravel(idx, dst)), src)

    # -- values -----------------------------------------------------------------------------

    def value(self, v: Value, idx: Idx) -> str:
        """A C expression (usually a temporary) of ``v`` at ``idx``, in ``v``'s compute type."""
        key = (v, idx)
        hit = self._cached(key)
        if hit is not None:
            return hit
        out = self.bound[v](idx) if v in self.bound else None
        if out is not None:
            pass
        elif v in self.arg_ptr:
            out = self._load(v, idx)
        else:
            op = v.owner
            out = self._op_value(op, v.index, idx)
        self.scopes[-1][key] = out
        return out

    def _load(self, v: Value, idx: Idx) -> str:
        if self.vector_index is not None and idx == self.vector_index and self.vector_name is not None:
            name = self.vector_name(v)
            if name is not None:
                self.vector_loads[v] = name
                return self.let(ctype(v.type.dtype), load(v.type.dtype, name), "x")
        ptr = self.arg_ptr[v]
        shape = shape_of(v)
        root, shift = self.shifted.get(idx[-1], (idx[-1], 0)) if idx else ("", 0)
        if self.contiguous is not None and root == "dl" and shift % self.contiguous[1] == 0 \
                and shape[-1] % self.contiguous[1] == 0 and v.type.dtype.itemsize * self.contiguous[1] <= 32 \
                and not any(self.depends_on_lane(i) for i in idx[:-1]):
            # The V lanes read V consecutive, V-aligned elements of one row: all inside the
            # row or (in a guarded branch no lane takes) all outside it.
            first, width = self.contiguous
            last = first if not shift else self.ix(f"{first} + {shift}" if shift > 0
                                                   else f"{first} - {-shift}")
            base = self.ix(self.ravel((*idx[:-1], last), shape))
            t = f"zk_vec<{storage(v.type.dtype, self.kop)}, {width}>"
            vec = self.fresh("vx")
            self.emit(f"const {t} {vec} = *reinterpret_cast<const {t}*>({ptr} + {base});")
            return self.let(ctype(v.type.dtype), load(v.type.dtype, f"{vec}.v[j]"), "x")
        off = self.ix(self.ravel(idx, shape))
        return self.let(ctype(v.type.dtype), load(v.type.dtype, f"{ptr}[{off}]"), "x")

    def _op_value(self, op: Operation, k: int, idx: Idx) -> str:
        handler = INDEXERS.get(op.name)
        if handler is not None:
            return handler(self, op, k, idx)
        if op.has_trait(ELEMENTWISE):
            return self._elementwise(op, idx)
        raise kernel_error(self.kop, op, f"the CUDA target cannot generate '{op.name}' inside a "
                                         f"'{self.kop.attr('kind')}' kernel")

    def _elementwise(self, op: Operation, idx: Idx) -> str:
        res = op.results[0]
        out_shape = shape_of(res)
        args = [self.value(a, broadcast_index(idx, shape_of(a), out_shape)) for a in op.operands]
        src = op.operands[1] if op.name == "zt.where" else op.operands[0]
        ct, rct = ctype(src.type.dtype), ctype(res.type.dtype)
        try:
            expr = scalar_expr(op.name, args, dict(op.attributes), ct)
        except UnsupportedOp as e:
            raise kernel_error(self.kop, op, f"{e} (dtype {src.type.dtype.name})") from None
        if op.name in BOOL_RESULT or rct != ct:
            expr = f"({rct})({expr})"
        return self.let(rct, expr, "v")

    def operand_at(self, op: Operation, i: int, idx: Idx) -> str:
        return self.value(op.operands[i], idx)


# Index maps of injective ops (and generated values), by op name: indexmaps.py fills it.
INDEXERS: dict[str, Callable[[Emitter, Operation, int, Idx], str]] = {}

from zenith.codegen.cuda import indexmaps  # noqa: E402, F401  (fills INDEXERS)
