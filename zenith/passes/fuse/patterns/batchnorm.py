"""Inference batch norm: folded into the convolution before it, or made an affine map.

With constant parameters, ``batch_norm(y)`` is ``y * s + t`` per channel, where
``s = scale / sqrt(var + eps)`` and ``t = bias - mean * s``:

- ``batch_norm(conv(x, W, b))`` with constant ``W`` (and ``b``), the conv read by
  nothing else -> ``conv(x, W * s, (b - mean) * s + bias)`` (``conv_transpose`` too:
  its output channels are the second weight axis, per group);
- any other ``batch_norm`` -> ``mul`` and ``add`` with constants of shape
  [C, 1, ..., 1], elementwise ops the partition fuses like any other.

Folding is computed in f64 and rounded once to the weight's dtype.
"""

from __future__ import annotations

import numpy as np

from zenith.ir.attributes import DenseAttr
from zenith.ir.core import Operation
from zenith.ir.rewrite import PatternRewriter, constant_value, pattern
from zenith.passes.fuse.patterns.match import is_float, op_of


def _affine(op: Operation) -> tuple[np.ndarray, np.ndarray] | None:
    """Per-channel (s, t) in f64 of a batch norm with constant parameters."""
    arrays = [constant_value(v) for v in op.operands[1:]]
    if any(a is None for a in arrays) or not is_float(op.result):
        return None
    scale, bias, mean, var = (a.astype(np.float64) for a in arrays)
    s = scale / np.sqrt(var + op.attr("epsilon"))
    return s, bias - mean * s


def _const(rewriter: PatternRewriter, arr: np.ndarray, like: np.dtype):
    return rewriter.op("zt.constant", value=DenseAttr(arr.astype(like)))


@pattern("zt.batch_norm", benefit=2, name="conv-batch-norm")
def conv_batch_norm(op: Operation, rewriter: PatternRewriter) -> bool:
    conv = op_of(op.operand(0), "zt.conv", "zt.conv_transpose")
    if conv is None or conv.result.num_uses != 1:
        return False
    w = constant_value(conv.operand(1))
    b = constant_value(conv.operand(2)) if conv.num_operands > 2 else None
    st = _affine(op)
    if w is None or st is None or (conv.num_operands > 2 and b is None):
        return False
    s, t = st
    w64 = w.astype(np.float64)
    if conv.name == "zt.conv":
        w64 = w64 * s.reshape((-1,) + (1,) * (w.ndim - 1))
    else:  # [C_in, C_out/g, k...]: output channel g*C_out/g + j is weight[g-th block, j]
        g = conv.attr("group")
        cin, cout_g = w.shape[0], w.shape[1]
        blocks = w64.reshape((g, cin // g, cout_g) + w.shape[2:])
        w64 = (blocks * s.reshape((g, 1, cout_g) + (1,) * (w.ndim - 2))).reshape(w.shape)
    b64 = (b.astype(np.float64) if b is not None else np.zeros_like(s)) * s + t
    wv = _const(rewriter, w64, w.dtype)
    bv = _const(rewriter, b64, w.dtype)
    new = rewriter.create(conv.name, [conv.operand(0), wv, bv], dict(conv.attributes), conv.result_types)
    rewriter.replace_op(op, new)
    return True


@pattern("zt.batch_norm", benefit=1, name="batch-norm-affine")
def batch_norm_affine(op: Operation, rewriter: PatternRewriter) -> bool:
    st = _affine(op)
    x = op.operand(0)
    if st is None or x.type.rank < 2:
        return False
    shape = (-1,) + (1,) * (x.type.rank - 2)
    dt = x.type.dtype.np_dtype
    s, t = (_const(rewriter, a.reshape(shape), dt) for a in st)
    m = rewriter.op("zt.mul", x, s)
    y = rewriter.op("zt.add", m, t)
    if y.type != op.result.type:  # e.g. an unknown channel dim the constants would pin down
        for v in (y, m, t, s):
            rewriter.erase_op(v.op)
        return False
    rewriter.replace_op(op, [y])
    return True


PATTERNS = [conv_batch_norm, batch_norm_affine]
