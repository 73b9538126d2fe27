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

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from zenith.codegen.cuda.common import ctype, kernel_error, load, numel, round_to, strides
from zenith.codegen.scalar import BOOL_RESULT, UnsupportedOp, scalar_expr
from zenith.dialects.zt.slicing import pad_params, slice_params, slice_range, split_sizes
from zenith.ir.core import Operation, Value
from zenith.ir.opdef import ELEMENTWISE

Idx = tuple[str, ...]
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
        self.bound: dict[Value, Callable[[Idx], str]] = {}
        # Vector mode: a load of an argument at exactly this index becomes this expression.
        self.vector_index: Idx | None = None
        self.vector_loads: dict[Value, str] = {}
        self.vector_name: Callable[[Value], str] | None = None

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
        return name

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
        if v in self.bound:
            out = self.bound[v](idx)
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
        off = self.ix(self.ravel(idx, shape_of(v)))
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


# -- injective ops: index maps ----------------------------------------------------------------


def _cast(e: Emitter, op: Operation, k: int, idx: Idx) -> str:
    x, res = op.operands[0], op.results[0]
    dt = res.type.dtype
    if x.type.dtype.name.startswith("f8") or dt.name.startswith("f8"):
        raise kernel_error(e.kop, op, f"cast {x.type.dtype.name} -> {dt.name} has no CUDA code")
    v = e.value(x, idx)
    rct = ctype(dt)
    if dt.is_bool:
        return e.let(rct, f"(uint8_t)(({v}) != 0)", "v")
    return e.let(rct, round_to(dt, f"({rct})({v})"), "v")


def _view(e: Emitter, op: Operation, k: int, idx: Idx) -> str:
    x = op.operands[0]
    return e.value(x, e.reshape_index(idx, shape_of(x), shape_of(op.results[0])))


def _transpose(e: Emitter, op: Operation, k: int, idx: Idx) -> str:
    x = op.operands[0]
    r = len(idx)
    perm = op.attr("perm") or tuple(range(r - 1, -1, -1))
    src = ["0"] * r
    for i, p in enumerate(perm):
        src[p % r] = idx[i]
    return e.value(x, tuple(src))


def _expand(e: Emitter, op: Operation, k: int, idx: Idx) -> str:
    x = op.operands[0]
    return e.value(x, broadcast_index(idx, shape_of(x), shape_of(op.results[0])))


def _slice(e: Emitter, op: Operation, k: int, idx: Idx) -> str:
    x = op.operands[0]
    shape = shape_of(x)
    src = list(idx)
    params = slice_params(len(shape), op.attr("starts"), op.attr("ends"), op.attr("axes"), op.attr("steps"))
    for a, s, end, step in params:
        first, _n = slice_range(shape[a], s, end, step)
        if step == 1 and first == 0:
            continue
        term = "0" if idx[a] == "0" else idx[a] if step == 1 else f"{idx[a]} * ({step})"
        src[a] = str(first) if term == "0" else e.ix(f"{first} + {term}" if first else term)
    return e.value(x, tuple(src))


def _pad_source(i: str, n: int, mode: str) -> str:
    """Index into an (already cropped) axis of ``n`` for position ``i`` in [-before, n + after)."""
    if mode == "edge":
        return f"(({i}) < 0 ? 0 : ({i}) > {n - 1} ? {n - 1} : ({i}))"
    if mode == "wrap":
        return f"((({i}) % {n} + {n}) % {n})"
    if n == 1:
        return "0"
    p = 2 * (n - 1)
    j = f"((({i}) % {p} + {p}) % {p})"
    return f"({j} < {n} ? {j} : {p} - {j})"


def _pad(e: Emitter, op: Operation, k: int, idx: Idx) -> str:
    x, res = op.operands[0], op.results[0]
    shape, mode = shape_of(x), op.attr("mode")
    src, conds = list(idx), []
    for a, b, end in pad_params(len(shape), op.attr("pads"), op.attr("axes"), mode):
        crop_b = max(-b, 0)
        kept = shape[a] - crop_b - max(-end, 0)
        j = e.ix(f"{idx[a]} - {max(b, 0)}") if b > 0 else idx[a]
        if mode == "constant":
            if b > 0 or end > 0:
                conds.append(f"{j} >= 0 && {j} < {kept}" if b > 0 else f"{j} < {kept}")
        elif b > 0 or end > 0:
            j = e.ix(_pad_source(j, kept, mode))
        src[a] = e.ix(f"{j} + {crop_b}") if crop_b else j
    if not conds:
        return e.value(x, tuple(src))
    rct = ctype(res.type.dtype)
    name = e.fresh("p")
    fill = op.attr("value")
    lit = repr(float(fill)) + ("f" if rct == "float" else "") if res.type.dtype.is_float else str(int(fill))
    e.emit(f"{rct} {name} = ({rct}){lit};")
    with e.block(f"if ({' && '.join(conds)})"):
        e.emit(f"{name} = {e.value(x, tuple(src))};")
    return name


