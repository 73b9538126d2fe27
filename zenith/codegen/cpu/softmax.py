"""Row softmax in generated C for the attention kernel: one call for all rows.

``softmax_rows(s, scale)`` replaces each contiguous row ``x`` of ``s`` (f32, last
axis) by ``softmax(scale * x)`` in place: a pass for the maximum, one for
``exp`` (``vmath``'s vectorizable ``zk_expf``), one summing in double, one to scale. It keeps
the NumPy path's semantics: a row whose maximum is ``-inf`` (every key masked)
becomes ``dead`` (0 under a mask, as the reference; NaN without one, as ``0/0``),
a row holding a NaN (or ``+inf``) becomes NaN. NumPy took five
passes (scale, max, subtract, exp, sum, divide) and ~1 ms for BERT-base's
12 x 128 x 128 scores; this takes one call.
"""

from __future__ import annotations

import ctypes
import functools

import numpy as np

from zenith.codegen.cpu import cc
from zenith.codegen.cpu.vmath import PRELUDE

ENTRY = "zk_softmax_rows"
SOURCE = "#include <math.h>\n" + PRELUDE + f"""
void {ENTRY}(float* s, long rows, long n, float scale, float dead) {{
  for (long r = 0; r < rows; ++r) {{
    float* x = s + r * n;
    float m = -INFINITY;
    int bad = 0;
    for (long i = 0; i < n; ++i) {{
      const float v = x[i] * scale;
      x[i] = v;
      bad |= (v != v) | (v == INFINITY);
      m = v > m ? v : m;
    }}
    if (bad || m == -INFINITY) {{
      const float fill = bad ? NAN : dead;
      for (long i = 0; i < n; ++i) x[i] = fill;
      continue;
    }}
    for (long i = 0; i < n; ++i) x[i] = zk_expf(x[i] - m);
    double sum = 0.0;
    for (long i = 0; i < n; ++i) sum += x[i];
    const float inv = (float)(1.0 / sum);
    for (long i = 0; i < n; ++i) x[i] *= inv;
  }}
}}
"""


@functools.lru_cache(maxsize=1)
def _entry():
    fn = getattr(cc.load(SOURCE), ENTRY)
    fn.restype = None
    fn.argtypes = [ctypes.c_void_p, ctypes.c_long, ctypes.c_long, ctypes.c_float, ctypes.c_float]
    return fn


def available() -> bool:
    return cc.available()


def softmax_rows(s: np.ndarray, scale: float = 1.0, dead: float = 0.0) -> None:
    """In place over the last axis of a C-contiguous f32 array; rows whose every
    score is ``-inf`` become ``dead`` (0, or NaN as ``0/0`` would give)."""
    assert s.dtype == np.float32 and s.flags.c_contiguous, (s.dtype, s.flags)
    n = s.shape[-1] if s.ndim else 1
    rows = s.size // n if n else 0
    if rows:
        _entry()(s.ctypes.data, rows, n, float(scale), float(dead))
