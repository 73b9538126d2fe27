"""Image ops with ONNX semantics: ``resize`` (nearest / linear / cubic, every ONNX
coordinate mode, antialiasing) and ``grid_sample``.

``zt.resize`` is separable: each resized axis is one (out x in) weight matrix
built from the coordinate transform and the interpolation kernel, applied with
a tensor contraction; values are computed in f64 and rounded once to x's dtype
(integer results truncate, as ONNX's reference).
"""

from __future__ import annotations

import math

import numpy as np

from zenith.dialects.shape_rules import format_shape
from zenith.ir.opdef import ANCHOR, PURE, InferContext, InferError, define_op
from zenith.ir.types import TensorType

RESIZE_MODES = ("nearest", "linear", "cubic")
COORDINATE_MODES = ("half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
                    "asymmetric", "tf_crop_and_resize")
NEAREST_MODES = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")


def source_coords(mode: str, out_len: int, in_len: int, scale: float,
                  roi: tuple[float, float] | None) -> tuple[np.ndarray, np.ndarray | None]:
    """Input coordinate of every output index along one axis, and (crop mode only) which
    outputs fall outside the input."""
    y = np.arange(out_len, dtype=np.float64)
    out_f = scale * in_len  # ONNX compares the unrounded output length with 1
    outside = None
    if mode == "align_corners":
        x = np.zeros(out_len) if out_f == 1 else y * (in_len - 1) / (out_f - 1)
    elif mode == "asymmetric":
        x = y / scale
    elif mode == "tf_crop_and_resize":
        lo, hi = roi if roi is not None else (0.0, 1.0)
        if out_f == 1:
            x = np.full(out_len, (hi - lo) * (in_len - 1) / 2)
        else:
            x = y * (hi - lo) * (in_len - 1) / (out_f - 1)
        x = x + lo * (in_len - 1)
        outside = (x < 0) | (x > in_len - 1)
    elif mode == "pytorch_half_pixel":
        x = np.full(out_len, -0.5) if out_f == 1 else (y + 0.5) / scale - 0.5
    elif mode == "half_pixel":
        x = (y + 0.5) / scale - 0.5
    elif mode == "half_pixel_symmetric":
        offset = in_len / 2 * (1 - out_len / out_f)
        x = offset + (y + 0.5) / scale - 0.5
    else:
        raise ValueError(f"unknown coordinate mode {mode!r}")
    return x, outside


def _cubic(t: np.ndarray, a: float) -> np.ndarray:
    """The cubic convolution kernel (Keys) with parameter ``a``."""
    t = np.abs(t)
    near = ((a + 2) * t - (a + 3)) * t * t + 1
    far = ((a * t - 5 * a) * t + 8 * a) * t - 4 * a
    return np.where(t <= 1, near, np.where(t < 2, far, 0.0))


def kernel_taps(kind: str, ratio: np.ndarray, scale: float, antialias: bool, a: float,
                nearest: str) -> tuple[int, np.ndarray]:
    """First tap offset (relative to the left pixel) and tap weights per output.

    ``ratio`` is the position of the source coordinate right of its left pixel, in
    (0, 1] (an exact pixel counts as ratio 1 of the pixel before it)."""
    r = ratio[:, None]
    if kind == "nearest":
        take_right = {"round_prefer_floor": ratio > 0.5, "round_prefer_ceil": ratio >= 0.5,
                      "floor": np.zeros_like(ratio, bool), "ceil": np.ones_like(ratio, bool)}[nearest]
        take_right = take_right | (ratio == 1)
        return 0, np.stack([~take_right, take_right], axis=1).astype(np.float64)
    s = min(scale, 1.0) if antialias else 1.0
    support = 1 if kind == "linear" else 2
    start = int(math.floor(-support / s) + 1)
    offsets = np.arange(start, 2 - start, dtype=np.float64)[None, :]
    t = (offsets - r) * s
    w = np.clip(1 - np.abs(t), 0, 1) if kind == "linear" else _cubic(t, a)
    if antialias:
        w = w / w.sum(axis=1, keepdims=True)
    return start, w


def resize_matrix(in_len: int, out_len: int, scale: float, attrs: dict,
                  roi: tuple[float, float] | None) -> tuple[np.ndarray, np.ndarray | None]:
    """The (out_len x in_len) interpolation matrix of one axis and the crop-mode mask."""
    x, outside = source_coords(attrs["coordinate_mode"], out_len, in_len, scale, roi)
    left = np.floor(x)
    exact = x == left
    base = np.where(exact, left - 1, left).astype(np.int64)
    ratio = np.where(exact, 1.0, x - left)
    start, w = kernel_taps(attrs["mode"], ratio, scale, attrs["antialias"],
                           attrs["cubic_coeff_a"], attrs["nearest_mode"])
    idx = base[:, None] + start + np.arange(w.shape[1])[None, :]
    if attrs["exclude_outside"]:
        w = np.where((idx < 0) | (idx >= in_len), 0.0, w)
        total = w.sum(axis=1, keepdims=True)
        w = w / np.where(total == 0, 1.0, total)
    m = np.zeros((out_len, in_len))
    rows = np.repeat(np.arange(out_len), w.shape[1])
    np.add.at(m, (rows, np.clip(idx, 0, in_len - 1).ravel()), w.ravel())
    return m, outside


