"""Converters of sequence and optional ops.

A sequence whose length is known at import time is a Python list of tensor
values (``SequenceValue``); an optional whose presence is known is an
``OptionalValue``. Their ops become list operations plus ordinary zt ops
(split, concat); ``SequenceMap`` is unrolled over the elements. Positions must
be known at import time.
"""

from __future__ import annotations

import numpy as np

from zenith.frontend.onnx.context import NodeContext, OnnxValue, OptionalValue, SequenceValue
from zenith.frontend.onnx.registry import converter
from zenith.ir.core import Value


def seq_input(ctx: NodeContext, i: int) -> SequenceValue:
    v = ctx.any_input(i)
    if isinstance(v, OptionalValue):
        v = v.value
    if not isinstance(v, SequenceValue):
        ctx.fail(f"input #{i} must be a sequence, got {type(v).__name__}")
    return v


def _position(ctx: NodeContext, i: int, n: int, default: int, insert: bool = False) -> int:
    if not ctx.has_input(i):
        return default
    p = int(np.asarray(ctx.static(i, "the position")).reshape(-1)[0])
    hi = n if insert else n - 1
    if not -n <= p <= hi:
        ctx.fail(f"position {p} is out of range for a sequence of {n}")
    return p + n if p < 0 else p


@converter("SequenceConstruct", since=11)
def _construct(ctx: NodeContext) -> SequenceValue:
    return SequenceValue(ctx.tensor_inputs())


@converter("SequenceEmpty", since=11)
def _empty(ctx: NodeContext) -> SequenceValue:
    return SequenceValue([], ctx.dtype_attr("dtype", 1))


@converter("SequenceAt", since=11)
def _at(ctx: NodeContext) -> Value:
    s = seq_input(ctx, 0)
    return s.items[_position(ctx, 1, len(s.items), 0)]


@converter("SequenceInsert", since=11)
def _insert(ctx: NodeContext) -> SequenceValue:
    s = seq_input(ctx, 0)
    items = list(s.items)
    items.insert(_position(ctx, 2, len(items), len(items), insert=True), ctx.input(1))
    return SequenceValue(items, s.elem_dtype)


@converter("SequenceErase", since=11)
def _erase(ctx: NodeContext) -> SequenceValue:
    s = seq_input(ctx, 0)
    items = list(s.items)
    del items[_position(ctx, 1, len(items), len(items) - 1)]
    return SequenceValue(items, s.dtype)


@converter("SequenceLength", since=11)
def _length(ctx: NodeContext) -> Value:
    return ctx.constant(np.array(len(seq_input(ctx, 0).items), np.int64))


@converter("SplitToSequence", since=11)
def _split_to_sequence(ctx: NodeContext) -> SequenceValue:
    x = ctx.input(0)
    axis = int(ctx.attr("axis", 0))
    rank = x.type.rank
    ax = axis + rank if axis < 0 else axis
    dim = x.type.shape[ax]
    if not isinstance(dim, int):
        ctx.fail(f"the split dim of {x.type} must be static")
    if ctx.has_input(1):
        split = np.asarray(ctx.static(1, "split")).astype(np.int64)
        if split.ndim == 0:
            n = int(split)
            sizes = [n] * (dim // n) + ([dim % n] if dim % n else [])
        else:
            sizes = [int(s) for s in split]
        parts = ctx.op("zt.split", x, axis=ax, sizes=tuple(sizes)) if len(sizes) > 1 else x
        return SequenceValue(list(parts) if isinstance(parts, tuple) else [parts])
    parts = ctx.op("zt.split", x, axis=ax, num_outputs=dim) if dim > 1 else x
    items = list(parts) if isinstance(parts, tuple) else [parts]
    if not ctx.attr("keepdims", 1):
        items = [ctx.op("zt.squeeze", p, axes=(ax,)) for p in items]
    return SequenceValue(items)


@converter("ConcatFromSequence", since=11)
def _concat_from_sequence(ctx: NodeContext) -> Value:
    s = seq_input(ctx, 0)
    if not s.items:
        ctx.fail("cannot concatenate an empty sequence")
    axis = int(ctx.attr("axis"))
    items = s.items
    if ctx.attr("new_axis", 0):
        items = [ctx.op("zt.unsqueeze", v, axes=(axis,)) for v in items]
    return items[0] if len(items) == 1 else ctx.op("zt.concat", *items, axis=axis)


@converter("SequenceMap", since=17)
def _sequence_map(ctx: NodeContext) -> list[SequenceValue]:
    """Unroll the body over the elements (non-sequence inputs are passed to every step)."""
    from zenith.frontend.onnx.control import inline_graph

    ins = [ctx.any_input(i) for i in range(len(ctx.inputs))]
    seqs = [v for v in ins if isinstance(v, SequenceValue)]
    n = len(seqs[0].items) if seqs else 0
    if any(len(s.items) != n for s in seqs):
        ctx.fail("the input sequences differ in length")
    body = ctx.attr("body")
    outs: list[list[Value]] = [[] for _ in body.output]
    for k in range(n):
        step = [v.items[k] if isinstance(v, SequenceValue) else v for v in ins]
        values = inline_graph(ctx, body, step)
        for j, v in enumerate(values):
            outs[j].append(v)
    return [SequenceValue(o) for o in outs]


@converter("Optional", since=15)
def _optional(ctx: NodeContext) -> OptionalValue:
    if ctx.has_input(0):
        return OptionalValue(ctx.any_input(0))
    return OptionalValue(None, ctx.attr("type", None))


@converter("OptionalHasElement", since=15)
def _has_element(ctx: NodeContext) -> Value:
    v = ctx.inputs[0] if ctx.inputs else None
    present = v is not None and not (isinstance(v, OptionalValue) and v.value is None)
    return ctx.constant(np.array(present))


@converter("OptionalGetElement", since=15)
def _get_element(ctx: NodeContext) -> OnnxValue:
    v = ctx.any_input(0)
    if isinstance(v, OptionalValue):
        if v.value is None:
            ctx.fail("the optional is empty")
        return v.value
    return v

