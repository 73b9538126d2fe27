"""Edge cases of trilu, depth_to_space, space_to_depth and reverse_sequence vs ONNX Runtime."""

from __future__ import annotations

import numpy as np
import pytest

from tests.op_harness import T, i64, infer, ort, run
from zenith.ir import ZenithError

RNG = np.random.default_rng(2)


def _x(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("upper", [True, False])
@pytest.mark.parametrize("k", [0, 2, -1, -9, 9])
@pytest.mark.parametrize("shape", [(3, 5), (2, 4, 3), (0, 3)])
def test_trilu_matches_onnx(upper, k, shape):
    x = _x(*shape)
    want = ort("Trilu", [x, np.array(k, np.int64)], upper=int(upper))[0]
    got = run("zt.trilu", [x], upper=upper, k=k)[0]
    assert np.array_equal(want, got)


def test_trilu_types_and_errors():
    assert infer("zt.trilu", [T("i32", "b", None, 4)], upper=False) == [T("i32", "b", None, 4)]
    with pytest.raises(ZenithError, match="rank >= 2"):
        infer("zt.trilu", [T("f32", 3)])


@pytest.mark.parametrize("mode", ["DCR", "CRD"])
@pytest.mark.parametrize("b", [1, 2, 3])
def test_depth_to_space_matches_onnx(mode, b):
    x = _x(2, 2 * b * b, 3, 2)
    want = ort("DepthToSpace", [x], blocksize=b, mode=mode)[0]
    assert np.array_equal(want, run("zt.depth_to_space", [x], blocksize=b, mode=mode)[0])


@pytest.mark.parametrize("b", [1, 2, 3])
def test_space_to_depth_matches_onnx_and_inverts_dcr(b):
    x = _x(2, 3, 2 * b, 3 * b)
    got = run("zt.space_to_depth", [x], blocksize=b)[0]
    assert np.array_equal(ort("SpaceToDepth", [x], blocksize=b)[0], got)
    assert np.array_equal(run("zt.depth_to_space", [got], blocksize=b)[0], x)


def test_block_ops_types_and_errors():
    assert infer("zt.depth_to_space", [T("f32", "n", 8, "h", 3)], blocksize=2) == \
        [T("f32", "n", 2, None, 6)]
    assert infer("zt.space_to_depth", [T("f32", "n", "c", 4, None)], blocksize=2) == \
        [T("f32", "n", None, 2, None)]
    assert infer("zt.space_to_depth", [T("f32", 1, "c", 4, 4)], blocksize=1) == \
        [T("f32", 1, "c", 4, 4)]
    with pytest.raises(ZenithError, match="channels 6 is not divisible by 4"):
        infer("zt.depth_to_space", [T("f32", 1, 6, 2, 2)], blocksize=2)
    with pytest.raises(ZenithError, match="mode 'RDC' is not one of DCR, CRD"):
        infer("zt.depth_to_space", [T("f32", 1, 4, 2, 2)], blocksize=2, mode="RDC")
    with pytest.raises(ZenithError, match="width 5 is not divisible by 2"):
        infer("zt.space_to_depth", [T("f32", 1, 4, 2, 5)], blocksize=2)
    with pytest.raises(ZenithError, match="blocksize must be at least 1"):
        infer("zt.space_to_depth", [T("f32", 1, 4, 2, 2)], blocksize=0)
    with pytest.raises(ZenithError, match="must have rank 4"):
        infer("zt.depth_to_space", [T("f32", 4, 2, 2)], blocksize=2)


@pytest.mark.parametrize("batch_axis, time_axis", [(1, 0), (0, 1)])
def test_reverse_sequence_matches_onnx(batch_axis, time_axis):
    x = _x(4, 4, 2) if batch_axis == 1 else _x(4, 5, 2)
    lens = i64(0, 4, 2, 1)
    want = ort("ReverseSequence", [x, lens], batch_axis=batch_axis, time_axis=time_axis)[0]
    got = run("zt.reverse_sequence", [x, lens], batch_axis=batch_axis, time_axis=time_axis)[0]
    assert np.array_equal(want, got)


def test_reverse_sequence_errors():
    with pytest.raises(ZenithError, match="must be 0 and 1"):
        infer("zt.reverse_sequence", [T("f32", 3, 3), T("i64", 3)], batch_axis=0, time_axis=0)
    with pytest.raises(ZenithError, match="one length per batch entry"):
        infer("zt.reverse_sequence", [T("f32", 3, 2), T("i64", 3)])
    with pytest.raises(ZenithError, match="integer dtype"):
        infer("zt.reverse_sequence", [T("f32", 3, 2), T("f32", 2)])
    assert infer("zt.reverse_sequence", [T("f32", "t", "b"), T("i64", "b")]) == [T("f32", "t", "b")]
    with pytest.raises(ZenithError, match="sequence length 5 of batch entry 0 is outside"):
        run("zt.reverse_sequence", [_x(4, 1), i64(5)])
