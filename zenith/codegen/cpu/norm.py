"""Layer norm in generated C: one pass per row for the statistics, one to normalise.

Rows are the dims before ``axis``, the normalized axes one contiguous row of N
elements; scale and bias (when given) must cover the normalized shape exactly.
Sums accumulate in double. Other reductions (and layer norms with prologues,
broadcast affine parameters or other dtypes) run their references.
"""

from __future__ import annotations

import ctypes
import math

from zenith.codegen.cpu import cc
from zenith.codegen.cpu.anchors import _split, _with_epilogue
from zenith.codegen.cpu.cgen import ENTRY
from zenith.codegen.cpu.kernel import CpuOptions, Run, register
from zenith.ir.core import Operation


def layer_norm_source(rows: int, n: int, eps: float, scale: bool, bias: bool, threads: int) -> str:
    g = "g[i]" if scale else "1.0f"
    b = " + b[i]" if bias else ""
    params = ", ".join(["const float* x"] + ["const float* g"] * scale + ["const float* b"] * bias
                       + ["float* y"])
    return f"""/* layer norm: {rows} rows of {n} */
#include <math.h>
void {ENTRY}({params}) {{
#pragma omp parallel for num_threads({threads}) schedule(static) if({rows * n} > 65536)
  for (long r = 0; r < {rows}L; ++r) {{
    const float* xr = x + r * {n}L;
    float* yr = y + r * {n}L;
    double s = 0.0;
    for (long i = 0; i < {n}L; ++i) s += xr[i];
    const float mean = (float)(s / {n}.0);
    double v = 0.0;
    for (long i = 0; i < {n}L; ++i) {{ const float d = xr[i] - mean; v += (double)d * d; }}
    const float inv = 1.0f / sqrtf((float)(v / {n}.0) + {float(eps)!r}f);
    for (long i = 0; i < {n}L; ++i) yr[i] = (xr[i] - mean) * inv * {g}{b};
  }}
}}
"""


@register("reduction")
def build_layer_norm(op: Operation, options: CpuOptions) -> tuple[str, Run] | None:
    split = _split(op)
    if split is None or not options.use_c or not cc.available():
        return None
    anchor, epilogue = split
    x_t = anchor.operand(0).type
    if anchor.name != "zt.layer_norm" or x_t.dtype.name != "f32" or not x_t.is_static or \
            x_t.rank == 0 or any(v.type.dtype.name != "f32" for v in anchor.operands):
        return None
    axis = (anchor.attr("axis") if anchor.attr("axis") is not None else -1) % x_t.rank
    n = math.prod(x_t.shape[axis:])
    rows = math.prod(x_t.shape[:axis])
    if n == 0 or rows * n < options.c_min_elements // 4:
        return None
    if any(math.prod(v.type.shape) != n or v.type.rank > x_t.rank - axis for v in anchor.operands[1:]):
        return None
    block = op.regions[0].blocks[0]
    if any(v not in block.args for v in anchor.operands):
        return None
    pos = [list(block.args).index(v) for v in anchor.operands]
    eps = anchor.attr("epsilon") if anchor.attr("epsilon") is not None else 1e-5
    src = layer_norm_source(rows, n, eps, len(pos) > 1, len(pos) > 2, options.threads)
    fn = getattr(cc.load(src), ENTRY)
    fn.restype = None
    fn.argtypes = [ctypes.c_void_p] * (len(pos) + 1)

    def compute(ins, dest) -> None:
        fn(*[ins[p].ctypes.data for p in pos], dest.ctypes.data)

    return _with_epilogue(op, anchor, epilogue, compute, options, "c-layernorm")
