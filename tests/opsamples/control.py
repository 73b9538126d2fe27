"""Samples for structured control flow. The regions are fixed by each sample's
``build`` (so the oracle, a plain Python loop, knows what they compute)."""

from __future__ import annotations

import numpy as np

from tests.opsamples import Arg, Draw, sample
from zenith.ir import DTYPES, Block, Builder, DenseAttr, Region, TensorType

_THEN = np.array([1.5, -2.0], np.float32)
_ELSE = np.array([0.5, 3.0], np.float32)


def _const_region(value: np.ndarray) -> Region:
    block = Block()
    b = Builder.at_end(block)
    b.create("zt.yield", [b.op("zt.constant", value=DenseAttr(value))])
    return Region([block])


def _build_if(b: Builder, operands, attrs):
    t = TensorType(DTYPES["f32"], (2,))
    return b.create("zt.if", operands, result_types=[t],
                    regions=[_const_region(_THEN), _const_region(_ELSE)])


@sample("zt.if", lambda ins, a: _THEN if bool(ins[0].reshape(-1)[0]) else _ELSE,
        build=_build_if)
def _if(d: Draw, like):
    shape = d.choice(((), (1,), (1, 1)))
    if d.bool():
        return [Arg.constant(np.full(shape, d.bool()))], {}
    return [Arg(TensorType(DTYPES["bool"], shape))], {}


_LIMIT = 2  # the body stops the loop after iteration 2


def _build_loop(b: Builder, operands, attrs):
    """Body: acc' = acc * 0.5 + i; cond' = i < 2; scans acc'."""
    acc_t = operands[2].type
    i64, boolean = DTYPES["i64"], DTYPES["bool"]
    block = Block([TensorType(i64, ()), TensorType(boolean, ()), acc_t])
    i, _, acc = block.args
    bb = Builder.at_end(block)
    half = bb.op("zt.constant", value=DenseAttr(np.array(0.5, acc_t.dtype.np_dtype)))
    nxt = bb.op("zt.add", bb.op("zt.mul", acc, half), bb.op("zt.cast", i, to=acc_t.dtype))
    go = bb.op("zt.lt", i, bb.op("zt.constant", value=DenseAttr(np.array(_LIMIT, np.int64))))
    bb.create("zt.yield", [go, nxt, nxt])
    trip, cond = (int(v.op.attr("value").array) for v in operands[:2])
    steps = min(trip, _LIMIT + 1) if cond else 0  # static, so later ops see static types
    scan_t = TensorType(acc_t.dtype, (steps,) + acc_t.shape)
    return b.create("zt.loop", operands, result_types=[acc_t, scan_t], regions=[Region([block])])


def _loop_oracle(ins, a):
    trip, cond, acc = int(ins[0]), bool(ins[1]), ins[2].astype(np.float64)
    scans, i = [], 0
    while i < trip and cond:
        acc = acc * 0.5 + i
        cond = i < _LIMIT
        scans.append(acc.astype(ins[2].dtype))
        i += 1
    dt = ins[2].dtype
    stacked = np.stack(scans) if scans else np.zeros((0,) + ins[2].shape, dt)
    return acc.astype(dt), stacked


@sample("zt.loop", _loop_oracle, build=_build_loop)
def _loop(d: Draw, like):
    acc = d.type(("f32", "f64"), like, max_rank=3)
    trip = Arg.constant(np.array(d.int(0, 5), np.int64))
    cond = Arg.constant(np.array(d.int(0, 3) > 0))
    return [trip, cond, Arg(acc)], {}
