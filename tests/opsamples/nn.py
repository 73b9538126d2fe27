"""Samples for conv and conv_transpose; the oracle is PyTorch in f64.

PyTorch pads symmetrically, so the oracle pads (conv) or crops (conv_transpose)
explicitly with ``F.pad`` and calls the convolution with zero padding.
"""

from __future__ import annotations

import torch.nn.functional as F

from tests.opsamples import Arg, Draw, sample
from tests.opsamples.norm import back, t64
from zenith.ir import TensorType

CONV_DTYPES = ("f32", "f64", "f16", "bf16")
CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


def torch_pads(begin, end) -> list[int]:
    """ONNX-style begins/ends to F.pad's (last dim first) order; negative values crop."""
    out: list[int] = []
    for b, e in zip(reversed(begin), reversed(end)):
        out += [b, e]
    return out


def spatial_attrs(a: dict, n: int) -> tuple[list[int], list[int], list[int], list[int]]:
    strides = list(a.get("strides") or [1] * n)
    dil = list(a.get("dilations") or [1] * n)
    pads = list(a.get("pads") or [0] * 2 * n)
    return strides, dil, pads[:n], pads[n:]


def conv_oracle(ins, a):
    x, w = t64(ins[0]), t64(ins[1])
    n = x.dim() - 2
    strides, dil, pb, pe = spatial_attrs(a, n)
    x = F.pad(x, torch_pads(pb, pe))
    b = t64(ins[2]) if len(ins) > 2 else None
    y = CONV[n](x, w, b, stride=strides, dilation=dil, groups=a.get("group", 1))
    return back(y, ins[0])


def conv_transpose_oracle(ins, a):
    x, w = t64(ins[0]), t64(ins[1])
    n = x.dim() - 2
    strides, dil, pb, pe = spatial_attrs(a, n)
    op = list(a.get("output_padding") or [0] * n)
    y = CONV_T[n](x, w, None, stride=strides, dilation=dil, groups=a.get("group", 1))
    y = F.pad(y, torch_pads([0] * n, op))  # output_padding: zeros at the end
    y = F.pad(y, torch_pads([-p for p in pb], [-p for p in pe]))  # pads crop
    if len(ins) > 2:
        y = y + t64(ins[2]).reshape((1, -1) + (1,) * n)
    return back(y, ins[0])


def _geometry(d: Draw, n: int, max_dim: int):
    kernel = [d.int(1, 3) for _ in range(n)]
    strides = [d.int(1, 3) for _ in range(n)]
    dil = [d.int(1, 2) for _ in range(n)]
    pads = [d.int(0, 2) for _ in range(2 * n)]
    eff = [di * (k - 1) + 1 for k, di in zip(kernel, dil)]
    spatial = [d.int(max(1, e - pads[i] - pads[n + i]), max(e, max_dim)) for i, e in enumerate(eff)]
    return kernel, strides, dil, pads, spatial


def _attrs(d: Draw, strides, dil, pads, group) -> dict:
    attrs = {}
    if d.bool() or any(s != 1 for s in strides):
        attrs["strides"] = tuple(strides)
    if d.bool() or any(x != 1 for x in dil):
        attrs["dilations"] = tuple(dil)
    if d.bool() or any(pads):
        attrs["pads"] = tuple(pads)
    if group > 1 or d.bool():
        attrs["group"] = group
    return attrs


@sample("zt.conv", conv_oracle, rtol_scale=4.0)
def _conv(d: Draw, like):
    dt = d.dtype(CONV_DTYPES)
    n = d.choice([1, 2, 2, 3])
    kernel, strides, dil, pads, spatial = _geometry(d, n, 6 if n < 3 else 4)
    group = d.choice([1, 1, 2, 3])
    cg, mg, batch = d.int(1, 3), d.int(1, 3), d.int(1, 2)
    x = TensorType(dt, (batch, cg * group, *spatial))
    w = TensorType(dt, (mg * group, cg, *kernel))
    args = [Arg(x), Arg(w, -1, 1)]
    if d.bool():
        args.append(Arg(TensorType(dt, (mg * group,))))
    return args, _attrs(d, strides, dil, pads, group)


@sample("zt.conv_transpose", conv_transpose_oracle, rtol_scale=4.0)
def _conv_transpose(d: Draw, like):
    dt = d.dtype(CONV_DTYPES)
    n = d.choice([1, 2, 2, 3])
    kernel = [d.int(1, 3) for _ in range(n)]
    strides = [d.int(1, 3) for _ in range(n)]
    dil = [d.int(1, 2) for _ in range(n)]
    spatial = [d.int(1, 4 if n < 3 else 3) for _ in range(n)]
    outpad = [d.int(0, max(s, di) - 1) for s, di in zip(strides, dil)]
    full = [s * (i - 1) + di * (k - 1) + 1 + op
            for s, i, di, k, op in zip(strides, spatial, dil, kernel, outpad)]
    pads = [d.int(0, min(2, f // 2)) for f in full] + [d.int(0, min(2, f - f // 2 - 1)) for f in full]
    group = d.choice([1, 1, 2])
    cg, mg, batch = d.int(1, 3), d.int(1, 3), d.int(1, 2)
    x = TensorType(dt, (batch, cg * group, *spatial))
    w = TensorType(dt, (cg * group, mg, *kernel))
    args = [Arg(x), Arg(w, -1, 1)]
    if d.bool():
        args.append(Arg(TensorType(dt, (mg * group,))))
    attrs = _attrs(d, strides, dil, pads, group)
    if any(outpad) or d.bool():
        attrs["output_padding"] = tuple(outpad)
    return args, attrs


