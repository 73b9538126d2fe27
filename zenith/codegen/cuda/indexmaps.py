"""Index maps of the injective ops (and of generated values: fill, range, eye_like, one_hot).

Each function gives the value of ``op``'s result ``k`` at index ``idx`` by
evaluating its operand(s) at a derived index (see emit.py); ``INDEXERS`` maps op
names to them.
"""

from __future__ import annotations

import numpy as np

from zenith.codegen.cuda.common import ctype, kernel_error, round_to
from zenith.codegen.cuda.emit import INDEXERS, VIEWS, Emitter, Idx, broadcast_index, shape_of
from zenith.dialects.zt.slicing import pad_params, slice_params, slice_range, split_sizes
from zenith.ir.core import Operation, Value


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


def _lit(dt, value: float) -> str:
    """A C literal of ``value`` in ``dt``'s compute type."""
    ct = ctype(dt)
    if dt.is_float:
        return f"({ct}){float(value)!r}" if ct == "double" else f"{float(value)!r}f"
    return f"({ct}){int(value)}" if dt.kind != "uint" else f"({ct}){int(value)}ULL"


def _fill(e: Emitter, op: Operation, k: int, idx: Idx) -> str:
    return _lit(op.results[0].type.dtype, op.attr("value"))


def _range(e: Emitter, op: Operation, k: int, idx: Idx) -> str:
    dt = op.results[0].type.dtype
    ct = ctype(dt)
    if dt.is_int:
        expr = f"({ct})({int(op.attr('start'))}LL + (long long)({idx[0]}) * {int(op.attr('delta'))}LL)"
    else:  # as the reference: start and delta rounded to the dtype, computed in f64, rounded once
        s, d = (float(np.asarray(op.attr(a)).astype(dt.np_dtype)) for a in ("start", "delta"))
        expr = round_to(dt, f"({ct})({s!r} + (double)({idx[0]}) * {d!r})")
    return e.let(ct, expr, "v")


def _eye_like(e: Emitter, op: Operation, k: int, idx: Idx) -> str:
    ct = ctype(op.results[0].type.dtype)
    return e.let(ct, f"({ct})((({idx[1]}) - ({idx[0]})) == {int(op.attr('k'))})", "v")


def _one_hot(e: Emitter, op: Operation, k: int, idx: Idx) -> str:
    ind, vals = op.operands
    depth = int(op.attr("depth"))
    axis = op.attr("axis") % len(idx)
    j = e.value(ind, idx[:axis] + idx[axis + 1:])
    h = e.ix(f"(long long)({j})")
    h = e.ix(f"({h} < 0 ? {h} + {depth} : {h})")
    on, off = e.value(vals, ("1",)), e.value(vals, ("0",))
    return e.let(ctype(op.results[0].type.dtype), f"({h} == {idx[axis]}) ? {on} : {off}", "v")


def _depth_to_space(e: Emitter, op: Operation, k: int, idx: Idx) -> str:
    x = op.operands[0]
    b = int(op.attr("blocksize"))
    cp = shape_of(op.results[0])[1]
    n, c, y, xx = idx
    i, j = e.ix(f"{y} % {b}"), e.ix(f"{xx} % {b}")
    h, w = e.ix(f"{y} / {b}"), e.ix(f"{xx} / {b}")
    ch = f"({i} * {b} + {j}) * {cp} + {c}" if op.attr("mode") == "DCR" else f"{c} * {b * b} + {i} * {b} + {j}"
    return e.value(x, (n, e.ix(ch), h, w))


def _space_to_depth(e: Emitter, op: Operation, k: int, idx: Idx) -> str:
    x = op.operands[0]
    b = int(op.attr("blocksize"))
    c_in = shape_of(x)[1]
    n, oc, h, w = idx
    c, t = e.ix(f"{oc} % {c_in}"), e.ix(f"{oc} / {c_in}")
    return e.value(x, (n, c, e.ix(f"{h} * {b} + {t} / {b}"), e.ix(f"{w} * {b} + {t} % {b}")))


def _reverse_sequence(e: Emitter, op: Operation, k: int, idx: Idx) -> str:
    x, lens = op.operands
    ba, ta = op.attr("batch_axis"), op.attr("time_axis")
    n = e.ix(f"(long long)({e.value(lens, (idx[ba],))})")
    src = list(idx)
    src[ta] = e.ix(f"({idx[ta]} < {n} ? {n} - 1 - {idx[ta]} : {idx[ta]})")
    return e.value(x, tuple(src))


def _gather_nd(e: Emitter, op: Operation, k: int, idx: Idx) -> str:
    x, ind = op.operands
    xs, ish = shape_of(x), shape_of(ind)
    b, depth = int(op.attr("batch_dims")), ish[-1]
    lead = idx[:len(ish) - 1]
    comps = tuple(_index_value(e, ind, (*lead, str(m)), xs[b + m]) for m in range(depth))
    return e.value(x, idx[:b] + comps + idx[len(ish) - 1:])


INDEXERS.update({
    "zt.fill": _fill, "zt.range": _range, "zt.eye_like": _eye_like, "zt.one_hot": _one_hot,
    "zt.depth_to_space": _depth_to_space, "zt.space_to_depth": _space_to_depth,
    "zt.reverse_sequence": _reverse_sequence, "zt.gather_nd": _gather_nd,
    "zt.cast": _cast, "zt.transpose": _transpose, "zt.expand": _expand, "zt.slice": _slice,
    "zt.pad": _pad, "zt.concat": _concat, "zt.split": _split, "zt.gather": _gather,
    "zt.gather_elements": _gather_elements, "zt.tile": _tile, "zt.trilu": _trilu,
    **{name: _view for name in VIEWS},
})
