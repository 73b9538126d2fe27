"""Scaled dot-product attention from its decomposition (as torch's ONNX export writes it).

    s = matmul(q * a, transpose(k) * b) * c        (a, b, c scalar constants, each optional)
    p = softmax(s [+ mask], axis=-1)
    p = where(isnan(p), 0, p)                      (optional clean-up of fully masked rows)
    y = matmul(p, v)
      -> zt.attention(q, k, v [, mask]) {scale = a * b * c}

on 4-D [batch, heads, seq, dim] operands, or 3-D ones (unsqueezed to one head, free
views). ``k`` is recovered from ``transpose(k)`` by composing permutations (a
transpose of a transpose becomes one, or none). The mask:

- a constant equal to the causal bias (0 on and below the diagonal, -inf above,
  top-left or bottom-right aligned) becomes ``causal = true`` and no mask;
- ``where(m, 0, -inf)`` becomes the bool mask ``m``; any other mask of q's dtype is
  added as it is.

``zt.attention`` gives 0 for a query row that every key masks, where the plain
decomposition gives NaN; so a mask that may mask a whole row (anything but a
constant without such a row) is accepted only with the ``isnan`` clean-up, which
makes the two agree.
"""

from __future__ import annotations

import numpy as np

from zenith.dialects.zt.attention import position_bias
from zenith.ir.core import Operation, Value
from zenith.ir.diagnostics import ZenithError
from zenith.ir.rewrite import PatternRewriter, constant_value, pattern
from zenith.passes.fuse.patterns.match import factors, is_float, op_of, scalar


def _strip_scale(v: Value) -> tuple[Value, float]:
    vals, k = factors(v)
    return (vals[0], k) if len(vals) == 1 else (v, 1.0)


def _scores(s: Value) -> tuple[Value, Value, float] | None:
    """(q, k^T, scale) when ``s`` is a scaled ``matmul(q, k^T)``."""
    mm_value, c = _strip_scale(s)
    mm = op_of(mm_value, "zt.matmul")
    if mm is None:
        return None
    q, a = _strip_scale(mm.operand(0))
    kt, b = _strip_scale(mm.operand(1))
    return q, kt, a * b * c


def _swap_last(rank: int) -> tuple[int, ...]:
    return tuple(range(rank - 2)) + (rank - 1, rank - 2)


def _untranspose(kt: Value, rewriter: PatternRewriter, made: list[Value]) -> Value:
    """``k`` with its last two axes swapped back, composing with a transpose that made ``kt``."""
    swap = _swap_last(kt.type.rank)
    t = op_of(kt, "zt.transpose")
    if t is None:
        v = rewriter.op("zt.transpose", kt, perm=swap)
        made.append(v)
        return v
    x = t.operand(0)
    perm = tuple(t.attr("perm") or reversed(range(x.type.rank)))
    composed = tuple(perm[s] for s in swap)
    if composed == tuple(range(len(composed))):
        return x
    v = rewriter.op("zt.transpose", x, perm=composed)
    made.append(v)
    return v


def _causal_alignment(arr: np.ndarray, q_len, kv_len) -> str | None:
    """``upper_left``/``lower_right`` when ``arr`` is exactly that causal mask (bool or float)."""
    if arr.ndim < 2 or arr.shape[-2:] != (q_len, kv_len) or any(d != 1 for d in arr.shape[:-2]):
        return None
    m = arr.reshape(q_len, kv_len)
    for align in ("upper_left", "lower_right"):
        bias = position_bias(q_len, kv_len, {"causal": True, "left_window_size": -1,
                                             "right_window_size": -1, "causal_align": align}, np.float64)
        want = bias == 0 if m.dtype == np.bool_ else bias
        if np.array_equal(m.astype(want.dtype), want):
            return align
    return None


def _bool_mask(mask: Value) -> Value | None:
    """``m`` when ``mask`` is ``where(m, 0, -inf)``."""
    w = op_of(mask, "zt.where")
    if w is None or scalar(w.operand(1)) != 0.0 or scalar(w.operand(2)) != -np.inf:
        return None
    return w.operand(0)


def _undo(rewriter: PatternRewriter, made: list[Value]) -> bool:
    for v in reversed(made):
        if not v.has_uses and v.op.parent is not None:
            rewriter.erase_op(v.op)
    return False


@pattern("zt.matmul", benefit=3, name="attention")
def attention(op: Operation, rewriter: PatternRewriter) -> bool:
    probs, v = op.operands
    rank = v.type.rank
    if not is_float(op.result) or rank not in (3, 4) or probs.type.rank != rank:
        return False
    cleaned = False
    w = op_of(probs, "zt.where")
    if w is not None:
        nan = op_of(w.operand(0), "zt.isnan")
        if nan is None or nan.operand(0) is not w.operand(2) or scalar(w.operand(1)) != 0.0:
            return False
        probs, cleaned = w.operand(2), True
    sm = op_of(probs, "zt.softmax")
    if sm is None or sm.attr("axis") % rank != rank - 1:
        return False
    scores, mask = sm.operand(0), None
    parts = _scores(scores)
    add = op_of(scores, "zt.add")
    if parts is None and add is not None:
        for i in (0, 1):
            parts = _scores(add.operand(i))
            if parts is not None:
                mask = add.operand(1 - i)
                break
    if parts is None:
        return False
    q, kt, scale = parts
    if q.type.rank != rank or kt.type.rank != rank:
        return False
    attrs: dict = {"scale": float(scale)}
    if mask is not None:
        if mask.type.dtype is not q.type.dtype:
            return False
        arr = constant_value(mask)
        align = _causal_alignment(arr, q.type.shape[-2], kt.type.shape[-1]) if arr is not None else None
        if align is not None:
            attrs.update(causal=True, causal_align=align)
            mask = None
        else:
            if not cleaned and (arr is None or np.any(np.all(np.isneginf(arr), axis=-1))):
                return False
            mask = _bool_mask(mask) or mask
    made: list[Value] = []
    k = _untranspose(kt, rewriter, made)
    operands = [q, k, v] + ([mask] if mask is not None else [])
    if rank == 4:
        new = rewriter.create_like(op, "zt.attention", operands, attrs)
        if new is None:
            return _undo(rewriter, made)
        rewriter.replace_op(op, new)
        return True
    # 3-D: one head, through free views
    for i, x in enumerate(operands):
        if i < 3 or x.type.rank == 3:
            operands[i] = rewriter.op("zt.unsqueeze", x, axes=(1,))
            made.append(operands[i])
    try:
        att = rewriter.op("zt.attention", *operands, **attrs)
    except ZenithError:  # the type rule rejects these operands
        return _undo(rewriter, made)
    out = rewriter.op("zt.squeeze", att, axes=(1,))
    made += [att, out]
    if out.type != op.result.type:
        return _undo(rewriter, made)
    rewriter.replace_op(op, [out])
    return True


PATTERNS = [attention]