def _resize_attrs(ctx) -> dict:
    return {k: ctx.attr(k) for k in ("mode", "coordinate_mode", "nearest_mode", "cubic_coeff_a",
                                     "exclude_outside", "antialias")}


def _resize_ref(ctx, x):
    sizes, scales, roi = ctx.attr("sizes"), ctx.attr("scales"), ctx.attr("roi")
    attrs = _resize_attrs(ctx)
    rank = x.ndim
    out = x.astype(np.float64)
    mask = np.zeros((), bool)
    for axis in range(rank):
        n_in = x.shape[axis]
        n_out = n_in if sizes[axis] == -1 else sizes[axis]
        r = (roi[axis], roi[axis + rank]) if roi is not None else None
        if scales[axis] == 1.0 and n_out == n_in and (r is None or r == (0.0, 1.0)):
            continue
        if n_out == 0 or n_in == 0:
            shape = list(out.shape)
            shape[axis] = n_out
            out = np.zeros(shape)
            continue
        m, outside = resize_matrix(n_in, n_out, scales[axis], attrs, r)
        out = np.moveaxis(np.tensordot(m, np.moveaxis(out, axis, 0), axes=(1, 0)), 0, axis)
        if outside is not None:
            shape = [1] * rank
            shape[axis] = n_out
            mask = mask | outside.reshape(shape)
    if mask.any():
        out = np.where(mask, ctx.attr("extrapolation_value"), out)
    return out.astype(x.dtype)


def _resize_infer(ctx: InferContext) -> TensorType:
    x = ctx.operand_types[0]
    sizes, scales, roi = ctx.attr("sizes"), ctx.attr("scales"), ctx.attr("roi")
    if not (x.dtype.is_float or x.dtype.is_int):
        raise InferError(f"resize needs a numeric operand, got {x.dtype}")
    if len(sizes) != x.rank or len(scales) != x.rank:
        raise InferError(f"sizes {list(sizes)} and scales {list(scales)} must have one entry per "
                         f"dim of {x}")
    if roi is not None and len(roi) != 2 * x.rank:
        raise InferError(f"roi must have {2 * x.rank} entries (starts, then ends), got {len(roi)}")
    for name, value, choices in (("mode", ctx.attr("mode"), RESIZE_MODES),
                                 ("coordinate_mode", ctx.attr("coordinate_mode"), COORDINATE_MODES),
                                 ("nearest_mode", ctx.attr("nearest_mode"), NEAREST_MODES)):
        if value not in choices:
            raise InferError(f"{name} {value!r} is not one of {', '.join(choices)}")
    if ctx.attr("antialias") and ctx.attr("mode") == "nearest":
        raise InferError("antialias applies to linear and cubic modes only")
    shape = []
    for d, n, s in zip(x.shape, sizes, scales):
        if s <= 0:
            raise InferError(f"scales {list(scales)} must be positive")
        if n == -1:
            if s != 1.0:
                raise InferError(f"size -1 (keep the dim) needs scale 1, got {s}")
            shape.append(d)
        elif n < 0:
            raise InferError(f"sizes {list(sizes)} has a negative entry")
        else:
            shape.append(n)
    if any(n != -1 and not isinstance(d, int) for d, n in zip(x.shape, sizes)):
        raise InferError(f"resized dims of {format_shape(x.shape)} must be static")
    return x.with_shape(tuple(shape))


define_op(
    "zt.resize",
    operands=("x",),
    attrs={
        "sizes": "ints",
        "scales": "floats",
        "mode": ("str", "nearest"),
        "coordinate_mode": ("str", "half_pixel"),
        "nearest_mode": ("str", "round_prefer_floor"),
        "cubic_coeff_a": ("float", -0.75),
        "exclude_outside": ("bool", False),
        "extrapolation_value": ("float", 0.0),
        "antialias": ("bool", False),
        "roi": ("floats", None),
    },
    traits=(PURE, ANCHOR),
    infer=_resize_infer,
    reference=_resize_ref,
    doc="ONNX Resize-19 with the output size (`sizes`, -1 keeps a dim) and the per-dim scale "
        "used by the coordinate transform both given; `roi` (starts then ends, normalized) "
        "for tf_crop_and_resize.",
)


# --- grid_sample ---------------------------------------------------------------------------

GRID_MODES = ("linear", "nearest", "cubic")
PADDING_MODES = ("zeros", "border", "reflection")


