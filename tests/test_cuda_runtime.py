"""The CUDA runtime's logic on a fake driver (no GPU): pointers, launch order, graphs, I/O, stats.

Kernels of the fake run their ``zk.fused`` body with the interpreter on the fake
device memory, so wrong pointer arithmetic shows up as wrong results.
"""

from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pytest

from tests.cuda_fake import FakeDriver, FakeGraphs, FakeTorchHooks, FakeTorchTensor, fake_cuda_program
from zenith.codegen.lower import lower_function
from zenith.interpreter import interpret
from zenith.ir import DenseAttr, parse_module
from zenith.ir.diagnostics import ZenithError
from zenith.passes import run_pipeline
from zenith.runtime import cuda as rt
from zenith.runtime.cuda.plan import buffer_pointers, output_roots
from zenith.runtime.pool import MemoryPool

TEXT = """
func.func @main(%x: tensor<4x8xf32>, %i: tensor<4xi64>) -> (tensor<64xf32>, tensor<4x16xf32>, tensor<4x8xf32>, tensor<4x16xf32>, tensor<4xi64>, tensor<4x16xf32>, tensor<4x16xf32>) {
  %w = "zt.constant"() {value = dense<0.0> : tensor<16x8xf32>} : () -> tensor<16x8xf32>
  %b = "zt.constant"() {value = dense<0.0> : tensor<16xf32>} : () -> tensor<16xf32>
  %h = "zt.linear"(%x, %w, %b) : (tensor<4x8xf32>, tensor<16x8xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  %g = "zt.gelu"(%h) : (tensor<4x16xf32>) -> tensor<4x16xf32>
  %s = "zt.softmax"(%g) : (tensor<4x16xf32>) -> tensor<4x16xf32>
  %t = "zt.tanh"(%s) : (tensor<4x16xf32>) -> tensor<4x16xf32>
  %r = "zt.reshape"(%t) {shape = [64]} : (tensor<4x16xf32>) -> tensor<64xf32>
  %j = "zt.add"(%i, %i) : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi64>
  "func.return"(%r, %h, %x, %t, %j, %s, %h) : (tensor<64xf32>, tensor<4x16xf32>, tensor<4x8xf32>, tensor<4x16xf32>, tensor<4xi64>, tensor<4x16xf32>, tensor<4x16xf32>) -> ()
}
"""  # noqa: E501


def _module():
    m = parse_module(TEXT)
    rng = np.random.default_rng(0)
    for op in m.main.body:
        if op.name == "zt.constant":
            t = op.results[0].type
            op.attributes["value"] = DenseAttr(rng.standard_normal(t.shape).astype(np.float32))
    return m


def _inputs(seed: int):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((4, 8)).astype(np.float32), rng.integers(-5, 5, 4).astype(np.int64)]


@pytest.fixture
def drv():
    d = FakeDriver()
    rt.set_driver(d, FakeGraphs(d))
    yield d
    rt.reset_driver()


def _program(drv, module=None):
    m = module or _module()
    ref = m.clone()
    run_pipeline(m, "fuse,plan-memory")
    prog = fake_cuda_program(lower_function(m.main, "cuda"), drv)
    return prog, ref


def _check(ref, ins, outs):
    want = interpret(ref, ins)
    assert len(outs) == len(want)
    for w, g in zip(want, outs):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def test_results_match_the_interpreter_and_params_upload_once(drv):
    prog, ref = _program(drv)
    exe = rt.CudaExecutable(prog)
    sync_uploads = [e for e in drv.of("htod") if not e[3]]
    assert len(sync_uploads) == len(prog.params) == 2
    for seed in range(4):
        ins = _inputs(seed)
        _check(ref, ins, exe(ins))
    assert len([e for e in drv.of("htod") if not e[3]]) == 2  # never again
    assert len(drv.of("module")) == len(prog.launches)


class RecordingPool(MemoryPool):
    def __init__(self, backend) -> None:
        super().__init__(backend)
        self.taken: list[tuple[int, int]] = []

    def allocate(self, nbytes: int):
        blk = super().allocate(nbytes)
        self.taken.append((nbytes, self.address(blk)))
        return blk


