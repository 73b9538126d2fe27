"""CUDA graphs through the driver API (PyCUDA has no graph API): capture, instantiate, launch.

:class:`GraphAPI` is what :class:`~zenith.runtime.cuda.executable.CudaExecutable`
needs; :func:`libcuda_graphs` implements it with ``ctypes`` over ``libcuda.so.1``
(the same driver and context PyCUDA uses). Streams are passed by handle
(``pycuda.driver.Stream.handle``).
"""

from __future__ import annotations

import ctypes
from typing import Any, Protocol

CAPTURE_MODE_THREAD_LOCAL = 1


class GraphAPI(Protocol):
    def begin_capture(self, stream: int) -> None: ...
    def end_capture(self, stream: int) -> Any: ...
    def instantiate(self, graph: Any) -> Any: ...
    def launch(self, graph_exec: Any, stream: int) -> None: ...
    def destroy_graph(self, graph: Any) -> None: ...
    def destroy_exec(self, graph_exec: Any) -> None: ...


class GraphError(RuntimeError):
    pass


class LibcudaGraphs:
    """The graph entry points of ``libcuda`` via ctypes."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        self.lib = lib
        vp, u64 = ctypes.c_void_p, ctypes.c_ulonglong
        pp = ctypes.POINTER(ctypes.c_void_p)
        sigs = {
            "cuStreamBeginCapture_v2": [vp, ctypes.c_int],
            "cuStreamEndCapture": [vp, pp],
            "cuGraphInstantiateWithFlags": [pp, vp, u64],
            "cuGraphLaunch": [vp, vp],
            "cuGraphDestroy": [vp],
            "cuGraphExecDestroy": [vp],
            "cuGetErrorString": [ctypes.c_int, ctypes.POINTER(ctypes.c_char_p)],
        }
        for name, args in sigs.items():
            fn = getattr(lib, name)  # AttributeError -> caller treats as unavailable
            fn.argtypes = args
            fn.restype = ctypes.c_int

    def _check(self, rc: int, what: str) -> None:
        if rc != 0:
            msg = ctypes.c_char_p()
            self.lib.cuGetErrorString(rc, ctypes.byref(msg))
            text = msg.value.decode() if msg.value else "unknown error"
            raise GraphError(f"{what} failed: CUDA error {rc} ({text})")

    def begin_capture(self, stream: int) -> None:
        self._check(self.lib.cuStreamBeginCapture_v2(stream, CAPTURE_MODE_THREAD_LOCAL),
                    "cuStreamBeginCapture")

    def end_capture(self, stream: int) -> Any:
        g = ctypes.c_void_p()
        self._check(self.lib.cuStreamEndCapture(stream, ctypes.byref(g)), "cuStreamEndCapture")
        return g

    def instantiate(self, graph: Any) -> Any:
        e = ctypes.c_void_p()
        self._check(self.lib.cuGraphInstantiateWithFlags(ctypes.byref(e), graph, 0),
                    "cuGraphInstantiate")
        return e

    def launch(self, graph_exec: Any, stream: int) -> None:
        self._check(self.lib.cuGraphLaunch(graph_exec, stream), "cuGraphLaunch")

    def destroy_graph(self, graph: Any) -> None:
        self._check(self.lib.cuGraphDestroy(graph), "cuGraphDestroy")

    def destroy_exec(self, graph_exec: Any) -> None:
        self._check(self.lib.cuGraphExecDestroy(graph_exec), "cuGraphExecDestroy")


def libcuda_graphs() -> LibcudaGraphs:
    """The graph API of the loaded CUDA driver (OSError if libcuda or an entry point is missing)."""
    try:
        return LibcudaGraphs(ctypes.CDLL("libcuda.so.1"))
    except AttributeError as e:
        raise OSError(str(e)) from e
