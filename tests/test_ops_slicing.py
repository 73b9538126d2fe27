"""Edge cases of concat, split, slice, pad and tile, judged by ONNX Runtime and NumPy."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tests.op_harness import T, i64, infer, ort, run
from zenith.ir import ZenithError

RNG = np.random.default_rng(1)
I64_MAX, I64_MIN, I32_MAX = 2**63 - 1, -(2**63), 2**31 - 1


def _x(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def _same(want: np.ndarray, got: np.ndarray) -> None:
    assert want.shape == got.shape and want.dtype == got.dtype
    assert np.array_equal(want, got)


# -- concat ---------------------------------------------------------------------------


@pytest.mark.parametrize("axis", [0, 1, -1, -2])
def test_concat_matches_onnx_with_empty_inputs(axis):
    a = _x(2, 3)
    shape = (0, 3) if axis in (0, -2) else (2, 0)
    b, c = np.zeros(shape, np.float32), _x(2, 3)
    _same(ort("Concat", [a, b, c], axis=axis)[0], run("zt.concat", [a, b, c], axis=axis)[0])


def test_concat_types_and_errors():
    assert infer("zt.concat", [T("f32", "n", 2), T("f32", 3, 2)], axis=-1) == [T("f32", 3, 4)]
    assert infer("zt.concat", [T("f32", "n", 2), T("f32", 0, None)], axis=0) == [T("f32", "n", 2)]
    assert infer("zt.concat", [T("f32", "n", 2), T("f32", 3, 2)], axis=0) == [T("f32", None, 2)]
    with pytest.raises(ZenithError, match="input #1 dim 1 differs from input #0: 2 != 3"):
        infer("zt.concat", [T("f32", 1, 2), T("f32", 1, 3)], axis=0)
    with pytest.raises(ZenithError, match="input #1 has rank 1 but input #0 has rank 2"):
        infer("zt.concat", [T("f32", 1, 2), T("f32", 1)], axis=0)
    with pytest.raises(ZenithError, match="operand #1 has dtype f16"):
        infer("zt.concat", [T("f32", 1, 2), T("f16", 1, 2)], axis=0)
    with pytest.raises(ZenithError, match="needs at least one input"):
        infer("zt.concat", [], axis=0)
    with pytest.raises(ZenithError, match="axis 2 is out of range for rank 2"):
        infer("zt.concat", [T("f32", 1, 2)], axis=2)


# -- split ----------------------------------------------------------------------------


@pytest.mark.parametrize("n, parts", [(6, 3), (7, 3), (4, 3), (5, 1), (0, 2)])
def test_split_num_outputs_matches_onnx(n, parts):
    x = _x(2, n)
    want = ort("Split", [x], n_out=parts, axis=-1, num_outputs=parts)
    got = run("zt.split", [x], axis=-1, num_outputs=parts)
    assert len(got) == parts
    for w, g in zip(want, got):
        _same(w, g)


def test_split_sizes_matches_onnx():
    x = _x(7, 2)
    sizes = (2, 0, 4, 1)
    want = ort("Split", [x, i64(*sizes)], n_out=4, axis=0)
    for w, g in zip(want, run("zt.split", [x], sizes=sizes)):
        _same(w, g)


def test_split_types_and_errors():
    assert infer("zt.split", [T("f32", "n", 4)], axis=1, num_outputs=2) == [T("f32", "n", 2)] * 2
    assert infer("zt.split", [T("f32", "n")], sizes=(1, 2)) == [T("f32", 1), T("f32", 2)]
    assert infer("zt.split", [T("f32", "n")], num_outputs=3) == [T("f32", None)] * 3
    for attrs, match in [
        ({"sizes": (1, 2)}, "split sizes \\[1, 2\\] sum to 3, but the dim is 5"),
        ({"num_outputs": 4}, "cannot split 5 into 4 parts of 2"),
        ({}, "give exactly one of 'sizes' and 'num_outputs'"),
        ({"sizes": (5,), "num_outputs": 1}, "give exactly one"),
        ({"sizes": (6, -1)}, "negative entries"),
        ({"num_outputs": 0}, "num_outputs must be at least 1"),
    ]:
        with pytest.raises(ZenithError, match=match):
            infer("zt.split", [T("f32", 5)], **attrs)


# -- slice ----------------------------------------------------------------------------

BOUNDS = [-7, -5, -2, 0, 2, 5, 7, I32_MAX, I32_MAX + 1, I64_MAX, I64_MIN, -I32_MAX - 1]


@pytest.mark.parametrize("n", [5, 1, 0])
def test_slice_clamping_matches_onnx(n):
    """Every start/end pair (negative, out of range, INT_MAX) with positive and negative steps."""
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    for start, end, step in itertools.product(BOUNDS, BOUNDS, [1, 2, -1, -3]):
        want = ort("Slice", [x, i64(start), i64(end), i64(0), i64(step)])[0]
        got = run("zt.slice", [x], starts=(start,), ends=(end,), steps=(step,))[0]
        assert want.shape == got.shape and np.array_equal(want, got), (start, end, step)
        (t,) = infer("zt.slice", [T("f32", n, 2)], starts=(start,), ends=(end,), steps=(step,))
        assert t.shape == want.shape


def test_slice_several_axes_matches_onnx():
    x = _x(4, 5, 6)
    kw = {"starts": (-1, 1), "ends": (I64_MIN, 100), "axes": (-1, 0), "steps": (-2, 2)}
    want = ort("Slice", [x, i64(*kw["starts"]), i64(*kw["ends"]), i64(*kw["axes"]),
                         i64(*kw["steps"])])[0]
    _same(want, run("zt.slice", [x], **kw)[0])


def test_slice_symbolic_dims():
    def one(start, end, step=1):
        return infer("zt.slice", [T("f32", "n", 3)], starts=(start,), ends=(end,), steps=(step,))[0]

    assert one(0, I64_MAX) == T("f32", "n", 3)  # the whole dim keeps its symbol
    assert one(I64_MIN, I32_MAX) == T("f32", "n", 3)
    assert one(-1, I64_MIN, -1) == T("f32", "n", 3)  # a full reversal too
    assert one(I64_MAX, I64_MAX, -1) == T("f32", "n", 3)  # INT_MAX ends run to index 0
    assert one(1, I64_MAX) == T("f32", None, 3)
    assert one(0, I64_MAX, 2) == T("f32", None, 3)
    assert one(0, 4) == T("f32", None, 3)
    assert infer("zt.slice", [T("f32", "n", 3)], starts=(1,), ends=(-1,), axes=(1,)) == \
        [T("f32", "n", 1)]


def test_slice_errors():
    for attrs, match in [
        ({"starts": (0,), "ends": (1,), "steps": (0,)}, "steps \\[0\\] contain 0"),
        ({"starts": (0, 0), "ends": (1,)}, "slice has 2 starts but 1 ends"),
        ({"starts": (0,), "ends": (1,), "axes": (0, 1)}, "one entry per sliced axis"),
        ({"starts": (0,), "ends": (1,), "axes": (2,)}, "slice axes 2 is out of range for rank 2"),
        ({"starts": (0, 0), "ends": (1, 1), "axes": (1, -1)}, "repeat an axis"),
    ]:
        with pytest.raises(ZenithError, match=match):
            infer("zt.slice", [T("f32", 3, 3)], **attrs)


# -- pad ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["constant", "reflect", "edge", "wrap"])
@pytest.mark.parametrize("pads", [(1, 2, 2, 1), (0, 0, 0, 0), (-1, 1, 1, -1), (1, -1, -2, 1)])
def test_pad_matches_onnx(mode, pads):
    x = _x(4, 3)
    value = np.array(1.5, np.float32)
    want = ort("Pad", [x, i64(*pads), value if mode == "constant" else None], mode=mode)[0]
    attrs = {"pads": pads, "mode": mode} | ({"value": 1.5} if mode == "constant" else {})
    _same(want, run("zt.pad", [x], **attrs)[0])


def test_pad_axes_and_ints_match_onnx():
    x = np.arange(24, dtype=np.int32).reshape(2, 3, 4)
    want = ort("Pad", [x, i64(1, 0, 2, 3), np.array(-7, np.int32), i64(-1, 0)])[0]
    _same(want, run("zt.pad", [x], pads=(1, 0, 2, 3), value=-7, axes=(-1, 0))[0])


@pytest.mark.parametrize("mode", ["reflect", "wrap", "edge"])
def test_pad_wider_than_the_dim_matches_numpy(mode):
    """Pads past the dim repeat the pattern (numpy.pad; ONNX Runtime rejects reflect here)."""
    x = _x(3, 2)
    np_mode = {"reflect": "reflect", "wrap": "wrap", "edge": "edge"}[mode]
    want = np.pad(x, [(7, 5), (0, 0)], mode=np_mode)
    _same(want, run("zt.pad", [x], pads=(7, 0, 5, 0), mode=mode)[0])
    one = _x(1, 2)
    _same(np.pad(one, [(2, 3), (0, 0)], mode=np_mode),
          run("zt.pad", [one], pads=(2, 0, 3, 0), mode=mode)[0])


def test_pad_types_and_errors():
    assert infer("zt.pad", [T("f32", "n", 3)], pads=(0, 1, 0, 1)) == [T("f32", "n", 5)]
    assert infer("zt.pad", [T("f32", "n", 3)], pads=(1, 1, 0, 1)) == [T("f32", None, 5)]
    assert infer("zt.pad", [T("f32", "n", 3)], pads=(2, -2), axes=(0,)) == [T("f32", "n", 3)]
    assert infer("zt.pad", [T("f32", 0, 3)], pads=(1, 0, 1, 0)) == [T("f32", 2, 3)]
    for attrs, match in [
        ({"pads": (1, 1)}, "must have 4 entries"),
        ({"pads": (1, 1, 1, 1), "mode": "mirror"}, "pad mode 'mirror' is not one of"),
        ({"pads": (-3, 0, -1, 0)}, "crop more than the dim of 3"),
        ({"pads": (1, 1), "axes": (2,)}, "pad axes 2 is out of range"),
    ]:
        with pytest.raises(ZenithError, match=match):
            infer("zt.pad", [T("f32", 3, 3)], **attrs)
    with pytest.raises(ZenithError, match="'edge' padding needs a non-empty dim"):
        infer("zt.pad", [T("f32", 0, 3)], pads=(1, 0, 0, 0), mode="edge")


# -- tile -----------------------------------------------------------------------------


@pytest.mark.parametrize("repeats", [(1, 1), (2, 3), (0, 2), (3, 0)])
def test_tile_matches_onnx(repeats):
    x = _x(2, 3)
    _same(ort("Tile", [x, i64(*repeats)])[0], run("zt.tile", [x], repeats=repeats)[0])


def test_tile_types_and_errors():
    assert infer("zt.tile", [T("f32", "n", "m", 2)], repeats=(1, 0, 3)) == [T("f32", "n", 0, 6)]
    assert infer("zt.tile", [T("f32", "n")], repeats=(2,)) == [T("f32", None)]
    with pytest.raises(ZenithError, match="one entry per dim"):
        infer("zt.tile", [T("f32", 2, 2)], repeats=(2,))
    with pytest.raises(ZenithError, match="negative entries"):
        infer("zt.tile", [T("f32", 2)], repeats=(-1,))
