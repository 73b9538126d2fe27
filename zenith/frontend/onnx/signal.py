"""Window functions (HannWindow, HammingWindow, BlackmanWindow): constants computed at
import time from the (static) window length."""

from __future__ import annotations

import numpy as np

from zenith.frontend.onnx.context import NodeContext
from zenith.frontend.onnx.registry import converter
from zenith.ir.core import Value

# name -> cosine-sum coefficients a_k of w[n] = sum_k (-1)^k a_k cos(2 pi k n / N)
WINDOWS = {
    "HannWindow": (0.5, 0.5),
    "HammingWindow": (25 / 46, 21 / 46),
    "BlackmanWindow": (0.42, 0.5, 0.08),
}


def window(kind: str, size: int, periodic: bool) -> np.ndarray:
    """A cosine-sum window of ``size`` points (periodic: N = size, symmetric: size - 1)."""
    n = np.arange(size, dtype=np.float64)
    denom = size if periodic else size - 1
    if denom <= 0:
        return np.ones(size)
    out = np.zeros(size)
    for k, a in enumerate(WINDOWS[kind]):
        out += (-1) ** k * a * np.cos(2 * np.pi * k * n / denom)
    return out


def _register(kind: str) -> None:
    @converter(kind, since=17)
    def conv(ctx: NodeContext) -> Value:
        size = int(np.asarray(ctx.static(0, "the window length")).reshape(-1)[0])
        if size < 0:
            ctx.fail(f"window length {size} is negative")
        dt = ctx.dtype_attr("output_datatype", 1)
        return ctx.constant(window(kind, size, bool(ctx.attr("periodic", 1))), dt)


for _kind in WINDOWS:
    _register(_kind)


@converter("DFT", since=17)
def _dft(ctx: NodeContext) -> Value:
    x = ctx.input(0)
    length = None
    if ctx.has_input(1):
        length = int(np.asarray(ctx.static(1, "dft_length")).reshape(-1)[0])
    if ctx.version >= 20:
        axis = int(np.asarray(ctx.static(2, "axis")).reshape(-1)[0]) if ctx.has_input(2) else -2
    else:
        axis = int(ctx.attr("axis", 1))
    rank = x.type.rank
    if axis < 0:
        axis += rank
    if not 0 <= axis < rank - 1:
        ctx.fail(f"axis {axis} is not a signal axis of {x.type}")
    return ctx.op("zt.dft", x, axis=axis, length=length, inverse=bool(ctx.attr("inverse", 0)),
                  onesided=bool(ctx.attr("onesided", 0)))


@converter("STFT", since=17)
def _stft(ctx: NodeContext) -> Value:
    """Frames by a constant gather, times the window, then a DFT per frame."""
    x = ctx.input(0)
    if x.type.rank != 3 or not isinstance(x.type.shape[1], int):
        ctx.fail(f"signal must be [batch, length (static), 1 | 2], got {x.type}")
    step = int(np.asarray(ctx.static(1, "frame_step")).reshape(-1)[0])
    win = ctx.opt_input(2)
    if ctx.has_input(3):
        frame = int(np.asarray(ctx.static(3, "frame_length")).reshape(-1)[0])
    elif win is not None and isinstance(win.type.shape[0], int):
        frame = win.type.shape[0]
    else:
        ctx.fail("needs frame_length or a window of static length")
    n = x.type.shape[1]
    frames = (n - frame) // step + 1
    if frames < 1 or step < 1:
        ctx.fail(f"no frame of {frame} fits a signal of {n} with step {step}")
    idx = np.arange(frames)[:, None] * step + np.arange(frame)[None, :]
    y = ctx.op("zt.gather", x, ctx.constant(idx.astype(np.int64)), axis=1)  # [B, F, L, C]
    if win is not None:
        y = ctx.op("zt.mul", y, ctx.op("zt.reshape", ctx.cast_like(win, x), shape=(1, 1, frame, 1)))
    return ctx.op("zt.dft", y, axis=2, onesided=bool(ctx.attr("onesided", 1)))
