"""Sample for zt.attention; the oracle is a per-head PyTorch loop in f64 that builds the
allowed-key set from index comparisons (the reference uses one batched matmul and a bias)."""

from __future__ import annotations

import math

import numpy as np
import torch

from tests.opsamples import Arg, Draw, sample
from tests.opsamples.norm import t64
from zenith.ir import TensorType, dtype


def attention_oracle(ins, a):
    q, k, v = (t64(x) for x in ins[:3])
    mask = ins[3] if len(ins) > 3 else None
    b, hq, sq, d = q.shape
    hkv, skv = k.shape[1], k.shape[2]
    scale = a.get("scale")
    scale = 1 / math.sqrt(d) if scale is None else scale
    offset = skv - sq if a.get("causal_align", "upper_left") == "lower_right" else 0
    left, right = a.get("left_window_size", -1), a.get("right_window_size", -1)
    pos = torch.arange(sq)[:, None] + offset
    key = torch.arange(skv)[None, :]
    allowed = torch.ones(sq, skv, dtype=torch.bool)
    if a.get("causal"):
        allowed &= key <= pos
    if left >= 0:
        allowed &= key >= pos - left
    if right >= 0:
        allowed &= key <= pos + right
    full_mask = None
    if mask is not None:
        full = np.broadcast_to(mask, (b, hq, sq, skv))
        full_mask = torch.from_numpy(full.copy() if mask.dtype == bool else full.astype(np.float64))
    out = torch.zeros(b, hq, sq, v.shape[3], dtype=torch.float64)
    group = hq // hkv
    for n in range(b):
        for h in range(hq):
            kh = h // group
            s = (q[n, h] @ k[n, kh].T) * scale
            if a.get("softcap", 0.0) > 0:
                s = a["softcap"] * torch.tanh(s / a["softcap"])
            ok = allowed.clone()
            if full_mask is not None and full_mask.dtype == torch.bool:
                ok &= full_mask[n, h]
            elif full_mask is not None:
                s = s + full_mask[n, h]
            s = s.masked_fill(~ok, -math.inf)
            for i in range(sq):
                if bool(torch.isinf(s[i]).all()) and bool((s[i] < 0).all()):
                    continue  # no key left: the row stays 0
                out[n, h, i] = torch.softmax(s[i], dim=0) @ v[n, kh]
    return out.numpy().astype(ins[0].dtype)


@sample("zt.attention", attention_oracle, rtol_scale=4.0)
def _attention(d: Draw, like):
    dt = dtype(d.choice(["f32", "f64", "f16", "bf16"]))
    b, hkv, group = d.int(1, 2), d.int(1, 3), d.choice([1, 1, 2, 3])
    sq, skv, hd, dv = d.int(1, 5), d.int(1, 5), d.int(1, 8), d.int(1, 8)
    args = [Arg(TensorType(dt, (b, hkv * group, sq, hd))), Arg(TensorType(dt, (b, hkv, skv, hd))),
            Arg(TensorType(dt, (b, hkv, skv, dv)))]
    kind = d.choice(["none", "bool", "float"])
    if kind != "none":
        shape = d.broadcastable((b, hkv * group, sq, skv))
        mdt = dtype("bool") if kind == "bool" else dt
        args.append(Arg(TensorType(mdt, shape), reusable=kind == "float"))
    attrs = {}
    if d.bool():
        attrs["scale"] = d.choice([0.5, 1.0, 2.0])
    if d.bool():
        attrs["causal"] = True
    if d.bool():
        attrs["causal_align"] = "lower_right"
    if d.int(0, 3) == 0:
        attrs["softcap"] = d.choice([0.5, 2.0])
    if d.int(0, 3) == 0:
        attrs["left_window_size"] = d.int(0, 2)
    if d.int(0, 3) == 0:
        attrs["right_window_size"] = d.int(0, 2)
    return args, attrs
