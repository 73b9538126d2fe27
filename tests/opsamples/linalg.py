"""Samples for matmul, gemm and linear; the oracle is PyTorch in f64."""

from __future__ import annotations

import numpy as np
import torch

from tests.opsamples import Arg, Draw, sample
from zenith.ir import TensorType

MM_DTYPES = ("f32", "f64", "f16", "bf16")


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(a.astype(np.float64))


def _back(t: torch.Tensor, like: np.ndarray) -> np.ndarray:
    return t.numpy().astype(like.dtype)


@sample("zt.matmul", lambda ins, a: _back(torch.matmul(_t(ins[0]), _t(ins[1])), ins[0]),
        rtol_scale=2.0)
def _matmul(d: Draw, like):
    dt = d.dtype(MM_DTYPES)
    m, k, n = d.int(1, 6), d.int(1, 6), d.int(1, 6)
    batch = d.shape(0, 2, 1, 3)
    kind = d.choice(["mm", "vec_l", "vec_r", "bcast"])
    if kind == "vec_l":
        return [Arg(TensorType(dt, (k,))), Arg(TensorType(dt, batch + (k, n)))], {}
    if kind == "vec_r":
        return [Arg(TensorType(dt, batch + (m, k))), Arg(TensorType(dt, (k,)))], {}
    other = d.broadcastable(batch) if kind == "bcast" else batch
    return [Arg(TensorType(dt, batch + (m, k))), Arg(TensorType(dt, other + (k, n)))], {}


def _gemm_oracle(ins, a):
    x, w = _t(ins[0]), _t(ins[1])
    if a.get("trans_a"):
        x = x.T
    if a.get("trans_b"):
        w = w.T
    y = a.get("alpha", 1.0) * (x @ w)
    if len(ins) == 3:
        y = y + a.get("beta", 1.0) * _t(ins[2])
    return _back(y, ins[0])


@sample("zt.gemm", _gemm_oracle, rtol_scale=2.0)
def _gemm(d: Draw, like):
    dt = d.dtype(("f32", "f64"))
    m, k, n = d.int(1, 6), d.int(1, 6), d.int(1, 6)
    ta, tb = d.bool(), d.bool()
    args = [Arg(TensorType(dt, (k, m) if ta else (m, k))), Arg(TensorType(dt, (n, k) if tb else (k, n)))]
    if d.bool():
        args.append(Arg(TensorType(dt, d.choice([(m, n), (n,), (1, n), (m, 1), ()]))))
    attrs = {"trans_a": ta, "trans_b": tb, "alpha": d.choice([1.0, 0.5]), "beta": d.choice([1.0, 2.0])}
    return args, attrs


@sample("zt.linear", lambda ins, a: _back(torch.nn.functional.linear(*[_t(x) for x in ins]), ins[0]),
        rtol_scale=2.0)
def _linear(d: Draw, like):
    dt = d.dtype(MM_DTYPES)
    fin, fout = d.int(1, 6), d.int(1, 6)
    x = TensorType(dt, d.shape(0, 2, 1, 4) + (fin,))
    args = [Arg(x), Arg(TensorType(dt, (fout, fin)))]
    if d.bool():
        args.append(Arg(TensorType(dt, (fout,))))
    return args, {}
