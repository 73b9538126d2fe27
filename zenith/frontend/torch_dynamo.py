"""``torch.compile(model, backend="zenith")``: TorchDynamo graphs compiled by Zenith.

The backend is registered under the name ``zenith`` through the
``torch_dynamo_backends`` entry point (no manual registration). For each FX graph
Dynamo captures it

1. freezes the graph's module parameters and buffers (Dynamo passes them as graph
   inputs) into compile-time constants, so the optimiser can fold them (conv +
   batch norm, transposed weights...);
2. exports the graph to ONNX (``torch.onnx.export``, TorchScript path) with the
   call's concrete shapes and imports it with the ONNX frontend: one semantic path
   for both frontends, so every ONNX operator Zenith supports works here too;
3. compiles it with :func:`zenith.compile` for ``target`` and returns a callable that
   takes and returns torch tensors.

Graphs are inference graphs: with autograd recording and a tensor that requires
grad, the backend raises (Zenith has no backward pass). A call whose input shapes,
dtypes or frozen tensors (replaced, or modified in place: their version counter)
differ from every compiled one compiles again; compiled graphs are cached per
signature. Anything the exporter or the ONNX frontend cannot handle is a
ZenithError naming the graph and the problem, never a silent fallback to eager.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from zenith.ir.diagnostics import ZenithError

FROZEN_MARKERS = ("_parameters_", "_buffers_")


@dataclass
class BackendStats:
    """What the backend did in this process (graphs seen, compilations, calls)."""

    graphs: int = 0
    compilations: int = 0
    calls: int = 0
    compiled: list[Any] = field(default_factory=list)  # CompiledModel objects, in order


STATS = BackendStats()


def _is_frozen(name: str, value: Any) -> bool:
    import torch

    return isinstance(value, torch.nn.Parameter) or any(m in name for m in FROZEN_MARKERS)


class ZenithGraph:
    """One Dynamo graph: compiled per input signature, called with torch tensors."""

    def __init__(self, gm: Any, example_inputs: Sequence[Any], target: str, passes: str | None) -> None:
        self.gm = gm
        self.target = target
        self.passes = passes
        self.names = [n.name for n in gm.graph.nodes if n.op == "placeholder"]
        self.frozen = [_is_frozen(n, v) for n, v in zip(self.names, example_inputs)]
        self.cache: dict[tuple, tuple[Any, list[int]]] = {}
        self.index = STATS.graphs
        STATS.graphs += 1

    def signature(self, args: Sequence[Any]) -> tuple:
        import torch

        sig = []
        for arg, frozen in zip(args, self.frozen):
            if not isinstance(arg, torch.Tensor):
                sig.append(("const", repr(arg)))
            elif frozen:
                sig.append(("frozen", arg.data_ptr(), arg._version, tuple(arg.shape), str(arg.dtype)))
            else:
                sig.append((tuple(arg.shape), str(arg.dtype)))
        return tuple(sig)

    def compile(self, args: Sequence[Any]) -> tuple[Any, list[int]]:
        """Export the graph for these arguments and compile it; returns (model, runtime arg ids)."""
        import torch

        import zenith

        runtime = [i for i, (a, f) in enumerate(zip(args, self.frozen))
                   if isinstance(a, torch.Tensor) and not f]
        module = _Frozen(self.gm, args, runtime)
        example = tuple(args[i] for i in runtime)
        names = [f"in{k}" for k in range(len(runtime))]
        buf = io.BytesIO()
        try:
            with warnings.catch_warnings(), torch.no_grad():
                warnings.simplefilter("ignore")
                torch.onnx.export(module, example, buf, dynamo=False, opset_version=17,
                                  input_names=names)
        except Exception as e:  # the exporter's own errors name the aten op
            raise ZenithError(f"torch.compile backend 'zenith': graph {self.index} could not be "
                              f"exported to ONNX: {type(e).__name__}: {e}") from e
        model = zenith.compile(buf.getvalue(), target=self.target, passes=self.passes)
        STATS.compilations += 1
        STATS.compiled.append(model)
        return model, runtime

    def __call__(self, *args: Any) -> list[Any]:
        import torch

        if torch.is_grad_enabled() and any(isinstance(a, torch.Tensor) and a.requires_grad
                                           for a in args):
            raise ZenithError("torch.compile backend 'zenith' compiles inference graphs only; "
                              "call the model under torch.no_grad() or torch.inference_mode()")
        key = self.signature(args)
        entry = self.cache.get(key)
        if entry is None:
            entry = self.cache[key] = self.compile(args)
        model, runtime = entry
        feeds = [_to_numpy(args[i]) for i in runtime]
        STATS.calls += 1
        outs = model.run(feeds)
        device = next((args[i].device for i in runtime), torch.device("cpu"))
        return [torch.from_numpy(np.ascontiguousarray(o)).to(device) for o in outs]


def _to_numpy(t: Any) -> np.ndarray:
    return t.detach().cpu().contiguous().numpy()


def _Frozen(gm: Any, args: Sequence[Any], runtime: list[int]) -> Any:
    """A module taking only the runtime inputs; frozen tensors are its buffers."""
    import torch

    class Frozen(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.gm = gm
            self.slots: list[tuple[str, Any]] = []
            for i, a in enumerate(args):
                if i in runtime:
                    self.slots.append(("runtime", runtime.index(i)))
                elif isinstance(a, torch.Tensor):
                    self.register_buffer(f"frozen{i}", a.detach().clone())
                    self.slots.append(("buffer", f"frozen{i}"))
                else:
                    self.slots.append(("const", a))

        def forward(self, *xs: Any) -> Any:
            full = [xs[v] if kind == "runtime" else getattr(self, v) if kind == "buffer" else v
                    for kind, v in self.slots]
            out = self.gm(*full)
            return tuple(out) if isinstance(out, list) else out

    return Frozen().eval()


def make_backend(target: str = "cpu", passes: str | None = None) -> Callable[..., Any]:
    """A Dynamo backend compiling for ``target`` (``torch.compile(m, backend=make_backend(...))``)."""
    def backend(gm: Any, example_inputs: Sequence[Any], **_: Any) -> Callable[..., Any]:
        return ZenithGraph(gm, example_inputs, target, passes)
    return backend


def zenith_backend(gm: Any, example_inputs: Sequence[Any], **options: Any) -> Callable[..., Any]:
    """The ``zenith`` Dynamo backend: ``torch.compile(model, backend="zenith")``.

    ``options={"target": "cpu"|"cuda"|"auto", "passes": "..."}`` through
    ``torch.compile(..., options=...)``.
    """
    opts = dict(options.get("options") or {})
    return ZenithGraph(gm, example_inputs, opts.get("target", "auto"), opts.get("passes"))
