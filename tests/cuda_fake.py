"""A fake ``pycuda.driver`` and graph API that run CUDA programs on the host.

Device memory is a set of NumPy byte arrays at fake addresses; a "kernel image"
is a key into ``FakeDriver.images``, whose functions take the driver and the
pointer arguments and do the kernel's work on that memory (the tests use the
reference interpreter on the ``zk.fused`` body). Every call is recorded in
``FakeDriver.log``, so tests check allocations, copies, launches and graph use.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np

from zenith.codegen.cuda.kernel import CompiledCudaKernel, CudaKernel
from zenith.codegen.lower import Lowered
from zenith.interpreter import Interpreter

KernelFn = Callable[["FakeDriver", tuple[int, ...]], None]


class FakeAllocation:
    def __init__(self, drv: FakeDriver, ptr: int, n: int) -> None:
        self.drv, self.ptr, self.n = drv, ptr, n

    def __int__(self) -> int:
        return self.ptr

    def free(self) -> None:
        self.drv.log.append(("free", self.ptr))
        del self.drv.memory[self.ptr]


class FakeStream:
    _ids = itertools.count(0x5000)

    def __init__(self, drv: FakeDriver) -> None:
        self.drv = drv
        self.handle = next(self._ids)
        self.capture: list[Callable[[], None]] | None = None

    def synchronize(self) -> None:
        self.drv.log.append(("sync",))

    def run(self, thunk: Callable[[], None]) -> None:
        if self.capture is not None:
            self.capture.append(thunk)
        else:
            thunk()


class FakeEvent:
    def __init__(self, drv: FakeDriver) -> None:
        self.drv, self.at = drv, -1

    def record(self, stream: FakeStream) -> None:
        self.at = len(self.drv.log)
        self.drv.log.append(("event",))

    def synchronize(self) -> None:
        pass

    def time_since(self, other: FakeEvent) -> float:
        return float(self.at - other.at)  # log entries between the two events, as "milliseconds"


class FakeFunction:
    def __init__(self, drv: FakeDriver, entry: str, fn: KernelFn) -> None:
        self.drv, self.entry, self.fn = drv, entry, fn
        self.arg_format: str | None = None
        self.attributes: dict[Any, int] = {}

    def prepare(self, arg_types: str) -> FakeFunction:
        self.arg_format = arg_types
        return self

    def set_attribute(self, attr: Any, value: int) -> None:
        self.attributes[attr] = value

    def prepared_async_call(self, grid, block, stream: FakeStream, *args: int, shared_size: int = 0) -> None:
        assert self.arg_format is not None, "launch before prepare"
        assert len(args) == len(self.arg_format), (self.entry, args, self.arg_format)
        assert all(isinstance(a, int) for a in args)
        self.drv.log.append(("launch", self.entry, tuple(grid), tuple(block), shared_size, args,
                             stream.capture is not None))
        stream.run(lambda: self._run(args))

    def _run(self, args: tuple[int, ...]) -> None:
        self.drv.log.append(("exec", self.entry))
        self.fn(self.drv, args)


class FakeModule:
    def __init__(self, drv: FakeDriver, funcs: dict[str, KernelFn]) -> None:
        self.drv, self.funcs = drv, funcs

    def get_function(self, entry: str) -> FakeFunction:
        if entry not in self.funcs:
            raise LookupError(f"named symbol not found: {entry}")
        return FakeFunction(self.drv, entry, self.funcs[entry])


class FakeDriver:
    """Enough of ``pycuda.driver`` for CudaExecutable, with memory kept on the host."""

    def __init__(self, devices: int = 1) -> None:
        self.memory: dict[int, np.ndarray] = {}
        self.streams: dict[int, FakeStream] = {}
        self.images: dict[bytes, dict[str, KernelFn]] = {}
        self.log: list[tuple] = []
        self.devices = devices
        self._next = 0x7F0000000000
        self.function_attribute = SimpleNamespace(MAX_DYNAMIC_SHARED_SIZE_BYTES="max_dyn_shared")
        drv = self

        class Device:
            @staticmethod
            def count() -> int:
                return drv.devices

            def __init__(self, i: int) -> None:
                self.i = i

            def compute_capability(self) -> tuple[int, int]:
                return (9, 0)

            def retain_primary_context(self) -> Any:
                return SimpleNamespace(push=lambda: drv.log.append(("push", self.i)))

        self.Device = Device

    # -- memory -----------------------------------------------------------
    def init(self) -> None:
        pass

    def mem_alloc(self, n: int) -> FakeAllocation:
        ptr = self._next
        self._next += (n + 0xFFFF) // 0x10000 * 0x10000 + 0x10000  # gaps catch overruns
        self.memory[ptr] = np.zeros(n, np.uint8)
        self.log.append(("alloc", ptr, n))
        return FakeAllocation(self, ptr, n)

    def _span(self, ptr: int, n: int) -> np.ndarray:
        for base, mem in self.memory.items():
            if base <= ptr and ptr + n <= base + mem.size:
                return mem[ptr - base: ptr - base + n]
        raise AssertionError(f"access of {n} bytes at {ptr:#x} is outside every allocation")

    def read(self, ptr: int, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        n = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
        return self._span(ptr, n).copy().view(dtype).reshape(shape)

    def write(self, ptr: int, arr: np.ndarray) -> None:
        arr = np.ascontiguousarray(arr)
        self._span(ptr, arr.nbytes)[:] = arr.reshape(-1).view(np.uint8)

    def pagelocked_empty(self, shape, dtype) -> np.ndarray:
        self.log.append(("pinned", shape))
        return np.empty(shape, dtype)

    def memcpy_htod(self, dst: int, src: np.ndarray) -> None:
        self.log.append(("htod", int(dst), src.nbytes, False))
        self.write(int(dst), src)

    def memcpy_htod_async(self, dst: int, src: np.ndarray, stream: FakeStream) -> None:
        assert stream.capture is None
        self.log.append(("htod", int(dst), src.nbytes, True))
        self.write(int(dst), src)

    def memcpy_dtoh_async(self, dst: np.ndarray, src: int, stream: FakeStream) -> None:
        self.log.append(("dtoh", int(src), dst.nbytes))
        dst.reshape(-1).view(np.uint8)[:] = self._span(int(src), dst.nbytes)

    def memcpy_dtod_async(self, dst: int, src: int, n: int, stream: FakeStream) -> None:
        self.log.append(("dtod", int(dst), int(src), n))
        self._span(int(dst), n)[:] = self._span(int(src), n).copy()

    # -- modules and streams ------------------------------------------------
    def module_from_buffer(self, image: bytes) -> FakeModule:
        self.log.append(("module", image))
        if image not in self.images:
            raise RuntimeError("cuModuleLoadData failed: device kernel image is invalid")
        return FakeModule(self, self.images[image])

    def Stream(self) -> FakeStream:
        s = FakeStream(self)
        self.streams[s.handle] = s
        return s

    def Event(self) -> FakeEvent:
        return FakeEvent(self)

    def of(self, kind: str) -> list[tuple]:
        return [e for e in self.log if e[0] == kind]


class FakeGraphs:
    """A graph API over FakeStream: capture records thunks, launch replays them."""

    def __init__(self, drv: FakeDriver, fail: str | None = None) -> None:
        self.drv, self.fail = drv, fail
        self.live_execs = 0

    def _stream(self, handle: int) -> FakeStream:
        return self.drv.streams[handle]

    def begin_capture(self, handle: int) -> None:
        if self.fail == "begin":
            raise RuntimeError("cuStreamBeginCapture failed: operation not supported")
        self.drv.log.append(("begin_capture", handle))
        self._stream(handle).capture = []

    def end_capture(self, handle: int) -> list:
        s = self._stream(handle)
        graph, s.capture = s.capture, None
        self.drv.log.append(("end_capture", handle, len(graph)))
        return graph

    def instantiate(self, graph: list) -> list:
        if self.fail == "instantiate":
            raise RuntimeError("cuGraphInstantiate failed")
        self.live_execs += 1
        return list(graph)

    def launch(self, exe: list, handle: int) -> None:
        self.drv.log.append(("graph_launch", handle, len(exe)))
        for thunk in exe:
            thunk()

    def destroy_graph(self, graph: Any) -> None:
        pass

    def destroy_exec(self, exe: Any) -> None:
        self.live_execs -= 1


def fake_cuda_program(lowered: Lowered, drv: FakeDriver, block: tuple[int, int, int] = (128, 1, 1)):
    """Fill ``lowered.program`` with fake compiled kernels that run their body with the interpreter."""
    prog = lowered.program
    prog.target = "cuda"
    for launch in prog.launches:
        op = lowered.kernel_ops[launch.kernel]
        ins = [prog.buffers[b] for b in launch.inputs]
        outs = [prog.buffers[b] for b in launch.outputs]
        entry = f"zk_{launch.kernel}"

        def run(d: FakeDriver, args: tuple[int, ...], op=op, ins=ins, outs=outs) -> None:
            from zenith.runtime.cuda.dtypes import numpy_dtype

            arrays = [d.read(p, b.shape, numpy_dtype(b.dtype)) for p, b in zip(args, ins)]
            results = Interpreter().run_block(op.regions[0].blocks[0], arrays, {})
            for p, r in zip(args[len(ins):], results):
                d.write(p, np.asarray(r))

        image = f"cubin:{launch.kernel}".encode()
        drv.images[image] = {entry: run}
        kernel = CudaKernel(launch.kernel, entry, "// fake", grid=(1, 1, 1), block=block,
                            n_inputs=len(ins), n_outputs=len(outs))
        prog.kernels[launch.kernel] = CompiledCudaKernel(kernel, image, "sm_90")
        launch.config = {"grid": (len(launch.outputs), 1, 1), "block": block, "shared_bytes": 0}
    return prog


class FakeTorchTensor:
    """Looks like a torch CUDA tensor to the runtime (module ``torch...``), lives in fake memory."""

    def __init__(self, drv: FakeDriver, shape: tuple[int, ...], dtype: str, contiguous: bool = True) -> None:
        from zenith.runtime.cuda.dtypes import TORCH, numpy_dtype

        self.drv, self.shape, self.dtype = drv, tuple(shape), dtype
        self.zdt = TORCH[dtype]
        self.np_dtype = numpy_dtype(self.zdt)
        n = int(np.prod(self.shape, dtype=np.int64)) * self.np_dtype.itemsize
        self.alloc = drv.mem_alloc(max(n, 1))
        self.is_cuda = True
        self.device = SimpleNamespace(index=0)
        self._contiguous = contiguous

    @classmethod
    def of(cls, drv: FakeDriver, arr: np.ndarray) -> FakeTorchTensor:
        from zenith.runtime.cuda.dtypes import TORCH, name_of_numpy

        name = {v: k for k, v in TORCH.items()}[name_of_numpy(arr.dtype)]
        t = cls(drv, arr.shape, name)
        drv.write(int(t.alloc), arr)
        return t

    def data_ptr(self) -> int:
        return int(self.alloc)

    def is_contiguous(self) -> bool:
        return self._contiguous

    def numpy(self) -> np.ndarray:
        return self.drv.read(int(self.alloc), self.shape, self.np_dtype)


FakeTorchTensor.__module__ = "torch.fake"


class FakeTorchHooks:
    """Stands for PyTorch in torch mode: sync is logged, outputs are FakeTorchTensors."""

    def __init__(self, drv: FakeDriver) -> None:
        self.drv = drv

    def sync(self, device: int) -> None:
        self.drv.log.append(("torch_sync", device))

    def empty(self, shape, dtype: str, device: int) -> FakeTorchTensor:
        from zenith.runtime.cuda.dtypes import TORCH

        name = {v: k for k, v in TORCH.items()}[dtype]
        return FakeTorchTensor(self.drv, shape, name)
