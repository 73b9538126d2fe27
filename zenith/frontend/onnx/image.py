"""Converters of image ops: Resize, Upsample, GridSample, AffineGrid, CenterCropPad."""

from __future__ import annotations

import math

import numpy as np

from zenith.frontend.onnx.context import NodeContext
from zenith.frontend.onnx.registry import converter
from zenith.ir.core import Value


def resize_plan(ctx: NodeContext, shape: tuple, axes: tuple[int, ...] | None,
                scales: np.ndarray | None, sizes: np.ndarray | None, policy: str
                ) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Output sizes (-1 keeps a dim) and per-dim scales of an ONNX Resize."""
    rank = len(shape)
    axes = tuple(a + rank if a < 0 else a for a in (axes if axes else range(rank)))
    out, sc = [-1] * rank, [1.0] * rank
    if scales is not None and scales.size:
        if scales.size != len(axes):
            ctx.fail(f"scales has {scales.size} entries for {len(axes)} axes")
        for a, s in zip(axes, scales.tolist()):
            d = shape[a]
            if not isinstance(d, int):
                ctx.fail(f"dim {a} is resized, so it must be static")
            sc[a] = float(s)
            out[a] = math.floor(d * s)
        return tuple(out), tuple(sc)
    if sizes is None or not sizes.size:
        ctx.fail("needs scales or sizes")
    if sizes.size != len(axes):
        ctx.fail(f"sizes has {sizes.size} entries for {len(axes)} axes")
    dims = []
    for a in axes:
        if not isinstance(shape[a], int):
            ctx.fail(f"dim {a} is resized, so it must be static")
        dims.append(shape[a])
    ratios = [int(n) / d for n, d in zip(sizes.tolist(), dims)]
    if policy == "stretch":
        for a, n, r in zip(axes, sizes.tolist(), ratios):
            out[a], sc[a] = int(n), r
    elif policy in ("not_larger", "not_smaller"):
        s = min(ratios) if policy == "not_larger" else max(ratios)
        for a, d in zip(axes, dims):
            out[a], sc[a] = int(s * d + 0.5), s
    else:
        ctx.fail(f"unknown keep_aspect_ratio_policy {policy!r}")
    return tuple(out), tuple(sc)


@converter("Resize", since=10)
def _resize(ctx: NodeContext) -> Value:
    x = ctx.input(0)
    if ctx.version < 11:
        scales, sizes, roi = ctx.static(1, "scales"), None, None
    else:
        roi = ctx.static(1, "roi") if ctx.has_input(1) else None
        scales = ctx.static(2, "scales") if ctx.has_input(2) else None
        sizes = ctx.static(3, "sizes") if ctx.has_input(3) else None
    axes = ctx.attr("axes", None)
    out, sc = resize_plan(ctx, x.type.shape, axes, scales, sizes,
                          ctx.attr("keep_aspect_ratio_policy", "stretch"))
    coord = ctx.attr("coordinate_transformation_mode", "half_pixel" if ctx.version >= 11
                     else "asymmetric")
    roi_full = None
    if coord == "tf_crop_and_resize":
        rank = x.type.rank
        roi_full = [0.0] * rank + [1.0] * rank
        if roi is not None and roi.size:
            ax = [a + rank if a < 0 else a for a in (axes or range(rank))]
            vals = roi.astype(np.float64).tolist()
            for i, a in enumerate(ax):
                roi_full[a], roi_full[rank + a] = vals[i], vals[len(ax) + i]
    mode = ctx.attr("mode", "nearest")
    nearest = ctx.attr("nearest_mode", "round_prefer_floor" if ctx.version >= 11 else "floor")
    return ctx.op("zt.resize", x, sizes=out, scales=sc, mode=mode, coordinate_mode=coord,
                  nearest_mode=nearest, cubic_coeff_a=float(ctx.attr("cubic_coeff_a", -0.75)),
                  exclude_outside=bool(ctx.attr("exclude_outside", 0)),
                  extrapolation_value=float(ctx.attr("extrapolation_value", 0.0)),
                  antialias=bool(ctx.attr("antialias", 0)),
                  roi=tuple(roi_full) if roi_full is not None else None)


@converter("Upsample", since=7)
def _upsample(ctx: NodeContext) -> Value:
    x = ctx.input(0)
    scales = np.asarray(ctx.attr("scales")) if ctx.version < 9 else ctx.static(1, "scales")
    out, sc = resize_plan(ctx, x.type.shape, None, scales.astype(np.float64), None, "stretch")
    mode = ctx.attr("mode", "nearest")
    return ctx.op("zt.resize", x, sizes=out, scales=sc, mode="linear" if "linear" in mode else mode,
                  coordinate_mode="asymmetric", nearest_mode="floor")


@converter("GridSample", since=16)
def _grid_sample(ctx: NodeContext) -> Value:
    mode = ctx.attr("mode", "linear" if ctx.version >= 20 else "bilinear")
    mode = {"bilinear": "linear", "bicubic": "cubic"}.get(mode, mode)
    return ctx.op("zt.grid_sample", ctx.input(0), ctx.cast_like(ctx.input(1), ctx.input(0)),
                  mode=mode, padding_mode=ctx.attr("padding_mode", "zeros"),
                  align_corners=bool(ctx.attr("align_corners", 0)))


def base_grid(dims: list[int], align_corners: bool) -> np.ndarray:
    """Homogeneous sampling positions [prod(dims), r + 1]: (x, y, ..., 1), x fastest."""
    axes = []
    for n in dims:
        if align_corners:
            axes.append(np.linspace(-1.0, 1.0, n) if n > 1 else np.zeros(1))
        else:
            axes.append((np.arange(n) * 2.0 + 1.0) / n - 1.0)
    mesh = np.meshgrid(*axes, indexing="ij")  # dims order: D, H, W
    cols = [m.reshape(-1) for m in reversed(mesh)]  # x (W) first
    return np.stack(cols + [np.ones(int(np.prod(dims)))], axis=1)


@converter("AffineGrid", since=20)
def _affine_grid(ctx: NodeContext) -> Value:
    theta = ctx.input(0)
    size = ctx.static_ints(1, "size")
    dims = list(size[2:])
    r = len(dims)
    if r not in (2, 3) or theta.type.rank != 3:
        ctx.fail(f"needs a 2-D or 3-D size and theta [N, r, r+1], got {size} and {theta.type}")
    base = ctx.constant(base_grid(dims, bool(ctx.attr("align_corners", 0))), theta.type.dtype)
    grid = ctx.op("zt.matmul", base, ctx.op("zt.transpose", theta, perm=(0, 2, 1)))
    return ctx.op("zt.reshape", grid, shape=(size[0], *dims, r))