def _reflect(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Reflect coordinates into [lo, hi] by bouncing off the borders."""
    span = hi - lo
    if span <= 0:
        return np.full_like(x, lo)
    below, above = x < lo, x > hi
    d = np.where(below, lo - x, np.where(above, x - hi, 0.0))
    n = np.floor(d / span)
    r = d - n * span
    even = (n % 2) == 0
    from_lo = np.where(even, lo + r, hi - r)
    from_hi = np.where(even, hi - r, lo + r)
    return np.where(below, from_lo, np.where(above, from_hi, x))


def _bounds(size: int, align_corners: bool) -> tuple[float, float]:
    return (0.0, size - 1.0) if align_corners else (-0.5, size - 0.5)


def _tap(idx: np.ndarray, size: int, padding: str, bounds: tuple[float, float]
         ) -> tuple[np.ndarray, np.ndarray]:
    """Index to read for integer tap positions, and whether the tap reads a pixel (zeros)."""
    if padding == "zeros":
        inside = (idx >= 0) & (idx < size)
        return np.clip(idx, 0, max(size - 1, 0)), inside
    if padding == "border":
        return np.clip(idx, 0, size - 1), np.ones(idx.shape, bool)
    r = np.trunc(_reflect(idx.astype(np.float64), *bounds)).astype(np.int64)
    return np.clip(r, 0, size - 1), np.ones(idx.shape, bool)


def _grid_sample_ref(ctx, x, grid):
    mode, padding = ctx.attr("mode"), ctx.attr("padding_mode")
    align = ctx.attr("align_corners")
    n, c = x.shape[:2]
    dims = x.shape[2:]
    r = len(dims)
    out = np.zeros((n, c) + grid.shape[1:-1], np.float64)
    xf = x.astype(np.float64)
    for b in range(n):
        coords = []
        for axis in range(r):  # grid's last dim lists x (the last input dim) first
            g = grid[b, ..., r - 1 - axis].astype(np.float64)
            size = dims[axis]
            pos = (g + 1) / 2 * (size - 1) if align else ((g + 1) * size - 1) / 2
            if mode == "nearest":
                pos = np.rint(pos)
            lo, hi = _bounds(size, align)
            if padding == "border":
                pos = np.where((pos < lo) | (pos > hi), np.clip(pos, 0, size - 1), pos)
            elif padding == "reflection":
                pos = _reflect(pos, lo, hi)
            coords.append(pos)
        if mode == "nearest":
            taps = [[(np.trunc(p).astype(np.int64), np.ones_like(p))] for p in coords]
        else:
            taps = []
            for p in coords:
                base = np.floor(p)
                t = p - base
                base = base.astype(np.int64)
                if mode == "linear":
                    taps.append([(base, 1 - t), (base + 1, t)])
                else:
                    w = [_cubic(t + 1, -0.75), _cubic(t, -0.75), _cubic(1 - t, -0.75),
                         _cubic(2 - t, -0.75)]
                    taps.append([(base + k - 1, w[k]) for k in range(4)])
        acc = np.zeros((c,) + grid.shape[1:-1])
        for combo in np.ndindex(*[len(t) for t in taps]):
            weight = np.ones(grid.shape[1:-1])
            index, valid = [], np.ones(grid.shape[1:-1], bool)
            for axis, k in enumerate(combo):
                idx, w = taps[axis][k]
                i, ok = _tap(idx, dims[axis], padding, _bounds(dims[axis], align))
                index.append(i)
                valid &= ok
                weight = weight * w
            acc += xf[b][(slice(None), *index)] * np.where(valid, weight, 0.0)
        out[b] = acc
    return out.astype(x.dtype)


def _grid_sample_infer(ctx: InferContext) -> TensorType:
    x, grid = ctx.operand_types
    if not x.dtype.is_float or grid.dtype is not x.dtype:
        raise InferError(f"grid_sample needs float x and a grid of the same dtype, got {x.dtype} "
                         f"and {grid.dtype}")
    r = x.rank - 2
    if r < 1 or grid.rank != r + 2:
        raise InferError(f"x {x} has {r} spatial dims, so grid must have rank {r + 2}, got {grid}")
    if isinstance(grid.shape[-1], int) and grid.shape[-1] != r:
        raise InferError(f"grid's last dim must be {r}, got {grid.shape[-1]}")
    for name, value, choices in (("mode", ctx.attr("mode"), GRID_MODES),
                                 ("padding_mode", ctx.attr("padding_mode"), PADDING_MODES)):
        if value not in choices:
            raise InferError(f"{name} {value!r} is not one of {', '.join(choices)}")
    if ctx.attr("mode") == "cubic" and r != 2:
        raise InferError("cubic grid sampling is defined for 2 spatial dims")
    return TensorType(x.dtype, (x.shape[0], x.shape[1]) + grid.shape[1:-1])


define_op(
    "zt.grid_sample",
    operands=("x", "grid"),
    attrs={"mode": ("str", "linear"), "padding_mode": ("str", "zeros"),
           "align_corners": ("bool", False)},
    traits=(PURE,),
    infer=_grid_sample_infer,
    reference=_grid_sample_ref,
    doc="ONNX GridSample-22: sample x [N, C, D...] at grid [N, O..., r] (normalized coordinates "
        "in [-1, 1], x first); linear, nearest (half to even) or cubic (a = -0.75); zeros, "
        "border or reflection padding.",
)
