"""Samples for pooling; the oracle walks every output position and kernel tap in Python
(small tensors only), applying the ONNX definitions directly."""

from __future__ import annotations

import itertools

import numpy as np

from tests.opsamples import FLOATS, Arg, Draw, sample
from zenith.ir import TensorType, dtype


def out_size(size: int, k: int, s: int, d: int, pb: int, pe: int, ceil: bool) -> int:
    span = size + pb + pe - (d * (k - 1) + 1)
    if not ceil:
        return span // s + 1
    out = -(-span // s) + 1
    return out - 1 if (out - 1) * s >= size + pb else out


def pool_loop(x: np.ndarray, a: dict, kind: str):
    """Pool ``x`` by definition; returns (values, flat indices or None)."""
    nb, ch = x.shape[:2]
    sp = x.shape[2:]
    n = len(sp)
    k = a["kernel_shape"]
    s = a.get("strides") or (1,) * n
    dl = a.get("dilations") or (1,) * n
    pads = a.get("pads") or (0,) * (2 * n)
    pb, pe = pads[:n], pads[n:]
    out = [out_size(sp[i], k[i], s[i], dl[i], pb[i], pe[i], a.get("ceil_mode", False))
           for i in range(n)]
    xf = x.astype(np.float64)
    y = np.zeros((nb, ch, *out))
    idx = np.zeros((nb, ch, *out), np.int64)
    col_major = a.get("storage_order", 0) == 1
    for o in itertools.product(*map(range, out)):
        vals, where, counted = [], [], 0
        for t in itertools.product(*map(range, k)):
            pos = [o[i] * s[i] - pb[i] + t[i] * dl[i] for i in range(n)]
            if all(-pb[i] <= pos[i] < sp[i] + pe[i] for i in range(n)):
                counted += 1
            if all(0 <= pos[i] < sp[i] for i in range(n)):
                vals.append(xf[(slice(None), slice(None), *pos)])
                dims = range(n) if not col_major else range(n - 1, -1, -1)
                flat = 0
                for i in dims:
                    flat = flat * sp[i] + pos[i]
                where.append(flat)
        v = np.stack(vals, axis=-1)  # (N, C, taps)
        at = (slice(None), slice(None), *o)
        if kind == "max":
            y[at] = v.max(-1)
            idx[at] = np.array(where)[v.argmax(-1)]
        elif kind == "avg":
            y[at] = v.sum(-1) / (counted if a.get("count_include_pad") else len(vals))
        else:
            p = a.get("p", 2)
            y[at] = (np.abs(v) ** p).sum(-1) ** (1.0 / p)
    plane = (np.arange(nb)[:, None] * ch + np.arange(ch)[None, :]) * int(np.prod(sp))
    idx += plane.reshape((nb, ch) + (1,) * n)
    return y.astype(x.dtype), idx


def _pool_gen(dtypes, kind: str):
    def gen(d: Draw, like):
        dt = d.dtype(dtypes)
        n = d.choice([1, 2, 2, 3])
        k = [d.int(1, 3) for _ in range(n)]
        s = [d.int(1, 3) for _ in range(n)]
        dl = [d.int(1, 2) for _ in range(n)]
        eff = [di * (ki - 1) + 1 for ki, di in zip(k, dl)]
        # pads <= (k - 1) * dilation, input >= window: every window holds an input tap.
        pads = [d.int(0, (ki - 1) * di) for ki, di in zip(k, dl)] * 2
        pads = pads[:n] + [d.int(0, (ki - 1) * di) for ki, di in zip(k, dl)]
        sp = [d.int(e, e + (3 if n < 3 else 1)) for e in eff]
        x = TensorType(dt, (d.int(1, 2), d.int(1, 3), *sp))
        attrs = {"kernel_shape": tuple(k)}
        for key, val, dflt in (("strides", s, 1), ("dilations", dl, 1), ("pads", pads, 0)):
            if any(v != dflt for v in val) or d.bool():
                attrs[key] = tuple(val)
        if d.bool():
            attrs["ceil_mode"] = True
        if kind == "avg" and d.bool():
            attrs["count_include_pad"] = True
        if kind == "lp":
            attrs["p"] = d.choice([1, 2, 3])
        if kind == "max_idx" and d.bool():
            attrs["storage_order"] = 1
        return [Arg(x, -2, 2, reusable=kind != "max_idx")], attrs

    return gen


sample("zt.max_pool", lambda ins, a: pool_loop(ins[0], a, "max")[0])(
    _pool_gen(FLOATS + ("i8", "u8"), "max"))
sample("zt.avg_pool", lambda ins, a: pool_loop(ins[0], a, "avg")[0], rtol_scale=2.0)(
    _pool_gen(FLOATS, "avg"))
sample("zt.lp_pool", lambda ins, a: pool_loop(ins[0], a, "lp")[0], rtol_scale=2.0)(
    _pool_gen(FLOATS, "lp"))
sample("zt.max_pool_with_indices", lambda ins, a: pool_loop(ins[0], a, "max"), composable=False)(
    _pool_gen(("f32", "f64"), "max_idx"))


def _global_gen(dtypes, with_p: bool = False):
    def gen(d: Draw, like):
        if like is not None and (like.rank < 2 or 0 in like.shape or like.dtype.name not in dtypes):
            like = None
        t = like if like is not None and d.bool() else TensorType(
            dtype(d.choice(dtypes)), d.shape(min_rank=2, max_rank=5, max_dim=4))
        return [Arg(t)], ({"p": d.choice([1, 2, 3])} if with_p else {})

    return gen


def _spatial_reduce(fn):
    def oracle(ins, a):
        x = ins[0]
        flat = x.astype(np.float64).reshape(x.shape[:2] + (-1,))
        return fn(flat, a).reshape(x.shape[:2] + (1,) * (x.ndim - 2)).astype(x.dtype)

    return oracle


sample("zt.global_avg_pool", _spatial_reduce(lambda f, a: f.sum(-1) / f.shape[-1]))(
    _global_gen(FLOATS))
sample("zt.global_max_pool", _spatial_reduce(lambda f, a: f.max(-1)))(
    _global_gen(FLOATS + ("i32", "i8")))
sample("zt.global_lp_pool", _spatial_reduce(
    lambda f, a: (np.abs(f) ** a.get("p", 2)).sum(-1) ** (1 / a.get("p", 2))), rtol_scale=2.0)(
    _global_gen(FLOATS, with_p=True))
