"""Converters of control flow: If, Loop and Scan (as a zt.loop over slices).

Subgraphs become regions; values of the enclosing graphs stay visible inside.
An If with a constant condition is inlined. Loop-carried values whose shape
changes between iterations get the generalized type (differing dims unknown).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx

from zenith.frontend.onnx.context import NeedsStaticInput, NodeContext, OnnxValue
from zenith.frontend.onnx.registry import converter
from zenith.ir.builder import Builder
from zenith.ir.core import Region, Value
from zenith.ir.diagnostics import ZenithError
from zenith.ir.dtypes import boolean, i64
from zenith.ir.types import TensorType

INT64_MAX = np.iinfo(np.int64).max


def join_types(a: TensorType, b: TensorType, ctx: NodeContext, what: str) -> TensorType:
    """The most precise type both ``a`` and ``b`` have (differing dims become unknown)."""
    if a.dtype is not b.dtype or a.rank != b.rank:
        ctx.fail(f"{what}: {a} and {b} differ in dtype or rank")
    return a.with_shape(tuple(x if x == y else None for x, y in zip(a.shape, b.shape)))


def tensor_outputs(ctx: NodeContext, outs: Sequence[OnnxValue], what: str) -> list[Value]:
    for v in outs:
        if not isinstance(v, Value):
            ctx.fail(f"{what} produces a {type(v).__name__}; only tensors can leave a "
                     "subgraph that is not inlined")
    return list(outs)  # type: ignore[arg-type]


def inline_graph(ctx: NodeContext, graph: onnx.GraphProto, inputs: Sequence[OnnxValue] = ()
                 ) -> list[OnnxValue]:
    """Convert a subgraph directly into the current block, its inputs bound to ``inputs``."""
    from zenith.frontend.onnx.importer import GraphConverter

    if len(inputs) != len(graph.input):
        ctx.fail(f"subgraph '{graph.name}' takes {len(graph.input)} inputs, {len(inputs)} given")
    sub = GraphConverter(ctx.graph.importer, ctx.graph, ctx.graph.block)
    for vi, v in zip(graph.input, inputs):
        sub.define(vi.name, v)
    sub.add_initializers(graph)
    sub.run_nodes(graph.node)
    return [sub.lookup(vi.name, ctx.loc) for vi in graph.output]


def _region(ctx: NodeContext, graph: onnx.GraphProto, arg_types: Sequence[TensorType], what: str
            ) -> tuple[Region, list[Value]]:
    region, outs = ctx.subgraph(graph, arg_types)
    values = tensor_outputs(ctx, outs, what)
    Builder.at_end(region.blocks[0]).create("zt.yield", values, loc=ctx.loc)
    return region, values


@converter("If", since=1)
def _if(ctx: NodeContext) -> list[OnnxValue]:
    then_g, else_g = ctx.attr("then_branch"), ctx.attr("else_branch")
    c = ctx.const(0)
    if c is not None:
        return inline_graph(ctx, then_g if bool(np.asarray(c).reshape(-1)[0]) else else_g)
    try:
        then_r, then_v = _region(ctx, then_g, [], "then_branch")
        else_r, else_v = _region(ctx, else_g, [], "else_branch")
        if len(then_v) != len(else_v):
            ctx.fail(f"branches yield {len(then_v)} and {len(else_v)} values")
        types = [join_types(a.type, b.type, ctx, f"output #{i}")
                 for i, (a, b) in enumerate(zip(then_v, else_v))]
    except ZenithError as e:
        # Branches that only convert, or only agree, for some inputs (e.g. by rank) are
        # fine once the condition is known: ask for the model inputs it is computed from.
        fed = ctx.graph.importer.feeding_inputs(ctx.input(0))
        names = fed[0] if fed is not None else None
        if names and not isinstance(e, NeedsStaticInput):
            raise NeedsStaticInput(f"If: {e.message}; the condition is computed from model "
                                   f"input(s) {names}", names, ctx.loc) from e
        raise
    op = ctx.b.create("zt.if", [ctx.input(0)], result_types=types, regions=[then_r, else_r],
                      loc=ctx.loc)
    return list(op.results)


def build_loop(ctx: NodeContext, body: onnx.GraphProto, trip: Value, cond: Value,
               init: list[Value]) -> list[Value]:
    """A zt.loop running ``body`` (ONNX Loop body signature) from ``init``."""
    scalar_i, scalar_b = TensorType(i64, ()), TensorType(boolean, ())
    carried = [v.type for v in init]
    for _ in range(3):
        region, ys = _region(ctx, body, [scalar_i, scalar_b, *carried], "the loop body")
        n = len(init)
        if len(ys) < n + 1:
            ctx.fail(f"the body yields {len(ys)} values for {n} carried ones")
        nxt = [join_types(t, y.type, ctx, f"carried value #{i}")
               for i, (t, y) in enumerate(zip(carried, ys[1:1 + n]))]
        if nxt == carried:
            break
        for op in list(region.walk()):
            op.drop_operands()  # discard this attempt: release its uses of outer values
        carried = nxt
    else:
        ctx.fail("loop-carried types do not settle")
    result_types = carried + [TensorType(y.type.dtype, (None,) + y.type.shape)
                              for y in ys[1 + n:]]
    if ys[0].type.shape != ():
        cond_y = ys[0]
        b = Builder.before_op(region.blocks[0].last)
        ys[0] = b.op("zt.reshape", cond_y, shape=())
        region.blocks[0].last.set_operand(0, ys[0])
    trip = ctx.op("zt.reshape", trip, shape=()) if trip.type.shape != () else trip
    cond = ctx.op("zt.reshape", cond, shape=()) if cond.type.shape != () else cond
    cast_init = [ctx.cast(v, t.dtype) for v, t in zip(init, carried)]
    op = ctx.b.create("zt.loop", [trip, cond, *cast_init], result_types=result_types,
                      regions=[region], loc=ctx.loc)
    return list(op.results)


MAX_UNROLL = 4096


@converter("Loop", since=1)
def _loop(ctx: NodeContext) -> list[OnnxValue]:
    init = [ctx.any_input(i) for i in range(2, len(ctx.inputs))]
    if any(not isinstance(v, Value) for v in init):
        return unroll_loop(ctx, init)
    trip = ctx.input(0) if ctx.has_input(0) else ctx.constant(np.array(INT64_MAX, np.int64))
    cond = ctx.input(1) if ctx.has_input(1) else ctx.constant(np.array(True))
    return build_loop(ctx, ctx.attr("body"), trip, cond, init)  # type: ignore[arg-type]


def unroll_loop(ctx: NodeContext, init: list[OnnxValue]) -> list[OnnxValue]:
    """A loop carrying sequences or optionals, unrolled at import time: its trip count
    and conditions must be known then."""
    trip = int(np.asarray(ctx.static(0, "the trip count")).reshape(-1)[0]) \
        if ctx.has_input(0) else INT64_MAX
    go = bool(np.asarray(ctx.static(1, "the condition")).reshape(-1)[0]) \
        if ctx.has_input(1) else True
    body = ctx.attr("body")
    vals, scans, i = list(init), None, 0
    n = len(init)
    while i < trip and go:
        if i >= MAX_UNROLL:
            ctx.fail(f"a loop carrying sequences runs over {MAX_UNROLL} iterations")
        outs = inline_graph(ctx, body, [ctx.constant(np.array(i, np.int64)),
                                        ctx.constant(np.array(go)), *vals])
        c = ctx.graph.importer.const_of(outs[0])
        if c is None:
            ctx.fail("a loop carrying sequences needs a condition known at import time")
        go = bool(np.asarray(c).reshape(-1)[0])
        vals = outs[1:1 + n]
        steps = tensor_outputs(ctx, outs[1 + n:], "a scan output")
        scans = [[] for _ in steps] if scans is None else scans
        for k, v in enumerate(steps):
            scans[k].append(ctx.op("zt.unsqueeze", v, axes=(0,)))
        i += 1
    if scans is None and len(body.output) > n + 1:
        ctx.fail("a loop with scan outputs that runs no iteration is not supported here")
    stacked = [parts[0] if len(parts) == 1 else ctx.op("zt.concat", *parts, axis=0)
               for parts in (scans or [])]
    return vals + stacked


@converter("Scan", since=9)
def _scan(ctx: NodeContext) -> list[Value]:
    """Scan as a loop over the scan axis: the body reads slice i (or T-1-i) of each input."""
    n_in = int(ctx.attr("num_scan_inputs"))
    ins = [ctx.input(i) for i in range(len(ctx.inputs))]
    states, scans = ins[:len(ins) - n_in], ins[len(ins) - n_in:]
    in_axes = list(ctx.attr("scan_input_axes", [0] * n_in))
    in_dirs = list(ctx.attr("scan_input_directions", [0] * n_in))
    in_axes = [a + s.type.rank if a < 0 else a for a, s in zip(in_axes, scans)]
    lengths = {s.type.shape[a] for s, a in zip(scans, in_axes)}
    if len(lengths) != 1 or not isinstance(next(iter(lengths)), int):
        ctx.fail(f"scan inputs need one static length along their scan axes, got {lengths}")
    steps = next(iter(lengths))
    body = ctx.attr("body")
    graph = _scan_as_loop_body(ctx, body, len(states), scans, in_axes, in_dirs, steps)
    outs = build_loop(ctx, graph, ctx.constant(np.array(steps, np.int64)),
                      ctx.constant(np.array(True)), states)
    results = outs[:len(states)]
    out_axes = list(ctx.attr("scan_output_axes", [0] * (len(outs) - len(states))))
    out_dirs = list(ctx.attr("scan_output_directions", [0] * len(out_axes)))
    for y, axis, rev in zip(outs[len(states):], out_axes, out_dirs):
        y = ctx.op("zt.reshape", y, shape=(steps,) + tuple(
            d if isinstance(d, int) else 0 for d in y.type.shape[1:])) \
            if y.type.shape[0] is None else y
        if rev:
            y = ctx.op("zt.slice", y, starts=(-1,), ends=(-INT64_MAX,), axes=(0,), steps=(-1,))
        axis = axis + y.type.rank if axis < 0 else axis
        if axis:
            perm = list(range(1, axis + 1)) + [0] + list(range(axis + 1, y.type.rank))
            y = ctx.op("zt.transpose", y, perm=tuple(perm))
        results.append(y)
    return results


def _scan_as_loop_body(ctx: NodeContext, body: onnx.GraphProto, n_states: int,
                       scans: list[Value], axes: list[int], dirs: list[int], steps: int
                       ) -> onnx.GraphProto:
    """Rewrite a Scan body into a Loop body whose extra nodes slice the scan inputs.

    The scan inputs are read from the enclosing scope through generated names."""
    g = onnx.GraphProto()
    g.CopyFrom(body)
    prefix = f"__scan_{id(g)}"
    state_vis = list(g.input[:n_states])
    slice_vis = list(g.input[n_states:])
    del g.input[:]
    it, cond = onnx.helper.make_tensor_value_info(f"{prefix}_i", onnx.TensorProto.INT64, []), \
        onnx.helper.make_tensor_value_info(f"{prefix}_c", onnx.TensorProto.BOOL, [])
    g.input.extend([it, cond, *state_vis])
    nodes = []
    for k, (vi, axis, rev) in enumerate(zip(slice_vis, axes, dirs)):
        src = f"{prefix}_src{k}"
        ctx.graph.define(src, scans[k])
        idx = it.name
        if rev:
            last = f"{prefix}_last{k}"
            nodes.append(onnx.helper.make_node("Constant", [], [last],
                                               value=onnx.numpy_helper.from_array(
                                                   np.array(steps - 1, np.int64))))
            idx = f"{prefix}_rev{k}"
            nodes.append(onnx.helper.make_node("Sub", [last, it.name], [idx]))
        nodes.append(onnx.helper.make_node("Gather", [src, idx], [vi.name], axis=axis))
    body_nodes = list(g.node)
    del g.node[:]
    g.node.extend(nodes + body_nodes)
    outs = list(g.output)
    del g.output[:]
    g.output.extend([onnx.helper.make_tensor_value_info(cond.name, onnx.TensorProto.BOOL, []),
                     *outs])
    return g
