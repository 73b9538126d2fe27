"""Pooling on the CPU: 2-D max pool (generated C, or NumPy) and global average pool (NumPy).

Max pool (floor mode, no dilation) in C walks each output row once per window tap,
with the valid output range of every tap computed here, so padding is skipped rather
than read (no padded copy of the input) and the loops are branch-free. NaN
propagates as in the reference (``np.maximum``): ``v > m || v != v`` keeps it.
Without a C compiler, or below ``c_min_elements``, a running ``np.maximum`` over the
window's strided views of a ``-inf``-padded copy does the same.
"""

from __future__ import annotations

import ctypes

import numpy as np

from zenith.codegen.cpu import cc
from zenith.codegen.cpu.anchors import _float, _split, _with_epilogue
from zenith.codegen.cpu.cgen import ENTRY
from zenith.codegen.cpu.kernel import CpuOptions, Run, register
from zenith.ir.core import Operation


def tap_range(j: int, pad: int, stride: int, size: int, out: int) -> tuple[int, int]:
    """Outputs ``o`` in [lo, hi) whose input ``o * stride - pad + j`` lies in [0, size)."""
    lo = max(0, -(-(pad - j) // stride))
    hi = min(out, (size - 1 + pad - j) // stride + 1)
    return lo, max(lo, hi)


def max_pool_source(planes: int, hw: tuple[int, int], out: tuple[int, int],
                    kernel: tuple[int, int], strides: tuple[int, int], pads: tuple[int, int],
                    threads: int) -> str:
    (h, w), (ho, wo), (kh, kw), (sh, sw), (pt, pl) = hw, out, kernel, strides, pads
    cols = [tap_range(j, pl, sw, w, wo) for j in range(kw)]
    taps = "\n".join(
        f"        for (long o = {lo}; o < {hi}; o++) {{ const float v = xr[o * {sw} - {pl - j}]; "
        f"yr[o] = (v > yr[o] || v != v) ? v : yr[o]; }}"
        for j, (lo, hi) in enumerate(cols) if hi > lo)
    par = (f"#pragma omp parallel for num_threads({threads}) schedule(static)" if threads > 1 else "")
    return f"""/* max pool: {planes} planes {h}x{w} -> {ho}x{wo}, window {kh}x{kw}, strides {sh}x{sw} */
#include <math.h>
void {ENTRY}(const float* restrict x, float* restrict y) {{
{par}
  for (long p = 0; p < {planes}L; p++) {{
    const float* xp = x + p * {h * w}L;
    for (long oh = 0; oh < {ho}; oh++) {{
      float* yr = y + p * {ho * wo}L + oh * {wo};
      for (long o = 0; o < {wo}; o++) yr[o] = -INFINITY;
      for (long i = 0; i < {kh}; i++) {{
        const long hi = oh * {sh} - {pt} + i;
        if (hi < 0 || hi >= {h}) continue;
        const float* xr = xp + hi * {w};
{taps}
      }}
    }}
  }}
}}
"""


def _pool_anchor(op: Operation, name: str) -> tuple[Operation, list[Operation], int] | None:
    """(anchor, epilogue, index of its input among the kernel's) for a float ``name`` anchor
    that reads a kernel input, else None."""
    split = _split(op)
    if split is None or split[0].name != name or not _float(split[0].operand(0)):
        return None
    args = list(op.regions[0].blocks[0].args)
    if split[0].operand(0) not in args:
        return None
    return split[0], split[1], args.index(split[0].operand(0))


@register("pool")
def build_max_pool(op: Operation, options: CpuOptions) -> tuple[str, Run] | None:
    """2-D max pool (floor mode, no dilation): generated C, or a running NumPy maximum."""
    found = _pool_anchor(op, "zt.max_pool")
    if found is None:
        return None
    anchor, epilogue, xi = found
    x_t = anchor.operand(0).type
    if x_t.rank != 4 or anchor.attr("ceil_mode") or \
            any(d != 1 for d in (anchor.attr("dilations") or (1, 1))):
        return None
    n, c, hgt, wid = x_t.shape
    kh, kw = anchor.attr("kernel_shape")
    sh, sw = anchor.attr("strides") or (1, 1)
    pt, pl, pb, pr = anchor.attr("pads") or (0, 0, 0, 0)
    if min(pt, pl, pb, pr) < 0:
        return None
    _, _, ho, wo = anchor.results[0].type.shape
    if options.use_c and cc.available() and x_t.dtype.name == "f32" and \
            n * c * ho * wo >= options.c_min_elements // 4:
        src = max_pool_source(n * c, (hgt, wid), (ho, wo), (kh, kw), (sh, sw), (pt, pl),
                              options.c_threads)
        fn = getattr(cc.load(src), ENTRY)
        fn.restype = None
        fn.argtypes = [ctypes.c_void_p] * 2

        def compute_c(ins: list[np.ndarray], dest: np.ndarray) -> None:
            fn(ins[xi].ctypes.data, dest.ctypes.data)

        return _with_epilogue(op, anchor, epilogue, compute_c, options, "c-maxpool")
    xp = np.full((n, c, hgt + pt + pb, wid + pl + pr), -np.inf, x_t.dtype.np_dtype)
    interior = xp[:, :, pt:pt + hgt, pl:pl + wid]
    taps = [xp[:, :, i:i + (ho - 1) * sh + 1:sh, j:j + (wo - 1) * sw + 1:sw]
            for i in range(kh) for j in range(kw)]

    def compute(ins: list[np.ndarray], dest: np.ndarray) -> None:
        np.copyto(interior, ins[xi])
        np.copyto(dest, taps[0])
        for t in taps[1:]:
            np.maximum(dest, t, out=dest)

    return _with_epilogue(op, anchor, epilogue, compute, options, "numpy-maxpool")


@register("pool")
def build_global_avg_pool(op: Operation, options: CpuOptions) -> tuple[str, Run] | None:
    """Mean over the spatial dims of an f32/f64 (N, C, ...) tensor, into the (N, C, 1...) output."""
    found = _pool_anchor(op, "zt.global_avg_pool")
    if found is None or found[0].operand(0).type.rank < 3:
        return None
    anchor, epilogue, xi = found
    n, c = anchor.operand(0).type.shape[:2]

    def compute(ins: list[np.ndarray], dest: np.ndarray) -> None:
        np.mean(ins[xi].reshape(n, c, -1), axis=2, out=dest.reshape(n, c))

    return _with_epilogue(op, anchor, epilogue, compute, options, "numpy-global-avg-pool")