def test_launch_arguments_are_arena_param_and_input_pointers(drv):
    prog, _ = _program(drv)
    pool = RecordingPool(rt.CudaBackend(drv))
    exe = rt.CudaExecutable(prog, pool=pool, graphs=False)
    assert [n for n, _ in pool.taken] == [p.nbytes for p in prog.params]
    params = [a for _, a in pool.taken]
    assert exe._param_ptrs == params
    before, taken = len(drv.log), len(pool.taken)
    x, i = _inputs(1)
    exe([x, i])
    (na, arena), (nx, px), (ni, pi) = pool.taken[taken:]
    assert (na, nx, ni) == (prog.arena_bytes, x.nbytes, i.nbytes)
    new = drv.log[before:]
    assert [e[1] for e in new if e[0] == "htod"] == [px, pi]
    launches = [e for e in new if e[0] == "launch"]
    assert [e[1] for e in launches] == [f"zk_{la.kernel}" for la in prog.launches]  # program order
    ptrs = buffer_pointers(prog, arena, params, [px, pi])
    for la, e in zip(prog.launches, launches):
        assert e[5] == tuple(ptrs[b] for b in la.inputs + la.outputs)
        assert e[2] == (len(la.outputs), 1, 1) and e[3] == (128, 1, 1)
        for b in la.outputs:  # outputs sit at arena + planned offset
            assert ptrs[b] == arena + prog.buffers[b].offset
    for b, p in zip(prog.buffers, ptrs):
        if b.kind == "param":
            assert p == params[b.index]
        elif b.kind == "view":
            assert p == ptrs[b.base]
    dtoh = [e[1] for e in new if e[0] == "dtoh"]
    assert dtoh == [ptrs[o] for o in prog.outputs]


def test_graph_path_direct_then_capture_then_replay(drv):
    prog, ref = _program(drv)
    exe = rt.CudaExecutable(prog)
    n = len(prog.launches)
    marks = []
    for seed in range(4):
        marks.append(len(drv.log))
        ins = _inputs(seed)
        _check(ref, ins, exe(ins))  # replays read the new inputs: staging pointers are stable
    marks.append(len(drv.log))
    calls = [drv.log[a:b] for a, b in itertools.pairwise(marks)]
    kinds = [[e[0] for e in c if e[0] in ("launch", "begin_capture", "end_capture", "graph_launch")]
             for c in calls]
    assert kinds[0] == ["launch"] * n
    assert kinds[1] == ["begin_capture", *["launch"] * n, "end_capture", "graph_launch"]
    assert all(e[6] for e in calls[1] if e[0] == "launch")  # captured, not run
    assert kinds[2] == kinds[3] == ["graph_launch"]
    st = exe.stats()
    assert (st["direct_runs"], st["graph_captures"], st["graph_launches"]) == (1, 1, 3)
    assert st["graphs"] and st["graph_error"] is None


def test_graphs_off_and_capture_failure_fall_back(drv):
    prog, ref = _program(drv)
    ins = _inputs(2)
    off = rt.CudaExecutable(prog, graphs=False)
    for _ in range(3):
        _check(ref, ins, off(ins))
    assert off.stats()["direct_runs"] == 3 and not drv.of("graph_launch")

    d2 = FakeDriver()
    rt.set_driver(d2, FakeGraphs(d2, fail="begin"))
    prog2, ref2 = _program(d2)
    exe = rt.CudaExecutable(prog2)
    exe(ins)
    with pytest.warns(RuntimeWarning, match="graph capture failed"):
        _check(ref2, ins, exe(ins))
    _check(ref2, ins, exe(ins))
    st = exe.stats()
    assert not st["graphs"] and "operation not supported" in st["graph_error"]
    assert st["direct_runs"] == 3 and st["graph_launches"] == 0


