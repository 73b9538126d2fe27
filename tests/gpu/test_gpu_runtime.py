"""The GPU runtime on a real device: pool reuse, torch tensors in and out without copies,
the CUDA-graph path against direct launches, and NumPy I/O checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import zenith
from tests.gpu.gpu_util import GPU, assert_matches, to_numpy

pytestmark = GPU


@pytest.fixture(scope="module")
def bert(bert_base_path: Path):
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 30522, (1, 128)).astype(np.int64)
    mask = np.ones((1, 128), np.int64)
    return zenith.compile(str(bert_base_path), target="cuda"), [ids, mask]


def test_pool_hit_rate_after_warm_up(bert):
    cm, inputs = bert
    for _ in range(3):
        cm.run(inputs)
    pool = cm.executor.pool.stats
    a0, h0, seg0 = pool.allocations, pool.cache_hits, pool.backend_allocations
    for _ in range(100):
        cm.run(inputs)
    allocs, hits = pool.allocations - a0, pool.cache_hits - h0
    assert allocs >= 100
    assert hits / allocs >= 0.99, cm.executor.stats()
    assert pool.backend_allocations == seg0


def test_torch_cuda_tensors_in_and_out_without_copies(bert):
    torch = pytest.importorskip("torch")
    cm, inputs = bert
    want = cm.run(inputs)
    exe = cm.executor
    t_in = [torch.from_numpy(a).cuda() for a in inputs]
    before = dict(exe.counters)
    out = cm.run(t_in)
    after = exe.counters
    assert all(isinstance(t, torch.Tensor) and t.is_cuda for t in out)
    assert after["h2d_bytes"] == before["h2d_bytes"] and after["d2h_bytes"] == before["d2h_bytes"]
    assert after["outputs_in_place"] - before["outputs_in_place"] == len(out)  # kernels wrote them
    assert after["d2d_bytes"] == before["d2d_bytes"]
    for i, (w, g) in enumerate(zip(want, out)):
        np.testing.assert_allclose(to_numpy(g), w, rtol=1e-6, atol=1e-6, err_msg=f"output #{i}")
    with pytest.raises(zenith.ZenithError, match="not contiguous"):
        cm.run([torch.from_numpy(np.repeat(inputs[0], 2, axis=1)).cuda()[:, ::2], t_in[1]])
    with pytest.raises(zenith.ZenithError, match="dtype i32 given, the model takes i64"):
        cm.run([t_in[0].int(), t_in[1]])


def test_graph_path_equals_direct_launches(bert_base_path: Path):
    from zenith.cuda_target import compile_cuda
    from zenith.passes import run_pipeline

    m = zenith.load_onnx(str(bert_base_path))
    run_pipeline(m, "canonicalize,constant-fold,cse,dce")
    with_graphs = compile_cuda(m.clone())
    direct = compile_cuda(m.clone(), graphs=False)
    rng = np.random.default_rng(3)
    for _ in range(4):
        ids = rng.integers(0, 30522, (1, 128)).astype(np.int64)
        mask = (np.arange(128) < rng.integers(1, 129)).astype(np.int64)[None]
        a, b = with_graphs([ids, mask]), direct([ids, mask])
        for i, (x, y) in enumerate(zip(a, b)):
            np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-6, err_msg=f"output #{i}")
    st = with_graphs.stats()
    assert st["graphs"], st["graph_error"]
    assert st["graph_captures"] == 1 and st["graph_launches"] == 3
    assert direct.stats()["graph_launches"] == 0


def test_numpy_inputs_are_checked_and_outputs_owned(bert):
    cm, inputs = bert
    a = cm.run(inputs)
    b = cm.run(inputs)
    assert a[0] is not b[0] and not np.shares_memory(a[0], b[0])
    a[0][...] = 0  # the caller owns its outputs
    assert_matches(b[0], cm.run(inputs)[0], "fp32", "after mutating an earlier output")
    with pytest.raises(zenith.ZenithError, match="input_ids"):
        cm.run([inputs[0][:, :64], inputs[1]])
