"""N-d convolution and transposed convolution (ONNX Conv / ConvTranspose, NCHW layout).

Pads are explicit, ONNX order: all begins, then all ends (``[h0, w0, h1, w1]``);
the ONNX frontend resolves ``auto_pad`` and ConvTranspose's ``output_shape``
into them. ``strides``, ``dilations``, ``pads`` (and ``output_padding``)
default to ones / zeros when absent (None). The references are im2col +
matmul (conv) and matmul + col2im over kernel offsets (conv_transpose), with
low-precision floats computed in f32.

The window helpers here are shared with ``pool.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from zenith.dialects.numerics import in_f32
from zenith.dialects.shape_rules import check_dims_match, conv_out_dim, require_float, same_dtype
from zenith.ir.opdef import ANCHOR, PURE, InferContext, InferError, define_op
from zenith.ir.types import Dim, TensorType


@dataclass(frozen=True)
class Window:
    """Sliding-window geometry over the spatial dims (everything after N and C)."""

    kernel: tuple[int, ...]
    strides: tuple[int, ...]
    dilations: tuple[int, ...]
    pads_begin: tuple[int, ...]
    pads_end: tuple[int, ...]

    def out_dims(self, spatial: tuple[Dim, ...], ceil_mode: bool = False) -> tuple[Dim, ...]:
        """Output spatial dims; unknown where the input dim or kernel is not static."""
        return tuple(
            conv_out_dim(size, k, s, d, pb, pe, ceil_mode) if k is not None else None
            for size, k, s, d, pb, pe in zip(spatial, self.kernel, self.strides, self.dilations,
                                             self.pads_begin, self.pads_end))


def ints_attr(ctx: Any, key: str, n: int, default: int, minimum: int) -> tuple[int, ...]:
    """An optional per-spatial-dim ints attribute: ``n`` entries, each >= ``minimum``."""
    val = ctx.attr(key)
    if val is None:
        return (default,) * n
    if len(val) != n:
        raise InferError(f"{key} {list(val)} must have {n} entries, one per spatial dim")
    if any(v < minimum for v in val):
        raise InferError(f"{key} {list(val)} must all be >= {minimum}")
    return tuple(val)


def window_attrs(ctx: Any, kernel: tuple, n: int) -> Window:
    """Read strides, dilations and pads for ``n`` spatial dims."""
    pads = ints_attr(ctx, "pads", 2 * n, 0, 0)
    return Window(tuple(kernel), ints_attr(ctx, "strides", n, 1, 1),
                  ints_attr(ctx, "dilations", n, 1, 1), pads[:n], pads[n:])


def windows(xp: np.ndarray, win: Window, out: tuple[int, ...]) -> np.ndarray:
    """A view (N, C, *out, *kernel) of the windows of an already padded ``xp``.

    ``xp`` must be at least ``(out - 1) * stride + dilation * (kernel - 1) + 1`` long
    in each spatial dim.
    """
    n = len(win.kernel)
    eff = tuple(d * (k - 1) + 1 for k, d in zip(win.kernel, win.dilations))
    v = sliding_window_view(xp, eff, axis=tuple(range(2, 2 + n)))
    sl = (slice(None),) * 2
    sl += tuple(slice(0, (o - 1) * s + 1, s) for o, s in zip(out, win.strides))
    sl += tuple(slice(None, None, d) for d in win.dilations)
    return v[sl]


def pad_spatial(x: np.ndarray, begin: tuple[int, ...], end: tuple[int, ...], value=0) -> np.ndarray:
    """Pad the spatial dims of ``x`` (negative ``end`` crops)."""
    if not any(begin) and not any(end):
        return x
    xp = np.pad(x, [(0, 0), (0, 0)] + [(b, max(e, 0)) for b, e in zip(begin, end)],
                constant_values=value)
    if any(e < 0 for e in end):
        xp = xp[(slice(None), slice(None)) + tuple(slice(0, xp.shape[2 + i] + min(e, 0))
                                                   for i, e in enumerate(end))]
    return xp


def _conv_common(ctx: InferContext, what: str) -> tuple[TensorType, TensorType, int]:
    x, w = ctx.operand_types[:2]
    require_float(x, f"'{ctx.name}' input")
    same_dtype(ctx)
    if x.rank < 3:
        raise InferError(f"'{ctx.name}' input must be [N, C, D1, ...] with rank >= 3, got {x}")
    if w.rank != x.rank:
        raise InferError(f"{what} {w} must have the input's rank {x.rank}")
    group = ctx.attr("group")
    if group < 1:
        raise InferError(f"group must be >= 1, got {group}")
    return x, w, group


def _check_bias(ctx: InferContext, m: Dim) -> None:
    if len(ctx.operand_types) > 2:
        b = ctx.operand_types[2]
        if b.rank != 1:
            raise InferError(f"bias must be 1-D [M], got {b}")
        check_dims_match(b.shape[0], m, "bias size differs from output channels")


def _divisible(d: Dim, group: int, what: str) -> None:
    if isinstance(d, int) and d % group:
        raise InferError(f"{what} ({d}) is not divisible by group {group}")


def _static(t: tuple[Dim, ...]) -> tuple[int | None, ...]:
    return tuple(d if isinstance(d, int) else None for d in t)


# --- conv -------------------------------------------------------------------------------------


def _conv_infer(ctx: InferContext) -> TensorType:
    x, w, group = _conv_common(ctx, "weight [M, C/group, k1, ...]")
    n = x.rank - 2
    win = window_attrs(ctx, _static(w.shape[2:]), n)
    c, m = x.shape[1], w.shape[0]
    if isinstance(c, int) and isinstance(w.shape[1], int) and c != w.shape[1] * group:
        raise InferError(f"input has {c} channels but weight expects {w.shape[1]} x group {group}")
    _divisible(c, group, "input channels")
    _divisible(m, group, "output channels")
    _check_bias(ctx, m)
    return x.with_shape((x.shape[0], m) + win.out_dims(x.shape[2:]))


def conv_nd(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, win: Window, group: int
            ) -> np.ndarray:
    """N-d grouped convolution by im2col and one (batched) matmul."""
    n = x.shape[0]
    m, cg = w.shape[:2]
    ksize = math.prod(win.kernel)
    out = tuple(int(o) for o in win.out_dims(x.shape[2:]))
    npos = math.prod(out)
    wm = w.reshape(group, m // group, cg * ksize)
    pointwise = ksize == 1 and all(s == 1 for s in win.strides) and not any(win.pads_begin) \
        and not any(win.pads_end)
    if pointwise:
        cols = x.reshape(n, group, cg, npos)
    else:
        v = windows(pad_spatial(x, win.pads_begin, win.pads_end), win, out)
        nsp = len(out)
        # (N, C, *out, *k) -> (N, C, *k, *out) -> (N, G, Cg*K, P): the im2col copy.
        perm = (0, 1) + tuple(range(2 + nsp, 2 + 2 * nsp)) + tuple(range(2, 2 + nsp))
        cols = v.transpose(perm).reshape(n, group, cg * ksize, npos)
    y = np.matmul(wm, cols) if group > 1 else np.matmul(wm[0], cols[:, 0])
    y = y.reshape((n, m) + out)
    if bias is not None:
        y += bias.reshape((1, m) + (1,) * len(out))
    return y


def _conv_ref(ctx, x, w, bias=None):
    win = window_attrs(ctx, w.shape[2:], x.ndim - 2)
    args = (x, w) if bias is None else (x, w, bias)

    def f(x, w, *b):
        return conv_nd(x, w, b[0] if b else None, win, ctx.attr("group"))

    return in_f32(f)(*args)


SPATIAL_ATTRS = {"strides": ("ints", None), "dilations": ("ints", None), "pads": ("ints", None)}

define_op(
    "zt.conv",
    operands=("x", "w", "bias?"),
    attrs={**SPATIAL_ATTRS, "group": ("int", 1)},
    traits=(PURE, ANCHOR),
    infer=_conv_infer,
    reference=_conv_ref,
    doc="N-d cross-correlation (ONNX Conv): x [N, C, D1..Dn], w [M, C/group, k1..kn], bias [M]; "
        "y[n, m, o] = bias[m] + sum over c in m's group and kernel offsets t of "
        "w[m, c, t] * xpad[n, c, o * strides + t * dilations]; out_i = floor((D_i + pads_begin_i "
        "+ pads_end_i - dilations_i * (k_i - 1) - 1) / strides_i) + 1. pads = begins then ends.",
)


# --- conv_transpose ---------------------------------------------------------------------------


def _transpose_out(size: Dim, k: int | None, s: int, d: int, pb: int, pe: int, op: int) -> Dim:
    if not isinstance(size, int) or k is None:
        return None
    out = s * (size - 1) + op + d * (k - 1) + 1 - pb - pe
    if out < 0:
        raise InferError(f"pads {pb}+{pe} exceed the transposed-convolution output of "
                         f"{out + pb + pe} for input size {size}")
    return out


def _conv_transpose_infer(ctx: InferContext) -> TensorType:
    x, w, group = _conv_common(ctx, "weight [C, M/group, k1, ...]")
    n = x.rank - 2
    kernel = _static(w.shape[2:])
    win = window_attrs(ctx, kernel, n)
    op = ints_attr(ctx, "output_padding", n, 0, 0)
    check_dims_match(x.shape[1], w.shape[0], "input channels differ from weight dim 0")
    _divisible(x.shape[1], group, "input channels")
    m = w.shape[1] * group if isinstance(w.shape[1], int) else None
    _check_bias(ctx, m)
    out = tuple(_transpose_out(*a) for a in zip(x.shape[2:], kernel, win.strides, win.dilations,
                                                 win.pads_begin, win.pads_end, op))
    return x.with_shape((x.shape[0], m) + out)


def conv_transpose_nd(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, win: Window,
                      output_padding: tuple[int, ...], group: int) -> np.ndarray:
    """Gradient of conv w.r.t. its input: one matmul, then a scatter-add per kernel offset."""
    n, c = x.shape[:2]
    spatial = x.shape[2:]
    kernel = w.shape[2:]
    mg = w.shape[1]
    m, cg = mg * group, c // group
    npos = math.prod(spatial)
    wm = w.reshape(group, cg, mg * math.prod(kernel)).transpose(0, 2, 1)
    cols = np.matmul(wm, x.reshape(n, group, cg, npos))  # (N, G, Mg*K, P)
    cols = cols.reshape((n, m) + tuple(kernel) + tuple(spatial))
    full = tuple(s * (i - 1) + d * (k - 1) + 1 + op for s, i, d, k, op in
                 zip(win.strides, spatial, win.dilations, kernel, output_padding))
    buf = np.zeros((n, m) + full, dtype=cols.dtype)
    for t in np.ndindex(*kernel):
        dst = tuple(slice(ti * d, ti * d + s * (i - 1) + 1, s)
                    for ti, d, s, i in zip(t, win.dilations, win.strides, spatial))
        buf[(slice(None), slice(None)) + dst] += cols[(slice(None), slice(None)) + t]
    crop = tuple(slice(pb, f - pe) for pb, pe, f in zip(win.pads_begin, win.pads_end, full))
    y = buf[(slice(None), slice(None)) + crop]
    if bias is not None:
        y = y + bias.reshape((1, m) + (1,) * len(spatial))
    return y


def _conv_transpose_ref(ctx, x, w, bias=None):
    win = window_attrs(ctx, w.shape[2:], x.ndim - 2)
    op = ints_attr(ctx, "output_padding", x.ndim - 2, 0, 0)
    args = (x, w) if bias is None else (x, w, bias)

    def f(x, w, *b):
        return conv_transpose_nd(x, w, b[0] if b else None, win, op, ctx.attr("group"))

    return in_f32(f)(*args)


define_op(
    "zt.conv_transpose",
    operands=("x", "w", "bias?"),
    attrs={**SPATIAL_ATTRS, "output_padding": ("ints", None), "group": ("int", 1)},
    traits=(PURE, ANCHOR),
    infer=_conv_transpose_infer,
    reference=_conv_transpose_ref,
    doc="N-d transposed convolution (ONNX ConvTranspose, explicit pads): x [N, C, D1..Dn], "
        "w [C, M/group, k1..kn], bias [M]; each input element x[n, c, i] adds w[c, m, t] * x to "
        "position i * strides + t * dilations - pads_begin of output channel m of c's group; "
        "out_i = strides_i * (D_i - 1) + output_padding_i + dilations_i * (k_i - 1) + 1 "
        "- pads_begin_i - pads_end_i.",
)
