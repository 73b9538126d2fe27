"""Shared pieces of the GPU tests: the skip marker, tolerances and model builders.

Every module here sets ``pytestmark = GPU``: marked ``gpu`` and skipped, with the
reason, when PyCUDA, a device or the CUDA code generator is missing. Run them on
a GPU machine with ``python -m pytest -m gpu tests/gpu``.
"""

from __future__ import annotations

import numpy as np
import pytest

from zenith.tolerance import compare


def _unavailable() -> str | None:
    try:
        from zenith.cuda_target import cuda_unavailable

        return cuda_unavailable()
    except Exception as e:  # a broken install must skip, not error, at collection
        return f"{type(e).__name__}: {e}"


REASON = _unavailable()
GPU = [pytest.mark.gpu, pytest.mark.skipif(REASON is not None, reason=f"needs the CUDA target: {REASON}")]

RTOL = {"fp32": 1e-4, "fp16": 2e-2, "bf16": 2e-2}


def assert_matches(want: np.ndarray, got: np.ndarray, precision: str, what: str) -> None:
    """GPU result vs the CPU reference: rtol by precision, with an absolute floor of rtol x the
    RMS of the reference (so values that cancel to ~0 are judged on the output's scale)."""
    want, got = np.asarray(want), np.asarray(got)
    assert got.shape == want.shape and got.dtype == want.dtype, f"{what}: {got.dtype}{got.shape} " \
                                                                f"vs {want.dtype}{want.shape}"
    if want.dtype.kind != "f":
        np.testing.assert_array_equal(got, want, err_msg=what)
        return
    rtol = RTOL[precision]
    atol = rtol * float(np.sqrt(np.mean(np.square(want.astype(np.float64))))) if want.size else 0.0
    c = compare(want, got, rtol, atol)
    assert c.ok, f"{what} ({precision}): {c.message} (max abs err {c.max_abs_err:.3g}, rtol {rtol})"


def to_numpy(x) -> np.ndarray:
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)
