"""``CudaExecutable``: run a CUDA :class:`~zenith.codegen.program.Program` on the GPU.

At construction: parameters are uploaded once (pool blocks held for the
executable's life), every kernel image is loaded (``module_from_buffer``) and
prepared (pointer arguments). Each call:

1. checks the inputs: NumPy arrays are staged through pinned host buffers and
   copied into device blocks; device arrays (PyTorch CUDA tensors,
   ``__cuda_array_interface__``, DLPack) are used in place;
2. takes the arena (and input blocks) from the memory pool; in torch mode
   (any input a torch CUDA tensor) the outputs are fresh torch tensors that the
   last kernels write directly (outputs that alias an input, a parameter or
   another output are copied device to device instead);
3. binds every launch's pointers (:mod:`plan`) and runs the plan on the stream,
   through a CUDA graph when the same pointers were seen before (the first call
   with a pointer signature runs the launches directly, the second captures a
   graph, later ones replay it; up to ``MAX_GRAPHS`` signatures are kept);
4. copies NumPy outputs back (pinned buffers, then a copy the caller owns),
   synchronises, and returns the arena to the pool, so executables sharing a
   pool share memory between calls and a steady workload hits the pool cache.

Outputs are NumPy arrays, or torch CUDA tensors in torch mode.
"""

from __future__ import annotations

import contextlib
import warnings
from collections import OrderedDict
from typing import Any

import numpy as np

from zenith.codegen.program import Program
from zenith.ir.diagnostics import ZenithError
from zenith.runtime.cuda.backend import CudaBackend
from zenith.runtime.cuda.driver import DeviceContext, device_context
from zenith.runtime.cuda.dtypes import numpy_dtype
from zenith.runtime.cuda.io import DeviceArg, device_arg, host_array
from zenith.runtime.cuda.plan import (
    DEFAULT_SHARED_LIMIT,
    POINTER,
    LaunchSpec,
    buffer_pointers,
    check_program,
    nbytes,
    output_roots,
    plan_launches,
)
from zenith.runtime.pool import Block, MemoryPool

MAX_GRAPHS = 8
COUNTERS = ("calls", "direct_runs", "graph_captures", "graph_launches", "kernel_launches",
            "h2d_bytes", "d2h_bytes", "d2d_bytes", "outputs_in_place")


class TorchHooks:
    """What the executable asks of PyTorch in torch mode (tests replace it with a fake)."""

    DTYPES = {"f64": "float64", "f32": "float32", "f16": "float16", "bf16": "bfloat16", "i8": "int8",
              "i16": "int16", "i32": "int32", "i64": "int64", "u8": "uint8", "bool": "bool"}

    def sync(self, device: int) -> None:
        """Wait for PyTorch's current stream (the producers of the inputs)."""
        import torch

        torch.cuda.current_stream(device).synchronize()

    def empty(self, shape: tuple[int, ...], dtype: str, device: int) -> Any:
        import torch

        if dtype not in self.DTYPES:
            raise ZenithError(f"output dtype {dtype} has no torch dtype")
        return torch.empty(shape, dtype=getattr(torch, self.DTYPES[dtype]), device=f"cuda:{device}")


