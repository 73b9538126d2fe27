"""``zt.dft``: the discrete Fourier transform along one axis (ONNX DFT-20).

Complex values are a trailing dim of 2 (real, imaginary); a real signal has a
trailing dim of 1. The reference multiplies by the DFT matrix in complex128.
"""

from __future__ import annotations

import numpy as np

from zenith.dialects.shape_rules import normalize_axis
from zenith.ir.opdef import ANCHOR, PURE, InferContext, InferError, define_op
from zenith.ir.types import TensorType


def dft_sizes(n_in, length: int | None, inverse: bool, onesided: bool):
    """(transform length, output length) along the axis; None where unknown."""
    if length is None:
        if n_in is None or isinstance(n_in, str):
            return None, None
        length = 2 * (n_in - 1) if inverse and onesided else n_in
    out = length // 2 + 1 if onesided and not inverse else length
    return length, out


def _dft_infer(ctx: InferContext) -> TensorType:
    x = ctx.operand_types[0]
    if not x.dtype.is_float:
        raise InferError(f"dft needs a float operand, got {x.dtype}")
    if x.rank < 2 or x.shape[-1] not in (1, 2):
        raise InferError(f"dft needs a last dim of 1 (real) or 2 (complex), got {x}")
    axis = normalize_axis(ctx.attr("axis"), x.rank - 1, "dft axis")
    inverse, onesided = ctx.attr("inverse"), ctx.attr("onesided")
    length = ctx.attr("length")
    if length is not None and length < 1:
        raise InferError(f"dft length must be positive, got {length}")
    if onesided and not inverse and x.shape[-1] != 1:
        raise InferError("a one-sided forward dft needs a real signal (last dim 1)")
    if onesided and inverse and x.shape[-1] != 2:
        raise InferError("a one-sided inverse dft needs a complex spectrum (last dim 2)")
    _, n_out = dft_sizes(x.shape[axis], length, inverse, onesided)
    shape = list(x.shape)
    shape[axis] = n_out
    shape[-1] = 1 if inverse and onesided else 2
    return x.with_shape(tuple(shape))


def _dft_ref(ctx, x):
    axis = ctx.attr("axis") % (x.ndim - 1)
    inverse, onesided = ctx.attr("inverse"), ctx.attr("onesided")
    xc = x[..., 0].astype(np.complex128)
    if x.shape[-1] == 2:
        xc = xc + 1j * x[..., 1]
    xc = np.moveaxis(xc, axis, -1)
    m = xc.shape[-1]
    n, n_out = dft_sizes(m, ctx.attr("length"), inverse, onesided)
    sign = 1.0 if inverse else -1.0
    k = np.arange(n)
    basis = np.exp(sign * 2j * np.pi * np.outer(k, k) / n)  # [signal index, frequency]
    if inverse and onesided:  # rebuild the Hermitian full spectrum from its first half
        full = np.zeros(xc.shape[:-1] + (n,), np.complex128)
        half = min(m, n // 2 + 1)
        full[..., :half] = xc[..., :half]
        for j in range(n // 2 + 1, n):
            if n - j < m:
                full[..., j] = np.conj(xc[..., n - j])
        y = (full @ basis / n).real[..., None]
    else:
        sig = np.zeros(xc.shape[:-1] + (n,), np.complex128)
        sig[..., :min(m, n)] = xc[..., :min(m, n)]
        y = sig @ basis[:, :n_out]
        if inverse:
            y = y / n
        y = np.stack([y.real, y.imag], axis=-1)
    return np.moveaxis(y, -2, axis).astype(x.dtype)


define_op(
    "zt.dft",
    operands=("x",),
    attrs={"axis": ("int", -2), "length": ("int", None), "inverse": ("bool", False),
           "onesided": ("bool", False)},
    traits=(PURE, ANCHOR),
    infer=_dft_infer,
    reference=_dft_ref,
    doc="DFT along `axis` of x [..., 1 | 2] (real | complex): zero-padded or truncated to "
        "`length`; `inverse` scales by 1/n; `onesided` returns bins 0..n/2 of a real signal, "
        "or (inverse) takes them and returns the real signal.",
)
