"""Winograd F(4x4, 3x3) convolution on the CPU (``winograd_c.py``): f32, 3x3, stride 1.

:class:`WinogradConv` runs one layer's images through ``zw_conv`` with weights
transformed once by :func:`transform_weights` (in float64, then rounded to f32).
A call returns False, having written nothing, when the image fails the input
screen (a NaN, an infinity or a magnitude of 2^64 or more): the caller then
runs the direct convolution, which keeps the reference's NaN and infinity
semantics. Weights that are not finite or reach 2^32 are not transformed
(:func:`transform_weights` returns None) for the same reason.

Rounding: the transforms add and scale by up to 8, so results differ from the
direct convolution's by a few f32 ulps of the largest partial sums (measured:
relative error ~2e-6 on 256 channels, docs/runtime.md); the tests bound it.
"""

from __future__ import annotations

import ctypes
import functools

import numpy as np

from zenith.codegen.cpu import cc, hostmem
from zenith.codegen.cpu.conv import Geometry, ptr
from zenith.codegen.cpu.conv_c import MR, NR
from zenith.codegen.cpu.winograd_c import POSITIONS, QUAD, SOURCE, TILE_PIXELS, WinoArgs

WEIGHT_LIMIT = 2.0 ** 32

# G (6x3): U = G g G^T, for the interpolation points 0, 1, -1, 2, -2 and infinity
G = np.array([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
              [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]])
MIN_TILES = 16     # below this many tiles a block is mostly padding: the direct conv is faster
MIN_CHANNELS = 16  # below this the transforms outweigh the GEMMs (3 channels: 0.75x direct)


def tiles(g: Geometry) -> tuple[int, int]:
    ho, wo = g.out_hw
    return -(-ho // TILE_PIXELS), -(-wo // TILE_PIXELS)


def applies(g: Geometry) -> bool:
    """3x3, stride 1, dilation 1, output channels a multiple of 4."""
    return (g.kh == g.kw == 3 and g.strides == (1, 1) and g.dilations == (1, 1)
            and g.M % MR == 0 and min(g.pads) >= 0 and g.C > 0 and min(g.out_hw) > 0)


def profitable(g: Geometry) -> bool:
    """Whether the layer should take it: it applies and has enough tiles."""
    th, tw = tiles(g)
    return applies(g) and th * tw >= MIN_TILES and g.C >= MIN_CHANNELS


def transform_weights(w: np.ndarray) -> np.ndarray | None:
    """(K, C, 3, 3) -> U as [36][K/4][C][4] f32, or None when a weight is not finite or
    reaches 2^32 (the transformed products could then overflow)."""
    w64 = np.asarray(w, np.float64)
    if not np.all(np.abs(w64) < WEIGHT_LIMIT):  # False for NaN too
        return None
    k, c = w64.shape[:2]
    # G g G^T for every (k, c) pair at once: vec(G g G^T) = (G kron G) vec(g)
    u = (w64.reshape(k * c, 9) @ np.kron(G, G).T).reshape(k // MR, MR, c, POSITIONS)
    return np.ascontiguousarray(u.transpose(3, 0, 2, 1), dtype=np.float32)


@functools.lru_cache(maxsize=1)
def _entry():
    fn = cc.load(SOURCE).zw_conv
    fn.restype = ctypes.c_int
    fn.argtypes = [ctypes.c_void_p] * 7 + [ctypes.POINTER(WinoArgs)]
    return fn


class WinogradConv:
    """One layer: ``conv(x, u, bias, res, dest) -> bool`` per image, kernel-owned scratch."""

    def __init__(self, g: Geometry, threads: int, relu: bool) -> None:
        if not applies(g):
            raise ValueError(f"Winograd F(4x4, 3x3) does not apply to {g}")
        th, tw = tiles(g)
        ho, wo = g.out_hw
        qw = -(-tw // QUAD)  # quads (four tiles side by side) per tile row
        # every quad's windows stay inside: 4 rows and 16 columns a quad, plus 2 and 4
        hp, wp = TILE_PIXELS * th + 2, QUAD * TILE_PIXELS * qw + 4
        pt, pl = g.pads[0], g.pads[1]
        self.xp = hostmem.zeros((g.C, hp, wp))  # borders stay zero; the interior is rewritten
        blocks = -(-th * qw * QUAD // NR)
        split_k = threads > 1 and blocks < 2 * threads and g.M // MR >= 2 * threads
        vf, mf = POSITIONS * (g.C * NR + 16), POSITIONS * (g.M * NR + 16)  # ZW_VSTRIDE
        self.work = hostmem.zeros(vf + threads * mf if split_k else threads * (vf + mf))
        self.args = WinoArgs(g.C, g.M, g.H, g.W, pt, pl, ho, wo, th, qw, hp, wp, int(relu),
                             threads, int(split_k))
        self.fn = _entry()

    @staticmethod
    def pack(w: np.ndarray) -> np.ndarray | None:
        u = transform_weights(w)
        if u is None:
            return None
        out = hostmem.zeros(u.shape)
        np.copyto(out, u)
        return out

    def __call__(self, x: np.ndarray, u: np.ndarray, bias: np.ndarray | None,
                 res: np.ndarray | None, dest: np.ndarray) -> bool:
        """x (C, H, W), dest and res (K, Ho, Wo): C-contiguous f32. False (dest untouched)
        when x fails the input screen."""
        return self.fn(ptr(x), ptr(self.xp), ptr(u), ptr(bias), ptr(res), ptr(dest),
                       ptr(self.work), ctypes.byref(self.args)) == 0
