"""Pooling (ONNX MaxPool, AveragePool, LpPool and their Global forms), NCHW layout.

Windows follow ``nn.Window``: ``kernel_shape`` (required), ``strides``,
``dilations`` and ``pads`` (begins then ends; ones / zeros when absent).
``ceil_mode`` rounds the output size up, dropping a last window that would
start in the end padding (PyTorch and ONNX-19+ rule); the part of a window past
the padded input is ignored by every pool and never counted by ``avg_pool``.
"""

from __future__ import annotations

import math

import numpy as np

from zenith.dialects.numerics import in_f32
from zenith.dialects.shape_rules import same_dtype
from zenith.dialects.zt.nn import Window, pad_spatial, window_attrs, windows
from zenith.ir.dtypes import i64
from zenith.ir.opdef import ANCHOR, PURE, InferContext, InferError, define_op
from zenith.ir.types import TensorType

POOL_ATTRS = {
    "kernel_shape": "ints",
    "strides": ("ints", None),
    "pads": ("ints", None),
    "dilations": ("ints", None),
    "ceil_mode": ("bool", False),
}


def _pool_input(ctx: InferContext, ints_ok: bool, min_rank: int = 3) -> TensorType:
    x = ctx.operand_types[0]
    same_dtype(ctx)
    if not (x.dtype.is_float or (ints_ok and x.dtype.is_int)):
        want = "floating-point or integer" if ints_ok else "floating-point"
        raise InferError(f"'{ctx.name}' needs a {want} input, got {x.dtype}")
    if x.rank < min_rank:
        raise InferError(f"'{ctx.name}' input must be [N, C, D1, ...] with rank >= {min_rank}, "
                         f"got {x}")
    return x


def _window(ctx, rank: int) -> Window:
    n = rank - 2
    kernel = tuple(ctx.attr("kernel_shape"))
    if len(kernel) != n:
        raise InferError(f"kernel_shape {list(kernel)} must have {n} entries, one per spatial dim")
    if any(k < 1 for k in kernel):
        raise InferError(f"kernel_shape {list(kernel)} must all be >= 1")
    return window_attrs(ctx, kernel, n)


def _pool_infer(ints_ok: bool):
    def infer(ctx: InferContext) -> TensorType:
        x = _pool_input(ctx, ints_ok)
        win = _window(ctx, x.rank)
        return x.with_shape(x.shape[:2] + win.out_dims(x.shape[2:], ctx.attr("ceil_mode")))

    return infer


def _geometry(ctx, x: np.ndarray) -> tuple[Window, tuple[int, ...], tuple[int, ...]]:
    """Window, output dims, and the end padding that makes every window fit."""
    win = _window(ctx, x.ndim)
    out = tuple(int(o) for o in win.out_dims(x.shape[2:], ctx.attr("ceil_mode")))
    need = tuple((o - 1) * s + d * (k - 1) + 1 for o, s, d, k in
                 zip(out, win.strides, win.dilations, win.kernel))
    end = tuple(nd - size - pb for nd, size, pb in zip(need, x.shape[2:], win.pads_begin))
    return win, out, end


def _window_axes(nsp: int) -> tuple[int, ...]:
    return tuple(range(2 + nsp, 2 + 2 * nsp))


def _lowest(dt: np.dtype):
    return np.iinfo(dt).min if dt.kind in "iu" else -np.inf


def _max_pool_ref(ctx, x):
    win, out, end = _geometry(ctx, x)
    v = windows(pad_spatial(x, win.pads_begin, end, _lowest(x.dtype)), win, out)
    return v.max(axis=_window_axes(len(out)))


def _tap_counts(size: int, out: int, win_axis: tuple, include_pad: bool) -> np.ndarray:
    """Per output position along one axis: how many kernel taps fall in the counted region."""
    k, s, d, pb, pe = win_axis
    pos = np.arange(out)[:, None] * s - pb + np.arange(k)[None, :] * d
    lo, hi = (-pb, size + pe) if include_pad else (0, size)
    return ((pos >= lo) & (pos < hi)).sum(axis=1)


def _avg_pool(x, ctx):
    win, out, end = _geometry(ctx, x)
    v = windows(pad_spatial(x, win.pads_begin, end), win, out)
    total = v.sum(axis=_window_axes(len(out)))
    include = ctx.attr("count_include_pad")
    count = np.ones((), dtype=np.int64)
    for i, (size, o) in enumerate(zip(x.shape[2:], out)):
        axis = (win.kernel[i], win.strides[i], win.dilations[i], win.pads_begin[i], win.pads_end[i])
        c = _tap_counts(size, o, axis, include)
        count = np.multiply.outer(count, c) if count.ndim else c
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count.astype(x.dtype)


def _lp_pool(x, ctx):
    win, out, end = _geometry(ctx, x)
    p = ctx.attr("p")
    v = windows(pad_spatial(np.abs(x), win.pads_begin, end), win, out)
    return np.sum(v ** p, axis=_window_axes(len(out))) ** (1.0 / p)


define_op(
    "zt.max_pool",
    operands=("x",),
    attrs=dict(POOL_ATTRS),
    traits=(PURE, ANCHOR),
    infer=_pool_infer(ints_ok=True),
    reference=_max_pool_ref,
    doc="Maximum over each window of x [N, C, D1..Dn] (ONNX MaxPool, first output); padding never "
        "wins; out_i = floor-or-ceil((D_i + pads - dilations_i * (k_i - 1) - 1) / strides_i) + 1.",
)

