"""Row softmax in generated C for the attention kernel: one call for all rows.

``softmax_rows(s, scale, bias=)`` replaces each contiguous row ``x`` of the scores
``s`` (f32, last axis) by ``softmax(scale * x + bias)`` in place, the bias (mask,
causal, or both) read through its broadcast strides: a pass for the maximum, one for
``exp`` (``vmath``'s vectorizable ``zk_expf``), one summing in double, one to scale. It keeps
the NumPy path's semantics: a row whose maximum is ``-inf`` (every key masked)
becomes ``dead`` (0 under a mask, as the reference; NaN without one, as ``0/0``),
a row holding a NaN (or ``+inf``) becomes NaN. NumPy took six
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
/* rows are (b, h, q) of the scores (b, h, q, n); bias (NULL: none) is read at
   ((r / (h q)) sb + ((r / q) % h) sh + (r % q) sq) + i sk, a broadcast view */
void {ENTRY}(float* s, long rows, long n, float scale, float dead, const float* bias,
             long h, long q, long sb, long sh, long sq, long sk) {{
  for (long r = 0; r < rows; ++r) {{
    float* x = s + r * n;
    const float* br = bias ? bias + (r / (h * q)) * sb + ((r / q) % h) * sh + (r % q) * sq : 0;
    if (!br) {{
      for (long i = 0; i < n; ++i) x[i] *= scale;
    }} else if (sk == 1) {{  /* contiguous rows of bias: vectorized */
      for (long i = 0; i < n; ++i) x[i] = x[i] * scale + br[i];
    }} else {{  /* sk == 0: one bias value per row */
      const float b0 = br[0];
      for (long i = 0; i < n; ++i) x[i] = x[i] * scale + b0;
    }}
    float m = -INFINITY;
    int bad = 0;
    for (long i = 0; i < n; ++i) {{
      const float v = x[i];
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
    fn.argtypes = [ctypes.c_void_p, ctypes.c_long, ctypes.c_long, ctypes.c_float, ctypes.c_float,
                   ctypes.c_void_p] + [ctypes.c_long] * 6
    return fn


def softmax_rows(s: np.ndarray, scale: float = 1.0, dead: float = 0.0,
                 bias: np.ndarray | None = None) -> None:
    """``s = softmax(scale * s + bias)`` over the last axis, in place, for C-contiguous
    f32 scores of rank 4 (b, h, q, n); ``bias`` (f32) broadcasts to them. Rows whose
    every score is ``-inf`` become ``dead`` (0, or NaN as ``0/0`` would give)."""
    assert s.dtype == np.float32 and s.flags.c_contiguous and s.ndim == 4, (s.dtype, s.shape)
    _, h, q, n = s.shape
    strides = [0, 0, 0, 0]
    if bias is not None:
        assert bias.dtype == np.float32, bias.dtype
        if bias.ndim and bias.shape[-1] != 1 and bias.strides[-1] != 4:
            bias = np.ascontiguousarray(bias)  # the C reads a row of bias contiguously
        view = np.broadcast_to(bias, s.shape)
        strides = [st // 4 for st in view.strides]
    if s.size:
        _entry()(s.ctypes.data, s.size // n, n, float(scale), float(dead),
                 None if bias is None else bias.ctypes.data, h, q, *strides)