def _concat(e: Emitter, op: Operation, k: int, idx: Idx) -> str:
    res = op.results[0]
    r = len(idx)
    axis = op.attr("axis") % r
    rct = ctype(res.type.dtype)
    name = e.fresh("c")
    e.emit(f"{rct} {name};")
    parts = [(x, shape_of(x)[axis]) for x in op.operands if shape_of(x)[axis] > 0]
    off = 0
    for n, (x, size) in enumerate(parts):
        last = n == len(parts) - 1
        head = "else" if last else f"{'else ' if n else ''}if ({idx[axis]} < {off + size})"
        if n == 0 and last:
            head = ""
        with e.block(head if head else None):
            src = list(idx)
            if off:
                src[axis] = e.ix(f"{idx[axis]} - {off}")
            e.emit(f"{name} = {e.value(x, tuple(src))};")
        off += size
    return name


def _split(e: Emitter, op: Operation, k: int, idx: Idx) -> str:
    x = op.operands[0]
    r = len(idx)
    axis = op.attr("axis") % r
    sizes = split_sizes(shape_of(x)[axis], op.attr("sizes"), op.attr("num_outputs"))
    off = sum(sizes[:k])
    src = list(idx)
    if off:
        src[axis] = e.ix(f"{idx[axis]} + {off}")
    return e.value(x, tuple(src))


def _index_value(e: Emitter, ind: Value, idx: Idx, n: int) -> str:
    j = e.value(ind, idx)
    return e.ix(f"(({e.idx_t})({j}) < 0 ? ({e.idx_t})({j}) + {n} : ({e.idx_t})({j}))")


def _gather(e: Emitter, op: Operation, k: int, idx: Idx) -> str:
    x, ind = op.operands
    shape = shape_of(x)
    axis = op.attr("axis") % len(shape)
    ri = len(shape_of(ind))
    j = _index_value(e, ind, idx[axis:axis + ri], shape[axis])
    return e.value(x, idx[:axis] + (j,) + idx[axis + ri:])


def _gather_elements(e: Emitter, op: Operation, k: int, idx: Idx) -> str:
    x, ind = op.operands
    shape = shape_of(x)
    axis = op.attr("axis") % len(shape)
    j = _index_value(e, ind, idx, shape[axis])
    return e.value(x, idx[:axis] + (j,) + idx[axis + 1:])


def _tile(e: Emitter, op: Operation, k: int, idx: Idx) -> str:
    x = op.operands[0]
    src = tuple(i if rep == 1 or i == "0" else e.ix(f"{i} % {d}")
                for i, d, rep in zip(idx, shape_of(x), op.attr("repeats")))
    return e.value(x, src)


def _trilu(e: Emitter, op: Operation, k: int, idx: Idx) -> str:
    x, res = op.operands[0], op.results[0]
    r, c = idx[-2], idx[-1]
    keep = f"({c}) - ({r}) {'>=' if op.attr('upper') else '<='} {op.attr('k')}"
    rct = ctype(res.type.dtype)
    name = e.fresh("u")
    e.emit(f"{rct} {name} = ({rct})0;")
    with e.block(f"if ({keep})"):
        e.emit(f"{name} = {e.value(x, idx)};")
    return name


INDEXERS: dict[str, Callable[[Emitter, Operation, int, Idx], str]] = {
    "zt.cast": _cast, "zt.transpose": _transpose, "zt.expand": _expand, "zt.slice": _slice,
    "zt.pad": _pad, "zt.concat": _concat, "zt.split": _split, "zt.gather": _gather,
    "zt.gather_elements": _gather_elements, "zt.tile": _tile, "zt.trilu": _trilu,
    **{name: _view for name in VIEWS},
}
