"""CPU pooling (zenith/codegen/cpu/pool.py): max pool in generated C and in NumPy, global
average pool, against the interpreter; NaN and all-(-inf) windows; the tap ranges."""

from __future__ import annotations

import numpy as np
import pytest

from tests.test_cpu_runtime import NUMPY_ONLY, _impls, _module, through_runtime
from zenith.codegen.cpu import CpuOptions, cc
from zenith.codegen.cpu.pool import tap_range

C_POOL = pytest.param(CpuOptions(c_min_elements=1), id="c",
                      marks=pytest.mark.skipif(not cc.available(), reason="no C compiler"))


@pytest.mark.parametrize("options", [pytest.param(NUMPY_ONLY, id="numpy"), C_POOL])
@pytest.mark.parametrize("k,stride,pads,hw", [(3, 2, (1, 1, 1, 1), (9, 9)), (2, 2, (0, 0, 0, 0), (9, 9)),
                                               (3, 1, (0, 0, 0, 0), (9, 9)), (3, 2, (1, 0, 0, 2), (8, 11)),
                                               (2, 3, (1, 1, 0, 0), (10, 7))])
def test_max_pool(options, k, stride, pads, hw):
    shape = (2, 3, *hw)
    m = _module([shape], lambda b, x: [b.op("zt.max_pool", x, kernel_shape=[k, k],
                                              strides=[stride] * 2, pads=list(pads))])
    x = np.random.default_rng(k * 7 + stride).standard_normal(shape).astype(np.float32)
    x[0, 0, :3, :3] = -np.inf  # a window of -inf only stays -inf (padding never wins)
    x[1, 2, 4, 5] = np.nan     # NaN wins every window it is in, as np.maximum does (assert_close
    # requires NaN exactly where the interpreter has it)
    exe = through_runtime(m, [x], options)
    impl = "c-maxpool" if options.use_c else "numpy-maxpool"
    assert impl in _impls(exe)
    if k >= stride:  # every input is in some window (NaN positions are compared above)
        assert np.isnan(exe([x])[0][1, 2]).any()


def test_tap_ranges_cover_exactly_the_valid_inputs():
    for pad in range(3):
        for stride in (1, 2, 3):
            for j in range(4):
                size, out = 10, 6
                lo, hi = tap_range(j, pad, stride, size, out)
                valid = [o for o in range(out) if 0 <= o * stride - pad + j < size]
                assert list(range(lo, hi)) == valid, (pad, stride, j)


@pytest.mark.parametrize("shape", [(2, 5, 7, 6), (1, 3, 4), (1, 2, 3, 2, 2)])
def test_global_avg_pool(shape):
    m = _module([shape], lambda b, x: [b.op("zt.relu", b.op("zt.global_avg_pool", x))])
    x = np.random.default_rng(len(shape)).standard_normal(shape).astype(np.float32)
    exe = through_runtime(m, [x], NUMPY_ONLY)
    assert any(i.startswith("numpy-global-avg-pool") for i in _impls(exe))
