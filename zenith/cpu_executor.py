"""The CPU target's executor: ``fuse,plan-memory``, CPU kernels, and the runtime ``Executable``.

A model with static input shapes is compiled once, when ``zenith.compile`` runs;
a model with symbolic input dims is compiled once per input-shape signature
(``shape-infer`` with the call's shapes, then canonicalize / constant-fold /
shape-infer until no more values lose their symbolic dims, then
``fuse,plan-memory``), cached. A function that cannot be planned (kernel results
of data-dependent or otherwise non-static shape) runs in the reference
interpreter instead, and :meth:`CpuExecutor.report` says so and why.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from zenith.ir.diagnostics import ZenithError
from zenith.ir.module import Module
from zenith.runtime.host import HostBackend
from zenith.runtime.pool import MemoryPool

RUNTIME_PIPELINE = "fuse,plan-memory"
# after shape-infer binds a signature: shape computations fold to constants, `_dyn` ops
# with constant parameters become static ops, and shape-infer refines what they feed
RESPECIALIZE_PIPELINE = "canonicalize,constant-fold,canonicalize,shape-infer"
MAX_RESPECIALIZE = 32


def _dynamic_values(m: Module) -> int:
    return sum(not r.type.is_static for op in m.main.walk() for r in op.results)


class _Interpreted:
    def __init__(self, module: Module, reason: str) -> None:
        from zenith.executors import InterpreterExecutor

        self.run = InterpreterExecutor(module)
        self.reason = reason

    def __call__(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        return self.run(inputs)


def _unplanned_reason(module: Module) -> str:
    fn = module.main
    bad = [op for op in fn.body if op.name == "zk.fused"
           and any(not r.type.is_static for r in op.results)]
    if not bad:
        return "plan-memory left the function unplanned"
    names = ", ".join(f"{op.attr('name')} ({', '.join(str(r.type) for r in op.results)})"
                      for op in bad[:3])
    return (f"{len(bad)} kernel(s) have results of non-static shape (data-dependent or "
            f"symbolic), e.g. {names}")


class CpuExecutor:
    """Runs a module on the CPU runtime (or the interpreter where it cannot be planned)."""

    MAX_SIGNATURES = 8

    def __init__(self, module: Module, pool: MemoryPool | None = None, profile: bool = False) -> None:
        self.module = module
        self.pool = pool if pool is not None else MemoryPool(HostBackend())
        self.profile = profile
        fn = module.main
        self.names = list(fn.attributes.get("arg_names", ())) or [
            a.name_hint or f"arg{i}" for i, a in enumerate(fn.args)]
        self.static = all(t.is_static for t in fn.arg_types)
        self._cache: dict[Any, Any] = {}
        self.last: Any = None
        if self.static:
            self.last = self._entry(None)

    def _build(self, sig: tuple | None) -> Any:
        from zenith.codegen.cpu import generate
        from zenith.passes import run_pipeline
        from zenith.passes.shape_infer import infer_shapes
        from zenith.runtime.executable import Executable

        m = self.module.clone()
        if sig is not None:  # bind the shapes, then fold shape computations to a fixpoint
            infer_shapes(m, shapes=dict(zip(self.names, sig)))
            left = _dynamic_values(m)
            for _ in range(MAX_RESPECIALIZE):
                run_pipeline(m, RESPECIALIZE_PIPELINE)
                now = _dynamic_values(m)
                if now in (0, left):
                    break
                left = now
            run_pipeline(m, "cse,dce")
        try:
            run_pipeline(m, RUNTIME_PIPELINE)
        except ZenithError as e:  # the interpreter runs the optimized (symbolic) module
            return _Interpreted(self.module, f"fuse/plan-memory failed: {e.message}")
        if "arena_bytes" not in m.main.attributes:
            return _Interpreted(self.module, _unplanned_reason(m))
        exe = Executable(generate(m.main), self.pool, profile=self.profile)
        exe.module = m  # the fused, planned IR (for report and inspection)
        return exe

    def _entry(self, sig: tuple | None) -> Any:
        entry = self._cache.get(sig)
        if entry is None:
            if len(self._cache) >= self.MAX_SIGNATURES:
                self._cache.clear()
            entry = self._cache[sig] = self._build(sig)
        return entry

    def __call__(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        sig = None if self.static else tuple(tuple(np.shape(a)) for a in inputs)
        self.last = entry = self._entry(sig)
        return entry(inputs)

    # -- report ---------------------------------------------------------------------------
    def report_dict(self) -> dict[str, Any]:
        """What runs the model, kernels by kind and implementation, arena figures, pool stats."""
        entry = self.last
        out: dict[str, Any] = {"executor": None, "signatures": len(self._cache),
                               "pool": self.pool.stats.as_dict()}
        if entry is None:
            out["executor"] = "cpu runtime (compiled per input-shape signature; not called yet)"
            return out
        if isinstance(entry, _Interpreted):
            out["executor"] = "interpreter (fallback)"
            out["fallback_reason"] = entry.reason
            return out
        p = entry.program
        kernels = list(p.kernels.values())
        out["executor"] = "cpu runtime"
        out["calls"] = entry.calls
        out["kernels"] = len(kernels)
        out["kernels_by_kind"] = dict(Counter(k.kind for k in kernels))
        out["kernels_by_impl"] = dict(Counter(k.impl for k in kernels))
        out["fused_ops"] = sum(len(k.ops) for k in kernels if len(k.ops) > 1)
        out["kernel_list"] = [(k.name, k.kind, k.impl, list(k.ops)) for k in kernels]
        out["arena_bytes"] = p.arena_bytes
        out["arena_lower_bound"] = p.info.get("arena_lower_bound", 0)
        out["arena_naive"] = p.info.get("arena_naive", 0)
        out["threads"] = p.info.get("threads")
        return out