define_op(
    "zt.avg_pool",
    operands=("x",),
    attrs={**POOL_ATTRS, "count_include_pad": ("bool", False)},
    traits=(PURE, ANCHOR),
    infer=_pool_infer(ints_ok=False),
    reference=lambda ctx, x: in_f32(_avg_pool)(x, ctx=ctx),
    doc="Mean over each window (ONNX AveragePool-19+): the sum of the taps inside the input "
        "divided by their count, or by the count of taps inside input + explicit pads when "
        "`count_include_pad` (taps in the ceil_mode overhang never count).",
)


def _lp_infer(ctx: InferContext) -> TensorType:
    if ctx.attr("p") < 1:
        raise InferError(f"p must be >= 1, got {ctx.attr('p')}")
    return _pool_infer(ints_ok=False)(ctx)


define_op(
    "zt.lp_pool",
    operands=("x",),
    attrs={**POOL_ATTRS, "p": ("int", 2)},
    traits=(PURE, ANCHOR),
    infer=_lp_infer,
    reference=lambda ctx, x: in_f32(_lp_pool)(x, ctx=ctx),
    doc="(sum of |x|^p over each window)^(1/p) (ONNX LpPool-18+); padding contributes 0.",
)


# --- max_pool_with_indices ---------------------------------------------------------------------


def _max_idx_infer(ctx: InferContext) -> list[TensorType]:
    y = _pool_infer(ints_ok=True)(ctx)
    if ctx.attr("storage_order") not in (0, 1):
        raise InferError(f"storage_order must be 0 (row-major) or 1 (column-major), "
                         f"got {ctx.attr('storage_order')}")
    return [y, y.with_dtype(i64)]


def _max_idx_ref(ctx, x):
    win, out, end = _geometry(ctx, x)
    spatial = x.shape[2:]
    # Flat position of each spatial element in its (n, c) plane; -1 marks padding.
    grids = np.indices(spatial, dtype=np.int64)
    if ctx.attr("storage_order") == 1:
        strides = [math.prod(spatial[:i]) for i in range(len(spatial))]
    else:
        strides = [math.prod(spatial[i + 1:]) for i in range(len(spatial))]
    flat = sum(g * s for g, s in zip(grids, strides))[None, None]
    vals = windows(pad_spatial(x, win.pads_begin, end, _lowest(x.dtype)), win, out)
    pos = windows(pad_spatial(flat, win.pads_begin, end, -1), win, out)
    nsp = len(out)
    axes = _window_axes(nsp)
    best = vals.max(axis=axes, keepdims=True)
    hit = (vals == best) & (pos >= 0)
    if x.dtype.kind not in "iu":
        hit |= np.isnan(vals) & np.isnan(best) & (pos >= 0)
    lead = vals.shape[:2 + nsp]
    hit = hit.reshape(lead + (-1,))
    first = np.argmax(hit, axis=-1)[..., None]
    pos_b = np.broadcast_to(pos, vals.shape).reshape(lead + (-1,))
    idx = np.take_along_axis(pos_b, first, axis=-1)[..., 0]
    n, c = x.shape[:2]
    plane = (np.arange(n)[:, None] * c + np.arange(c)[None, :]) * math.prod(spatial)
    idx = idx + plane.reshape((n, c) + (1,) * nsp)
    return best.reshape(lead), idx.astype(np.int64)


define_op(
    "zt.max_pool_with_indices",
    operands=("x",),
    results=2,
    attrs={**POOL_ATTRS, "storage_order": ("int", 0)},
    traits=(PURE, ANCHOR),
    infer=_max_idx_infer,
    reference=_max_idx_ref,
    doc="zt.max_pool plus the i64 index of each maximum (ONNX MaxPool's Indices): the flat index "
        "into x [N, C, D1..Dn], row-major over all dims when storage_order=0; with "
        "storage_order=1 the spatial part is column-major ((n * C + c) * prod(D) + d1 + D1 * d2 + "
        "...). Ties pick the first tap in row-major window order.",
)


# --- global pools -----------------------------------------------------------------------------


def _global_infer(ints_ok: bool):
    def infer(ctx: InferContext) -> TensorType:
        x = _pool_input(ctx, ints_ok, min_rank=2)
        if "p" in ctx.opdef.attrs and ctx.attr("p") < 1:
            raise InferError(f"p must be >= 1, got {ctx.attr('p')}")
        return x.with_shape(x.shape[:2] + (1,) * (x.rank - 2))

    return infer


def _spatial(x: np.ndarray) -> tuple[int, ...]:
    return tuple(range(2, x.ndim))


def _global_lp(x, p):
    return np.sum(np.abs(x) ** p, axis=_spatial(x), keepdims=True) ** (1.0 / p)


for _name, _ints, _ref, _doc in (
    ("global_avg_pool", False,
     lambda ctx, x: in_f32(lambda a: np.mean(a, axis=_spatial(a), keepdims=True))(x),
     "Mean over all spatial dims of x [N, C, D1..Dn], kept as 1 (ONNX GlobalAveragePool)."),
    ("global_max_pool", True,
     lambda ctx, x: np.max(x, axis=_spatial(x), keepdims=True),
     "Maximum over all spatial dims, kept as 1 (ONNX GlobalMaxPool)."),
    ("global_lp_pool", False,
     lambda ctx, x: in_f32(_global_lp)(x, p=ctx.attr("p")),
     "(sum of |x|^p over all spatial dims)^(1/p), kept as 1 (ONNX GlobalLpPool)."),
):
    define_op(
        f"zt.{_name}",
        operands=("x",),
        attrs={"p": ("int", 2)} if _name == "global_lp_pool" else {},
        traits=(PURE, ANCHOR),
        infer=_global_infer(_ints),
        reference=_ref,
        doc=_doc,
    )