def test_no_graph_api_runs_directly():
    d = FakeDriver()
    rt.set_driver(d, None)
    try:
        prog, ref = _program(d)
        exe = rt.CudaExecutable(prog)
        for _ in range(3):
            _check(ref, _inputs(0), exe(_inputs(0)))
        assert exe.stats()["graph_error"] == "no graph API given"
    finally:
        rt.reset_driver()


def test_pool_hits_after_warm_up_and_memory_returns(drv):
    prog, _ = _program(drv)
    exe = rt.CudaExecutable(prog)
    exe(_inputs(0))
    s0 = dict(exe.pool.stats.as_dict())
    for seed in range(20):
        exe(_inputs(seed))
    s1 = exe.pool.stats.as_dict()
    allocs = s1["allocations"] - s0["allocations"]
    assert allocs == 20 * 3  # arena + two staged inputs per call
    assert (s1["cache_hits"] - s0["cache_hits"]) / allocs == 1.0
    assert s1["backend_allocations"] == s0["backend_allocations"]
    assert s1["bytes_in_use"] == s0["bytes_in_use"]  # only the parameters stay
    assert exe.stats()["pool"]["hit_rate"] > 0.9
    exe.close()
    assert exe.pool.stats.bytes_in_use == 0


def test_shared_pool_between_executables(drv):
    prog, ref = _program(drv)
    pool = rt.CudaExecutable(prog).pool
    a = rt.CudaExecutable(prog, pool=pool)
    ins = _inputs(3)
    _check(ref, ins, a(ins))
    assert a.pool is pool


class DeviceArray:
    """A device array by ``__cuda_array_interface__`` over fake memory."""

    def __init__(self, drv, arr: np.ndarray, strides=None) -> None:
        self.alloc = drv.mem_alloc(arr.nbytes)
        drv.write(int(self.alloc), arr)
        self.__cuda_array_interface__ = {"shape": arr.shape, "typestr": arr.dtype.str,
                                         "data": (int(self.alloc), False), "strides": strides,
                                         "version": 3}


def test_device_arrays_are_used_in_place(drv):
    prog, ref = _program(drv)
    exe = rt.CudaExecutable(prog, graphs=False)
    ins = _inputs(5)
    dx = DeviceArray(drv, ins[0])
    before = len(drv.log)
    _check(ref, ins, exe([dx, ins[1]]))
    new = drv.log[before:]
    assert len([e for e in new if e[0] == "htod"]) == 1  # only the host input is copied
    first = next(e for e in new if e[0] == "launch" and int(dx.alloc) in e[5])
    assert first is not None
    with pytest.raises(ZenithError, match="not C-contiguous"):
        exe([DeviceArray(drv, ins[0], strides=(4, 16)), ins[1]])
    with pytest.raises(ZenithError, match="dtype f64 given, the model takes f32"):
        exe([DeviceArray(drv, ins[0].astype(np.float64)), ins[1]])


def test_input_errors_name_the_input(drv):
    prog, _ = _program(drv)
    exe = rt.CudaExecutable(prog)
    x, i = _inputs(0)
    with pytest.raises(ZenithError, match="takes 2 input"):
        exe([x])
    with pytest.raises(ZenithError, match=r"input 'x': shape \[4, 7\] given, the model takes \[4, 8\]"):
        exe([x[:, :7], i])
    with pytest.raises(ZenithError, match="input 'i': dtype f32 given, the model takes i64"):
        exe([x, i.astype(np.float32)])
    _check(_program(drv)[1], [x, i], exe([x.tolist(), i.tolist()]))  # Python lists convert by kind


