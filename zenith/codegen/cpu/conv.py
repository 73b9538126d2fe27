"""Direct 2-D convolution on the CPU: f32, group 1, any kernel size, stride, dilation and padding.

:class:`DirectConv` runs one layer's images through ``zk_conv`` (``conv_c.py``):
no im2col, the weights packed once (constants) into the register tile's order,
bias, a residual add and ReLU applied to the tile in registers, OpenMP over
``CpuOptions.threads``. :func:`build` makes a kernel of it for a ``conv`` kernel
whose epilogue is one of ``[]``, ``[relu]``, ``[add(residual)]`` or
``[add(residual), relu]``; any other epilogue runs after it (``chain``). It
returns None (the NumPy im2col path then runs) without a C compiler, for
other dtypes, groups, ranks, or output channels that are not a multiple of 4.

Blocking (measured on ResNet-50's layers, docs/benchmarks.md): pixel blocks of
``nc`` (48, or 96 when splitting channels), input-channel blocks of ``kc`` so the
packed block of B stays within ~192 KB, and the threads split output channels
when there are at least a quarter as many as pixels, pixel blocks otherwise.
"""

from __future__ import annotations

import ctypes
import functools
from dataclasses import dataclass

import numpy as np

from zenith.codegen.cpu import cc, hostmem
from zenith.codegen.cpu.conv_c import MAX_TAPS, MR, NR, SOURCE, ConvArgs
from zenith.ir.core import Operation, Value
from zenith.ir.opdef import CONSTANT_LIKE, VIEW

PACK_FLOATS = 112 * 1024  # packed B per block: 448 KB, most of a 512 KB L2


