"""Samples for zt.dft; the oracle is numpy.fft (fft, ifft, rfft, irfft)."""

from __future__ import annotations

import numpy as np

from tests.opsamples import Arg, Draw, sample
from zenith.ir import DTYPES, TensorType


def _dft_oracle(ins, a):
    x = ins[0].astype(np.float64)
    axis = a.get("axis", -2) % (x.ndim - 1)
    inverse, onesided, n = a.get("inverse", False), a.get("onesided", False), a.get("length")
    xc = x[..., 0] + (1j * x[..., 1] if x.shape[-1] == 2 else 0)
    if inverse and onesided:
        y = np.fft.irfft(xc, n=n, axis=axis)[..., None]
    else:
        fn = np.fft.ifft if inverse else (np.fft.rfft if onesided else np.fft.fft)
        y = fn(xc.real if onesided else xc, n=n, axis=axis)
        y = np.stack([y.real, y.imag], axis=-1)
    return y.astype(ins[0].dtype)


@sample("zt.dft", _dft_oracle, rtol_scale=5.0, composable=False)
def _dft(d: Draw, like):
    inverse, onesided = d.bool(), d.bool()
    last = 1 if onesided and not inverse else 2
    shape = tuple(d.int(1, 6) for _ in range(d.int(1, 3)))
    axis = d.int(0, len(shape) - 1)
    if inverse and onesided and shape[axis] < 2:
        shape = shape[:axis] + (2,) + shape[axis + 1:]
    attrs = {"axis": axis, "inverse": inverse, "onesided": onesided}
    if d.bool():
        attrs["length"] = d.int(2, 8)
    t = TensorType(DTYPES[d.choice(("f32", "f64"))], shape + (last,))
    return [Arg(t, -1, 1)], attrs