def test_program_errors(drv):
    prog, _ = _program(drv)
    prog.target = "cpu"
    with pytest.raises(ZenithError, match="not 'cpu'"):
        rt.CudaExecutable(prog)
    prog, _ = _program(drv)
    name = prog.launches[0].kernel
    ck = prog.kernels[name]
    prog.kernels[name] = type(ck)(ck.kernel, b"", ck.arch)
    with pytest.raises(ZenithError, match=f"kernel '{name}' has no compiled image"):
        rt.CudaExecutable(prog)
    prog.kernels[name] = type(ck)(ck.kernel, b"garbage", ck.arch)
    with pytest.raises(ZenithError, match=f"kernel '{name}' .*loading entry"):
        rt.CudaExecutable(prog)
    prog.kernels[name] = ck
    prog.launches[0].config = {"grid": (1, 1, 1), "block": (64, 32, 1)}
    with pytest.raises(ZenithError, match="more than 1024 threads"):
        rt.CudaExecutable(prog)
    prog.launches[0].config = {"grid": (1,), "block": (32,), "shared_bytes": 96 * 1024}
    exe = rt.CudaExecutable(prog)
    assert exe._functions[name].attributes == {"max_dyn_shared": 96 * 1024}


def test_output_roots():
    prog, _ = _program(FakeDriver())
    roots = output_roots(prog)
    # r (a view of t) claims t's root; t itself, the input x and the second h are copied
    assert roots[0] == prog.root(prog.outputs[0]) and prog.buffers[roots[0]].kind == "arena"
    assert roots[2] is None and roots[3] is None and roots[6] is None
    assert roots[1] == prog.outputs[1] and roots[4] is not None and roots[5] is not None


def test_import_does_not_load_pycuda_and_availability_says_what_is_missing():
    code = ("import sys, zenith.runtime.cuda as c; assert 'pycuda' not in sys.modules; "
            "print(c.availability())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    try:
        import pycuda.driver  # noqa: F401
    except ImportError:
        assert "PyCUDA is not installed" in out and 'pip install -e ".[cuda]"' in out
        with pytest.raises(rt.driver.CudaUnavailable, match="PyCUDA is not installed"):
            rt.device_context()


def test_time_plan_runs_the_bound_plan_between_events(drv):
    prog, _ = _program(drv)
    exe = rt.CudaExecutable(prog)
    before = len(drv.log)
    times = exe.time_plan(_inputs(0), runs=3, warmup=2)
    n = len(prog.launches)
    assert len(times) == 3 and all(t == 2 * n + 1 for t in times)  # n launches + n execs between
    assert len([e for e in drv.log[before:] if e[0] == "launch"]) == 5 * n
    assert exe.pool.stats.bytes_in_use == sum(b.size for b in exe._param_blocks)


def test_torch_mode_writes_outputs_in_place_and_copies_only_aliases(drv):
    prog, ref = _program(drv)
    exe = rt.CudaExecutable(prog)
    exe.torch = FakeTorchHooks(drv)
    for seed in range(3):  # fresh output tensors every call: a new pointer signature, direct launches
        ins = _inputs(seed)
        t_in = [FakeTorchTensor.of(drv, a) for a in ins]
        before = len(drv.log)
        outs = exe([t_in[0], t_in[1]])
        new = drv.log[before:]
        assert new[0] == ("torch_sync", 0)
        assert all(isinstance(t, FakeTorchTensor) for t in outs)
        _check(ref, ins, [t.numpy() for t in outs])
        assert not [e for e in new if e[0] in ("htod", "dtoh")]  # no host copies
        # r, h, j, s are written by their kernels; x (an input), t (r's root) and the second h are copied
        dtod = [e for e in new if e[0] == "dtod"]
        assert [e[1] for e in dtod] == [outs[k].data_ptr() for k in (2, 3, 6)]
        assert dtod[0][2] == t_in[0].data_ptr()
        launched = {a for e in new if e[0] == "launch" for a in e[5]}
        assert {outs[k].data_ptr() for k in (0, 1, 4, 5)} <= launched
        assert not {outs[k].data_ptr() for k in (2, 3, 6)} & launched
    assert exe.stats()["outputs_in_place"] == 3 * 4 and exe.stats()["direct_runs"] == 3
    with pytest.raises(ZenithError, match="not contiguous"):
        bad = FakeTorchTensor(drv, (4, 8), "torch.float32", contiguous=False)
        exe([bad, t_in[1]])
    with pytest.raises(ZenithError, match="dtype f16 given, the model takes f32"):
        exe([FakeTorchTensor(drv, (4, 8), "torch.float16"), t_in[1]])