class CudaExecutable:
    """A program loaded on one GPU; call it with the program's inputs in order."""

    torch: Any = TorchHooks()

    def __init__(self, program: Program, pool: MemoryPool | None = None, stream: Any = None,
                 graphs: bool = True, device: int = 0, context: DeviceContext | None = None) -> None:
        check_program(program)
        self.program = program
        self.ctx = context or device_context(device)
        self.drv = self.ctx.driver
        self.pool = pool if pool is not None else MemoryPool(CudaBackend(self.drv))
        self.stream = stream if stream is not None else self.drv.Stream()
        self.graphs_enabled = bool(graphs) and self.ctx.graphs is not None
        self.graph_error: str | None = None if graphs else "disabled by the caller"
        if graphs and self.ctx.graphs is None:
            self.graph_error = self.ctx.graph_error or "no graph API"
        self.counters = dict.fromkeys(COUNTERS, 0)
        self._graphs: OrderedDict[tuple, Any] = OrderedDict()
        self._seen: set[tuple] = set()
        self._pinned: dict[tuple[str, int], np.ndarray] = {}
        self._out_roots = output_roots(program)
        self._param_blocks: list[Block] = []
        self._param_ptrs = self._upload_params()
        self._functions = self._load_kernels()

    # -- setup ---------------------------------------------------------
    def _upload_params(self) -> list[int]:
        ptrs = []
        for i, arr in enumerate(self.program.params):
            b = next(b for b in self.program.buffers if b.kind == "param" and b.index == i)
            host = np.ascontiguousarray(np.asarray(arr, dtype=numpy_dtype(b.dtype)))
            block = self.pool.allocate(host.nbytes)
            self._param_blocks.append(block)
            ptr = self.pool.address(block)
            if host.nbytes:  # as bytes: custom dtypes (bfloat16) have no buffer format
                self.drv.memcpy_htod(ptr, host.reshape(-1).view(np.uint8))
            ptrs.append(ptr)
        return ptrs

    def _load_kernels(self) -> dict[str, Any]:
        funcs: dict[str, Any] = {}
        modules: dict[int, Any] = {}
        for launch in self.program.launches:
            if launch.kernel in funcs:
                continue
            ck = self.program.kernels[launch.kernel]
            k = ck.kernel
            try:
                mod = modules.get(id(ck.image)) or self.drv.module_from_buffer(ck.image)
                modules[id(ck.image)] = mod
                fn = mod.get_function(k.entry)
            except Exception as e:
                raise ZenithError(f"kernel '{k.name}' ({ck.arch}): loading entry '{k.entry}' failed: "
                                  f"{e}") from e
            fn.prepare(POINTER * (k.n_inputs + k.n_outputs))
            shared = max(int((launch.config or {}).get("shared_bytes", k.shared_bytes)), k.shared_bytes)
            if shared > DEFAULT_SHARED_LIMIT:
                fn.set_attribute(self.drv.function_attribute.MAX_DYNAMIC_SHARED_SIZE_BYTES, shared)
            funcs[launch.kernel] = fn
        self._modules = list(modules.values())
        return funcs

    # -- calling -------------------------------------------------------
    def __call__(self, inputs: list[Any]) -> list[Any]:
        """The executor protocol of zenith/executors.py: a list of inputs, a list of outputs."""
        return self.run(list(inputs))

    def _arguments(self, inputs: list[Any]) -> list[DeviceArg | np.ndarray]:
        prog = self.program
        if len(inputs) != len(prog.inputs):
            raise ZenithError(f"the program takes {len(prog.inputs)} input(s) "
                              f"({', '.join(prog.input_names)}), got {len(inputs)}")
        args: list[DeviceArg | np.ndarray] = []
        for i, (x, b) in enumerate(zip(inputs, prog.inputs)):
            want = prog.buffers[b]
            what = f"input '{prog.input_names[i]}'"
            d = device_arg(x, want, what, self.ctx.device_index)
            args.append(d if d is not None else host_array(x, want, what))
        return args

    def run(self, inputs: list[Any]) -> list[Any]:
        """Run once; NumPy outputs, or torch CUDA tensors when an input is a torch CUDA tensor."""
        prog = self.program
        args = self._arguments(inputs)
        torch_mode = any(isinstance(a, DeviceArg) and a.kind == "torch" for a in args)
        blocks: list[Block] = []
        try:
            arena = self._take(prog.arena_bytes, blocks)
            in_ptrs = [self._stage_input(i, a, blocks) for i, a in enumerate(args)]
            if torch_mode:
                self._sync_torch()
            outs, redirect = self._torch_outputs() if torch_mode else ([], {})
            ptrs = buffer_pointers(prog, arena, self._param_ptrs, in_ptrs, redirect)
            self._execute(plan_launches(prog, ptrs), (arena, *in_ptrs, *sorted(redirect.items())))
            result = self._collect(ptrs, outs, redirect)
            self.stream.synchronize()
        finally:
            for blk in blocks:
                self.pool.free(blk)
        self.counters["calls"] += 1
        self.counters["outputs_in_place"] += len(redirect)
        if torch_mode:
            return outs
        return [a.copy() for a in result]

    def time_plan(self, inputs: list[Any], runs: int = 50, warmup: int = 5) -> list[float]:
        """Device milliseconds of each of ``runs`` back-to-back runs of the launch plan (CUDA
        events on the stream; no copies, no graph): the kernels' own time, for benchmarks."""
        args = self._arguments(inputs)
        if any(isinstance(a, DeviceArg) and a.kind == "torch" for a in args):
            self._sync_torch()
        blocks: list[Block] = []
        times: list[float] = []
        try:
            arena = self._take(self.program.arena_bytes, blocks)
            in_ptrs = [self._stage_input(i, a, blocks) for i, a in enumerate(args)]
            ptrs = buffer_pointers(self.program, arena, self._param_ptrs, in_ptrs)
            specs = plan_launches(self.program, ptrs)
            for _ in range(warmup):
                self._launch_all(specs)
            for _ in range(runs):
                start, end = self.drv.Event(), self.drv.Event()
                start.record(self.stream)
                self._launch_all(specs)
                end.record(self.stream)
                end.synchronize()
                times.append(float(end.time_since(start)))
        finally:
            self.stream.synchronize()
            for blk in blocks:
                self.pool.free(blk)
        return times

    def _take(self, n: int, blocks: list[Block]) -> int:
        blk = self.pool.allocate(n)
        blocks.append(blk)
        return self.pool.address(blk)

    def _pinned_buffer(self, key: tuple[str, int], n: int) -> np.ndarray:
        buf = self._pinned.get(key)
        if buf is None or buf.nbytes != n:
            buf = self.drv.pagelocked_empty(max(n, 1), np.uint8)[:n]
            self._pinned[key] = buf
        return buf

    def _stage_input(self, i: int, a: DeviceArg | np.ndarray, blocks: list[Block]) -> int:
        if isinstance(a, DeviceArg):
            return a.ptr
        ptr = self._take(a.nbytes, blocks)
        if a.nbytes:
            pinned = self._pinned_buffer(("in", i), a.nbytes)
            pinned[:] = a.reshape(-1).view(np.uint8)
            self.drv.memcpy_htod_async(ptr, pinned, self.stream)
            self.counters["h2d_bytes"] += a.nbytes
        return ptr

    def _sync_torch(self) -> None:
        self.torch.sync(self.ctx.device_index)

    def _torch_outputs(self) -> tuple[list[Any], dict[int, int]]:
        outs, redirect = [], {}
        for o, root in zip(self.program.outputs, self._out_roots):
            b = self.program.buffers[o]
            t = self.torch.empty(b.shape, b.dtype, self.ctx.device_index)
            outs.append(t)
            if root is not None:
                redirect[root] = int(t.data_ptr())
        return outs, redirect

    def _collect(self, ptrs: list[int], outs: list[Any], redirect: dict[int, int]) -> list[np.ndarray]:
        prog, result = self.program, []
        for j, (o, root) in enumerate(zip(prog.outputs, self._out_roots)):
            b = prog.buffers[o]
            n = nbytes(b)
            if outs:  # torch mode: written in place, or copied device to device
                if (root is None or root not in redirect) and n:
                    self.drv.memcpy_dtod_async(int(outs[j].data_ptr()), ptrs[o], n, self.stream)
                    self.counters["d2d_bytes"] += n
                continue
            pinned = self._pinned_buffer(("out", j), n)
            if n:
                self.drv.memcpy_dtoh_async(pinned, ptrs[o], self.stream)
                self.counters["d2h_bytes"] += n
            result.append(pinned.view(numpy_dtype(b.dtype)).reshape(b.shape))
        return result

    # -- the launch plan -----------------------------------------------
    def _launch_all(self, specs: list[LaunchSpec]) -> None:
        for s in specs:
            self._functions[s.kernel].prepared_async_call(s.grid, s.block, self.stream, *s.args,
                                                          shared_size=s.shared_bytes)
        self.counters["kernel_launches"] += len(specs)

    def _execute(self, specs: list[LaunchSpec], key: tuple) -> None:
        if not self.graphs_enabled or not specs:
            self._launch_all(specs)
            self.counters["direct_runs"] += 1
            return
        exe = self._graphs.get(key)
        if exe is None and key not in self._seen:
            self._seen.add(key)
            self._launch_all(specs)
            self.counters["direct_runs"] += 1
            return
        if exe is None:
            exe = self._capture(specs)
            if exe is None:
                self._launch_all(specs)
                self.counters["direct_runs"] += 1
                return
            self._graphs[key] = exe
            if len(self._graphs) > MAX_GRAPHS:
                _, old = self._graphs.popitem(last=False)
                self.ctx.graphs.destroy_exec(old)
        self._graphs.move_to_end(key)
        self.ctx.graphs.launch(exe, self.stream.handle)
        self.counters["graph_launches"] += 1

    def _capture(self, specs: list[LaunchSpec]) -> Any:
        """A graph exec of ``specs``, or None (graphs then stay off, with the reason kept)."""
        api, handle = self.ctx.graphs, self.stream.handle
        try:
            api.begin_capture(handle)
        except Exception as e:
            return self._graphs_off(e)
        try:
            for s in specs:
                self._functions[s.kernel].prepared_async_call(s.grid, s.block, self.stream, *s.args,
                                                              shared_size=s.shared_bytes)
        except Exception as e:
            with contextlib.suppress(Exception):
                api.destroy_graph(api.end_capture(handle))
            return self._graphs_off(e)
        try:
            graph = api.end_capture(handle)
            exe = api.instantiate(graph)
            api.destroy_graph(graph)
        except Exception as e:
            return self._graphs_off(e)
        self.counters["graph_captures"] += 1
        self.counters["kernel_launches"] += len(specs)
        return exe

    def _graphs_off(self, e: Exception) -> None:
        self.graphs_enabled = False
        self.graph_error = f"graph capture failed, running launches directly: {type(e).__name__}: {e}"
        warnings.warn(self.graph_error, RuntimeWarning, stacklevel=4)
        return None

    # -- reporting and cleanup -----------------------------------------
    def stats(self) -> dict[str, Any]:
        """Call counters, the graph state and the memory pool's statistics."""
        return {**self.counters, "graphs": self.graphs_enabled, "graph_error": self.graph_error,
                "graphs_cached": len(self._graphs), "pool": self.pool.stats.as_dict()}

    def close(self) -> None:
        """Destroy graphs and give the parameter blocks back to the pool."""
        for exe in self._graphs.values():
            self.ctx.graphs.destroy_exec(exe)
        self._graphs.clear()
        for blk in self._param_blocks:
            self.pool.free(blk)
        self._param_blocks.clear()

    def __enter__(self) -> CudaExecutable:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
