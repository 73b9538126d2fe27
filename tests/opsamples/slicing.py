"""Samples for concat, split, slice, pad and tile; oracles copy element blocks by hand."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from tests.opsamples import Arg, Draw, sample
from tests.opsamples.shape import ranked
from zenith.ir import TensorType

BIG = 2**63 - 1


def _concat_oracle(ins, a):
    axis = a["axis"] % ins[0].ndim
    shape = list(ins[0].shape)
    shape[axis] = sum(x.shape[axis] for x in ins)
    out = np.empty(shape, ins[0].dtype)
    at = 0
    for x in ins:
        idx = [slice(None)] * x.ndim
        idx[axis] = slice(at, at + x.shape[axis])
        out[tuple(idx)] = x
        at += x.shape[axis]
    return out


@sample("zt.concat", _concat_oracle)
def _concat(d: Draw, like):
    t = ranked(d, like, 1, 3)
    axis = d.int(0, t.rank - 1)
    args = [Arg(t)]
    for _ in range(d.int(0, 3)):
        shape = list(t.shape)
        shape[axis] = d.int(0, 3)
        args.append(Arg(TensorType(t.dtype, tuple(shape))))
    order = d.int(0, len(args) - 1)
    args.insert(order, args.pop(0))
    return args, {"axis": axis - t.rank if d.bool() else axis}


def _split_oracle(ins, a):
    x = ins[0]
    axis = a.get("axis", 0) % x.ndim
    n = x.shape[axis]
    if "sizes" in a:
        sizes = list(a["sizes"])
    else:
        k = a["num_outputs"]
        chunk = (n + k - 1) // k
        sizes = [min(chunk, max(0, n - i * chunk)) for i in range(k)]
    outs, at = [], 0
    for s in sizes:
        outs.append(np.take(x, np.arange(at, at + s, dtype=np.int64), axis=axis))
        at += s
    return outs


@sample("zt.split", _split_oracle)
def _split(d: Draw, like):
    t = ranked(d, like, 1, 3)
    axis = d.int(0, t.rank - 1)
    n = t.shape[axis]
    attrs = {"axis": axis - t.rank if d.bool() else axis}
    if d.bool():
        cuts = sorted(d.int(0, n) for _ in range(d.int(0, 3)))
        attrs["sizes"] = tuple(int(b - a) for a, b in zip([0] + cuts, cuts + [n]))
    else:
        k = d.int(1, max(1, n))
        chunk = -(-n // k)
        if chunk * (k - 1) > n:  # ONNX rejects a negative last part
            k = 1
        attrs["num_outputs"] = k
    return [Arg(t)], attrs


def _slice_oracle(ins, a):
    """Walks each sliced axis element by element, following the ONNX text (and ORT on INT_MAX)."""
    x = ins[0]
    starts, ends = a["starts"], a["ends"]
    axes = a.get("axes", tuple(range(len(starts))))
    steps = a.get("steps", (1,) * len(starts))
    for s, e, ax, step in zip(starts, ends, axes, steps):
        ax %= x.ndim
        n = x.shape[ax]
        s = s + n if s < 0 else s
        if e in (2**31 - 1, 2**63 - 1):  # INT_MAX ends run to the end, either way (as ORT)
            e = n if step > 0 else -1
        elif e < 0:
            e += n
        if step > 0:
            s, e = min(max(s, 0), n), min(max(e, 0), n)
        else:
            s, e = min(max(s, 0), n - 1), min(max(e, -1), n - 1)
        picked, i = [], s
        while (step > 0 and i < e) or (step < 0 and i > e):
            picked.append(i)
            i += step
        x = np.take(x, np.array(picked, dtype=np.int64), axis=ax)
    return x


def _bound(d: Draw, n: int) -> int:
    return d.choice([d.int(-n - 2, n + 2), BIG, -BIG - 1, 2**31 - 1, -(2**31)])


@sample("zt.slice", _slice_oracle)
def _slice(d: Draw, like):
    t = ranked(d, like, 1, 4, min_dim=0)
    axes = d(st.permutations(range(t.rank)))[:d.int(1, t.rank)]
    starts = tuple(_bound(d, t.shape[a]) for a in axes)
    ends = tuple(_bound(d, t.shape[a]) for a in axes)
    attrs = {"starts": starts, "ends": ends}
    if d.bool() or list(axes) != list(range(len(axes))):
        attrs["axes"] = tuple(a - t.rank if d.bool() else a for a in axes)
    if d.bool():
        attrs["steps"] = tuple(d.choice([1, 2, 3, -1, -2]) for _ in axes)
    return [Arg(t)], attrs


def _pad_oracle(ins, a):
    """Crop the negative pads, then numpy.pad the positive ones."""
    x = ins[0]
    axes = [ax % x.ndim for ax in a.get("axes", range(x.ndim))]
    pads = a["pads"]
    k = len(axes)
    width = [(0, 0)] * x.ndim
    crop = [slice(None)] * x.ndim
    for i, ax in enumerate(axes):
        b, e = pads[i], pads[k + i]
        crop[ax] = slice(max(0, -b), x.shape[ax] - max(0, -e))
        width[ax] = (max(0, b), max(0, e))
    x = x[tuple(crop)]
    mode = a.get("mode", "constant")
    if mode == "constant":
        return np.pad(x, width, constant_values=np.asarray(a.get("value", 0.0)).astype(x.dtype))
    return np.pad(x, width, mode={"edge": "edge", "wrap": "wrap", "reflect": "reflect"}[mode])


@sample("zt.pad", _pad_oracle)
def _pad(d: Draw, like):
    t = ranked(d, like, 1, 3)
    mode = d.choice(["constant", "constant", "reflect", "edge", "wrap"])
    if 0 in t.shape:
        mode = "constant"
    axes = sorted(set(d.int(0, t.rank - 1) for _ in range(d.int(1, t.rank))))
    lo = -1 if mode == "constant" else 0
    pads = [d.int(lo, 3) for _ in axes] + [d.int(lo, 3) for _ in axes]
    for i, ax in enumerate(axes):
        if t.shape[ax] + min(pads[i], 0) + min(pads[len(axes) + i], 0) < 0:
            pads[i], pads[len(axes) + i] = max(pads[i], 0), max(pads[len(axes) + i], 0)
    if mode != "constant" and d.bool():  # crop one side, pad the other
        i = d.int(0, len(axes) - 1)
        if t.shape[axes[i]] > 1:
            pads[i] = -1
    attrs = {"pads": tuple(pads), "mode": mode}
    if len(axes) < t.rank or d.bool():
        attrs["axes"] = tuple(axes)
    if mode == "constant" and d.bool():
        attrs["value"] = d.choice([1.5, -2.0, 1])
    return [Arg(t)], attrs


def _tile_oracle(ins, a):
    x = ins[0]
    for ax, r in enumerate(a["repeats"]):
        x = np.concatenate([x] * r, axis=ax) if r else np.take(x, np.arange(0), axis=ax)
    return x


@sample("zt.tile", _tile_oracle)
def _tile(d: Draw, like):
    t = ranked(d, like, 1, 3)
    return [Arg(t)], {"repeats": tuple(d.int(0, 3) for _ in t.shape)}