@dataclass(frozen=True)
class Geometry:
    """One image's convolution: x (C, H, W) * w (M, C, kh, kw) -> (M, Ho, Wo)."""

    C: int
    H: int
    W: int
    M: int
    kh: int
    kw: int
    strides: tuple[int, int] = (1, 1)
    dilations: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)  # top, left, bottom, right

    @property
    def out_hw(self) -> tuple[int, int]:
        (sh, sw), (dh, dw), (pt, pl, pb, pr) = self.strides, self.dilations, self.pads
        return ((self.H + pt + pb - dh * (self.kh - 1) - 1) // sh + 1,
                (self.W + pl + pr - dw * (self.kw - 1) - 1) // sw + 1)


def supported(g: Geometry) -> bool:
    ho, wo = g.out_hw
    return (g.M % MR == 0 and ho > 0 and wo > 0 and g.C > 0 and min(g.pads) >= 0
            and g.kh * g.kw <= MAX_TAPS and min(g.strides) > 0 and min(g.dilations) > 0)


def blocking(g: Geometry, threads: int) -> tuple[int, int, bool]:
    """(kc, nc, split_m): input channels per block, pixels per block, split output channels.

    Measured on ResNet-50's layers at 2 threads (docs/benchmarks.md): threads split the
    pixels in blocks of 48 unless there are fewer than four register tiles' worth per
    thread (the 7x7 stage), where they split output channels over shared blocks of 96;
    input channels are blocked only past ~440 KB of packed B (~220 KB when shared)."""
    ho, wo = g.out_hw
    split_m = threads > 1 and ho * wo < 4 * NR * threads and 2 * threads <= g.M // MR
    nc = 4 * NR if split_m else 2 * NR
    budget = PACK_FLOATS // 2 if split_m else PACK_FLOATS
    kmax = max(8, budget // (nc * g.kh * g.kw))
    blocks = -(-g.C // kmax)
    kc = -(-g.C // blocks)
    return kc, nc, split_m


def pack_weights(w: np.ndarray, kc: int) -> np.ndarray:
    """(M, C, kh, kw) -> per block of ``kc`` channels, [M/MR][tap][channel][MR], one flat f32 array."""
    m, c = w.shape[:2]
    taps = w.shape[2] * w.shape[3]
    w3 = w.reshape(m // MR, MR, c, taps)
    parts = [w3[:, :, c0:c0 + kc].transpose(0, 3, 2, 1).ravel() for c0 in range(0, c, kc)]
    return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)


@functools.lru_cache(maxsize=1)
def _entry():
    fn = cc.load(SOURCE).zk_conv
    fn.restype = None
    fn.argtypes = [ctypes.c_void_p] * 8 + [ctypes.POINTER(ConvArgs)]
    return fn


class DirectConv:
    """One layer: ``conv(x, wpk, bias, res, dest)`` per image, with kernel-owned scratch."""

    def __init__(self, g: Geometry, threads: int, relu: bool) -> None:
        if not supported(g):
            raise ValueError(f"direct conv does not support {g}")
        self.kc, nc, split_m = blocking(g, threads)
        ho, wo = g.out_hw
        (sh, sw), (dh, dw), (pt, pl, pb, pr) = g.strides, g.dilations, g.pads
        hp, wp = g.H + pt + pb, g.W + pl + pr
        # the padded image (borders stay zero); unpadded layers read x itself
        self.xp = hostmem.zeros((g.C, hp, wp)) if any(g.pads) else None
        self.toff = np.array([i * dh * wp + j * dw for i in range(g.kh) for j in range(g.kw)],
                             np.int32)
        taps = g.kh * g.kw
        per_thread = nc * taps * self.kc + (g.M * nc if self.kc < g.C else 0)
        self.work = hostmem.zeros(threads * per_thread)
        self.args = ConvArgs(g.C, g.M, taps, wp, hp * wp, ho, wo, sh, sw, self.kc, nc,
                             int(relu), threads, int(split_m), g.H, g.W, pt, pl)
        self.fn = _entry()

    def pack(self, w: np.ndarray) -> np.ndarray:
        packed = pack_weights(np.asarray(w, np.float32), self.kc)
        out = hostmem.zeros(packed.shape)  # huge pages: the weights stream through the TLB
        np.copyto(out, packed)
        return out

    def __call__(self, x: np.ndarray, wpk: np.ndarray, bias: np.ndarray | None,
                 res: np.ndarray | None, dest: np.ndarray) -> None:
        """x (C, H, W), dest and res (M, Ho, Wo): C-contiguous f32. The threads copy x into
        the padded image themselves (it was a single-threaded NumPy copy per layer)."""
        self.fn(ptr(x), ptr(self.xp), ptr(wpk), ptr(bias), ptr(res), ptr(dest), ptr(self.work),
                ptr(self.toff), ctypes.byref(self.args))


def ptr(a: np.ndarray | None) -> int | None:
    return None if a is None else a.ctypes.data


def is_constant(v: Value) -> bool:
    """Whether ``v`` is a constant (through views): its array is the same every call."""
    seen = 0
    while not isinstance(v.owner, Operation) or not v.owner.has_trait(CONSTANT_LIKE):
        op = v.owner
        if not isinstance(op, Operation) or not op.has_trait(VIEW) or seen > 64:
            return False
        v, seen = op.operand(0), seen + 1
    return True


def match_epilogue(h: Value, epilogue: list[Operation], args: list[Value]
                   ) -> tuple[int | None, bool] | None:
    """``(residual arg index or None, relu)`` when the epilogue is ``[add(h, r)]?, [relu]?``
    over block argument ``r`` of ``h``'s type; None for anything else."""
    cur, res, relu, ops = h, None, False, list(epilogue)
    if ops and ops[0].name == "zt.add" and cur in ops[0].operands and len(cur.uses) == 1:
        other = [v for v in ops[0].operands if v is not cur]
        if len(other) != 1 or other[0] not in args or other[0].type != h.type:
            return None
        res, cur = args.index(other[0]), ops.pop(0).results[0]
    if ops and ops[0].name == "zt.relu" and ops[0].operand(0) is cur and len(cur.uses) == 1:
        relu, cur = True, ops.pop(0).results[0]
    if ops or cur.type != h.type:
        return None
    return res, relu


def geometry_of(anchor: Operation) -> Geometry:
    (_, c, hgt, wid), (m, _, kh, kw) = anchor.operand(0).type.shape, anchor.operand(1).type.shape
    return Geometry(c, hgt, wid, m, kh, kw, tuple(anchor.attr("strides") or (1, 1)),
                    tuple(anchor.attr("dilations") or (1, 1)),
                    tuple(anchor.attr("pads") or (0, 0, 0, 0)))

