"""Samples for einsum, det and bitcast; oracles are torch.einsum, torch.linalg.det and a
bytes round trip."""

from __future__ import annotations

import numpy as np
import torch

from tests.opsamples import Arg, Draw, sample
from zenith.ir import DTYPES, TensorType

# (equation, operand shapes as letter strings; '.' is one ellipsis dim)
EINSUMS = [
    ("ij,jk->ik", ["ij", "jk"]),
    ("bij,bjk->bik", ["bij", "bjk"]),
    ("i,i", ["i", "i"]),
    ("ij->ji", ["ij"]),
    ("ii->i", ["ii"]),
    ("ij", ["ij"]),
    ("ij,kj->ik", ["ij", "kj"]),
    ("...ij,...jk->...ik", [".ij", ".jk"]),
    ("bhqd,bhkd->bhqk", ["bhqd", "bhkd"]),
    ("i,j->ij", ["i", "j"]),
    ("ijk->", ["ijk"]),
]


def _einsum_oracle(ins, a):
    dt = ins[0].dtype
    tensors = [torch.from_numpy(x.astype(np.float64)) for x in ins]
    out = torch.einsum(a["equation"], *tensors).numpy()
    return np.asarray(np.rint(out) if dt.kind in "iu" else out).astype(dt)


@sample("zt.einsum", _einsum_oracle)
def _einsum(d: Draw, like):
    eq, terms = d.choice(EINSUMS)
    sizes = {c: d.int(1, 4) for c in "".join(terms)}
    dt = DTYPES[d.choice(("f32", "f64", "i32"))]
    args = [Arg(TensorType(dt, tuple(sizes[c] for c in t)), -2, 2) for t in terms]
    return args, {"equation": eq}


def _det_oracle(ins, a):
    x = ins[0]
    return torch.linalg.det(torch.from_numpy(x.astype(np.float64))).numpy().astype(x.dtype)


@sample("zt.det", _det_oracle, rtol_scale=10.0, composable=False)
def _det(d: Draw, like):
    n = d.int(1, 4)
    batch = tuple(d.int(1, 3) for _ in range(d.int(0, 2)))
    return [Arg(TensorType(DTYPES[d.choice(("f32", "f64"))], batch + (n, n)), -1, 1)], {}


_WIDTHS = [("f32", "i32"), ("i32", "f32"), ("f64", "i64"), ("i64", "u64"), ("u8", "i8"),
           ("bool", "u8"), ("f16", "i16"), ("u16", "bf16"), ("i8", "f8e4m3fn")]


def _bitcast_oracle(ins, a):
    x = ins[0]
    to = a["to"].np_dtype
    return np.frombuffer(x.tobytes(), dtype=to).reshape(x.shape)


@sample("zt.bitcast", _bitcast_oracle, composable=False)
def _bitcast(d: Draw, like):
    src, dst = d.choice(_WIDTHS)
    t = TensorType(DTYPES[src], d.shape(max_rank=3))
    return [Arg(t, -100, 100)], {"to": DTYPES[dst]}
