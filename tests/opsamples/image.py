"""Samples for image ops; oracles are PyTorch (``F.interpolate``, ``F.grid_sample``) in f64,
drawn from the modes where PyTorch's definition coincides with ONNX's."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from tests.opsamples import Arg, Draw, sample
from zenith.ir import DTYPES, TensorType

# (zt attributes, torch mode, ranks torch supports)
RESIZE_CASES = [
    ({"mode": "nearest", "coordinate_mode": "asymmetric", "nearest_mode": "floor"}, "nearest",
     (3, 4, 5)),
    ({"mode": "nearest", "coordinate_mode": "half_pixel", "nearest_mode": "round_prefer_ceil"},
     "nearest-exact", (3, 4, 5)),
    ({"mode": "linear", "coordinate_mode": "half_pixel"}, "linear", (3, 4, 5)),
    ({"mode": "linear", "coordinate_mode": "align_corners"}, "linear-ac", (3, 4, 5)),
    ({"mode": "cubic", "coordinate_mode": "half_pixel"}, "bicubic", (4,)),
    ({"mode": "cubic", "coordinate_mode": "align_corners"}, "bicubic-ac", (4,)),
    ({"mode": "linear", "coordinate_mode": "half_pixel", "antialias": True,
      "exclude_outside": True}, "bilinear-aa", (4,)),
]
_LINEAR = {3: "linear", 4: "bilinear", 5: "trilinear"}


def _resize_oracle(ins, a):
    x = ins[0]
    case = next(c for attrs, c, _ in RESIZE_CASES
                if all(a.get(k, v) == attrs.get(k, v) for k, v in _DEFAULTS.items()))
    size = tuple(a["sizes"][2:])
    t = torch.from_numpy(x.astype(np.float64))
    if case in ("nearest", "nearest-exact"):
        y = F.interpolate(t, size=size, mode=case)
    elif case.startswith("linear"):
        y = F.interpolate(t, size=size, mode=_LINEAR[x.ndim], align_corners=case.endswith("-ac"))
    elif case.startswith("bicubic"):
        y = F.interpolate(t, size=size, mode="bicubic", align_corners=case.endswith("-ac"))
    else:
        y = F.interpolate(t, size=size, mode="bilinear", antialias=True, align_corners=False)
    return y.numpy().astype(x.dtype)


_DEFAULTS = {"mode": "nearest", "coordinate_mode": "half_pixel", "nearest_mode": "round_prefer_floor",
             "antialias": False, "exclude_outside": False}


@sample("zt.resize", _resize_oracle)
def _resize(d: Draw, like):
    attrs, case, ranks = d.choice(RESIZE_CASES)
    rank = d.choice(ranks)
    # torch's antialiased bilinear repeats the first output row when W == 1 (torch 2.13),
    # so that oracle gets spatial dims >= 2.
    low = 2 if case == "bilinear-aa" else 1
    shape = (d.int(1, 2), d.int(1, 2)) + tuple(d.int(low, 5) for _ in range(rank - 2))
    if case == "bilinear-aa":  # antialiasing matters when shrinking
        out = shape[:2] + tuple(d.int(low, n) for n in shape[2:])
    else:
        out = shape[:2] + tuple(d.int(1, 7) for _ in range(rank - 2))
    t = TensorType(DTYPES[d.choice(("f32", "f64"))], shape)
    scales = (1.0, 1.0) + tuple(o / i for o, i in zip(out[2:], shape[2:]))
    return [Arg(t)], {**attrs, "sizes": out, "scales": scales}


_TORCH_GRID_MODE = {"linear": "bilinear", "nearest": "nearest", "cubic": "bicubic"}


def _grid_sample_oracle(ins, a):
    x, grid = ins
    mode = a.get("mode", "linear")
    y = F.grid_sample(torch.from_numpy(x.astype(np.float64)),
                      torch.from_numpy(grid.astype(np.float64)), mode=_TORCH_GRID_MODE[mode],
                      padding_mode=a.get("padding_mode", "zeros"),
                      align_corners=a.get("align_corners", False))
    return y.numpy().astype(x.dtype)


@sample("zt.grid_sample", _grid_sample_oracle, composable=False)
def _grid_sample(d: Draw, like):
    # torch's bicubic pads each tap rather than the sample point, so cubic draws zeros only;
    # nearest draws no reflection (torch rounds after reflecting, ONNX before).
    mode = d.choice(("linear", "nearest", "cubic"))
    r = 2 if mode == "cubic" else d.choice((2, 3))
    paddings = {"linear": ("zeros", "border", "reflection"), "nearest": ("zeros", "border"),
                "cubic": ("zeros",)}[mode]
    dt = DTYPES[d.choice(("f32", "f64"))]
    n, c = d.int(1, 2), d.int(1, 2)
    x = TensorType(dt, (n, c) + tuple(d.int(1, 4) for _ in range(r)))
    grid = TensorType(dt, (n,) + tuple(d.int(1, 3) for _ in range(r)) + (r,))
    attrs = {"mode": mode, "padding_mode": d.choice(paddings), "align_corners": d.bool()}
    return [Arg(x), Arg(grid, -1.3, 1.3)], attrs
