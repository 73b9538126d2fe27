"""Samples for normalizations and the softmax family; oracles are PyTorch in f64
(plain NumPy loops where PyTorch's definition differs from ONNX's: LRN, MVN, hardmax)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from tests.opsamples import FLOATS, Arg, Draw, sample
from tests.opsamples.reduce import draw_type
from zenith.ir import TensorType


def t64(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.asarray(a, dtype=np.float64))


def back(t: torch.Tensor, like: np.ndarray) -> np.ndarray:
    return t.numpy().astype(like.dtype)


def _axis_gen(d: Draw, like):
    t = draw_type(d, FLOATS, like, min_rank=1)
    attrs = {"axis": d.int(-t.rank, t.rank - 1)} if d.bool() else {}
    return [Arg(t, -3, 3)], attrs


sample("zt.softmax", lambda ins, a: back(F.softmax(t64(ins[0]), dim=a.get("axis", -1)), ins[0]))(
    _axis_gen)
sample("zt.log_softmax",
       lambda ins, a: back(F.log_softmax(t64(ins[0]), dim=a.get("axis", -1)), ins[0]))(_axis_gen)


def _hardmax_oracle(ins, a):
    x = ins[0]
    moved = np.moveaxis(x, a.get("axis", -1), -1)
    out = np.zeros(moved.shape, x.dtype)
    flat_in, flat_out = moved.reshape(-1, moved.shape[-1]), out.reshape(-1, moved.shape[-1])
    for r, row in enumerate(flat_in):
        vals = row.tolist()
        flat_out[r, vals.index(max(vals))] = 1
    return np.moveaxis(out, -1, a.get("axis", -1))


sample("zt.hardmax", _hardmax_oracle, composable=False)(_axis_gen)


def _nchw(d: Draw, like, min_rank: int = 2, max_rank: int = 4) -> TensorType:
    if like is not None and not (min_rank <= like.rank <= max_rank):
        like = None
    return draw_type(d, FLOATS, like, min_rank=min_rank, max_rank=max_rank)


def _vec(t: TensorType, n: int) -> TensorType:
    return TensorType(t.dtype, (n,))


@sample("zt.batch_norm", lambda ins, a: back(F.batch_norm(
    t64(ins[0]), t64(ins[3]), t64(ins[4]), t64(ins[1]), t64(ins[2]), training=False,
    eps=a.get("epsilon", 1e-5)), ins[0]), rtol_scale=2.0)
def _batch_norm(d: Draw, like):
    t = _nchw(d, like)
    c = _vec(t, t.shape[1])
    args = [Arg(t), Arg(c), Arg(c), Arg(c, -1, 1), Arg(c, 0.5, 2.0, reusable=False)]
    return args, ({"epsilon": 1e-3} if d.bool() else {})


def _grouped_oracle(ins, groups: int | None, eps: float) -> np.ndarray:
    """Group norm written with torch.var_mean (torch's own group/instance norm refuse 1-element
    groups, which are valid here: they normalize to 0)."""
    x = t64(ins[0])
    n, c = x.shape[:2]
    g = c if groups is None else groups
    xg = x.reshape(n, g, -1)
    var, mean = torch.var_mean(xg, dim=-1, keepdim=True, correction=0)
    y = ((xg - mean) / torch.sqrt(var + eps)).reshape(x.shape)
    per_c = (1, c) + (1,) * (x.dim() - 2)
    return back(y * t64(ins[1]).reshape(per_c) + t64(ins[2]).reshape(per_c), ins[0])


@sample("zt.instance_norm", lambda ins, a: _grouped_oracle(ins, None, a.get("epsilon", 1e-5)),
        rtol_scale=4.0)
def _instance_norm(d: Draw, like):
    t = _nchw(d, like, min_rank=3)
    c = _vec(t, t.shape[1])
    return [Arg(t), Arg(c), Arg(c)], ({"epsilon": 1e-2} if d.bool() else {})


@sample("zt.group_norm", lambda ins, a: _grouped_oracle(ins, a["num_groups"], a.get("epsilon", 1e-5)),
        rtol_scale=4.0)
def _group_norm(d: Draw, like):
    t = _nchw(d, like)
    ch = t.shape[1]
    groups = d.choice([g for g in range(1, ch + 1) if ch % g == 0])
    c = _vec(t, ch)
    return [Arg(t), Arg(c), Arg(c)], {"num_groups": groups}


def _affine_shape(d: Draw, t: TensorType, axis: int) -> tuple[int, ...]:
    """A scale/bias shape: the normalized shape, or one that broadcasts to x."""
    norm = t.shape[axis:]
    return norm if d.bool() else d.broadcastable(t.shape)


def _layer_norm_oracle(ins, a):
    x = t64(ins[0])
    axis = a.get("axis", -1) % x.dim()
    shape = x.shape[axis:]
    y = F.layer_norm(x, shape, eps=a.get("epsilon", 1e-5))
    if len(ins) > 1:
        y = y * t64(ins[1])
    if len(ins) > 2:
        y = y + t64(ins[2])
    return back(y, ins[0])


@sample("zt.layer_norm", _layer_norm_oracle, rtol_scale=4.0)
def _layer_norm(d: Draw, like):
    t = draw_type(d, FLOATS, like, min_rank=1)
    axis = d.int(-t.rank, t.rank - 1)
    n_affine = d.int(0, 2)
    args = [Arg(t)] + [Arg(TensorType(t.dtype, _affine_shape(d, t, axis % t.rank)))
                       for _ in range(n_affine)]
    return args, {"axis": axis, "epsilon": d.choice([1e-5, 1e-3])}


def _rms_norm_oracle(ins, a):
    x = t64(ins[0])
    axis = a.get("axis", -1) % x.dim()
    y = F.rms_norm(x, x.shape[axis:], eps=a.get("epsilon", 1e-5))
    return back(y * t64(ins[1]) if len(ins) > 1 else y, ins[0])


@sample("zt.rms_norm", _rms_norm_oracle, rtol_scale=2.0)
def _rms_norm(d: Draw, like):
    t = draw_type(d, FLOATS, like, min_rank=1)
    axis = d.int(-t.rank, t.rank - 1)
    args = [Arg(t)]
    if d.bool():
        args.append(Arg(TensorType(t.dtype, _affine_shape(d, t, axis % t.rank))))
    return args, {"axis": axis, "epsilon": d.choice([1e-5, 1e-6])}


@sample("zt.lp_normalization", lambda ins, a: back(F.normalize(
    t64(ins[0]), p=float(a.get("p", 2)), dim=a.get("axis", -1), eps=1e-300), ins[0]),
    rtol_scale=2.0)
def _lp_normalization(d: Draw, like):
    t = draw_type(d, FLOATS, like, min_rank=1)
    return [Arg(t)], {"axis": d.int(-t.rank, t.rank - 1), "p": d.choice([1, 2])}


def _mvn_oracle(ins, a):
    x = ins[0].astype(np.float64)
    axes = tuple(a.get("axes", (0, 2, 3)))
    n = int(np.prod([x.shape[i] for i in axes]))
    mean = x.sum(axis=axes, keepdims=True) / n
    var = (x * x).sum(axis=axes, keepdims=True) / n - mean * mean
    return ((x - mean) / (np.sqrt(np.maximum(var, 0)) + 1e-9)).astype(ins[0].dtype)


@sample("zt.mean_variance_normalization", _mvn_oracle, rtol_scale=8.0)
def _mvn(d: Draw, like):
    if d.bool():
        t = _nchw(d, like, min_rank=4, max_rank=4)
        return [Arg(t)], {}
    t = draw_type(d, ("f32", "f64"), like, min_rank=1)
    axes = tuple(i - t.rank if d.bool() else i for i in range(t.rank) if d.bool()) or (0,)
    return [Arg(t)], {"axes": axes}


def _lrn_oracle(ins, a):
    x = ins[0].astype(np.float64)
    size = a["size"]
    alpha, beta, bias = a.get("alpha", 1e-4), a.get("beta", 0.75), a.get("bias", 1.0)
    ch = x.shape[1]
    out = np.empty_like(x)
    for c in range(ch):
        lo = max(0, c - (size - 1) // 2)
        hi = min(ch - 1, c + -(-(size - 1) // 2))
        sq = (x[:, lo:hi + 1] ** 2).sum(axis=1)
        out[:, c] = x[:, c] / (bias + alpha / size * sq) ** beta
    return out.astype(ins[0].dtype)


@sample("zt.lrn", _lrn_oracle, rtol_scale=2.0)
def _lrn(d: Draw, like):
    t = _nchw(d, like)
    attrs = {"size": d.int(1, 6)}
    if d.bool():
        attrs.update(alpha=0.5, beta=d.choice([0.75, 0.5]), bias=d.choice([1.0, 2.0]))
    return [Arg(t)], attrs
