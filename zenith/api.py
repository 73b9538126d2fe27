"""The user-facing API: ``zenith.compile``, ``zenith.load_onnx`` and ``CompiledModel``.

    model = zenith.compile("resnet50.onnx", target="cpu")
    y = model(x)                      # NumPy in, NumPy out
    y = model(**{"input": x})         # or by input name
    print(model.ir)                   # the optimized IR as text
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from zenith.executors import Executor, executor_for
from zenith.frontend.onnx import load_onnx
from zenith.frontend.onnx.loader import ModelSource
from zenith.interpreter import check_value
from zenith.ir.diagnostics import ZenithError
from zenith.ir.module import Module
from zenith.ir.printer import print_module
from zenith.ir.types import Dim, TensorType

TARGETS = ("auto", "cpu", "cuda")
RUNTIMES = ("native", "interpreter")


def resolve_target(target: str) -> str:
    """The concrete target for ``target`` ("auto": "cuda" when PyCUDA and a GPU are there, else "cpu")."""
    if target not in TARGETS:
        raise ZenithError(f"unknown target '{target}'; expected one of {', '.join(TARGETS)}")
    if target in ("cuda", "auto"):
        from zenith.cuda_target import cuda_unavailable

        reason = cuda_unavailable()
        if reason is None:
            return "cuda"
        if target == "cuda":
            raise ZenithError(f"target 'cuda' is not available: {reason}; use target='cpu' (or 'auto')")
    return "cpu"


DEFAULT_PIPELINE = "canonicalize,constant-fold,cse,dce"


def run_pipeline(module: Module, passes: str | Sequence[str] | None) -> None:
    """Run a pass pipeline over ``module`` (None: ``DEFAULT_PIPELINE``; "" or []: none)."""
    from zenith.passes import run_pipeline as run

    if passes is None:
        passes = DEFAULT_PIPELINE
    text = passes if isinstance(passes, str) else ",".join(passes)
    if text:
        run(module, text)


def _on_device(x: Any) -> bool:
    from zenith.runtime.cuda.io import is_device_array

    return is_device_array(x)


class CompiledModel:
    """A model compiled for one target; call it with NumPy arrays.

    Inputs go positionally (in the model's input order) or by name; names, dtypes
    and shapes are checked before anything runs. One output is returned as an
    array, several as a tuple; :meth:`run` always returns a list.
    """

    def __init__(self, module: Module, target: str, executor: Executor) -> None:
        self.module = module  # the optimized module (before fuse and plan-memory)
        self.target = target
        self.executor = executor
        fn = module.main
        self.input_types: list[TensorType] = list(fn.arg_types)
        self.input_names: list[str] = list(fn.attributes.get("arg_names", ())) or [
            a.name_hint or f"arg{i}" for i, a in enumerate(fn.args)]
        self.output_names: list[str] = list(fn.attributes.get("result_names", ())) or [
            f"out{i}" for i in range(len(fn.result_types))]
        self.output_layout: tuple[str, ...] | None = fn.attributes.get("output_layout")

    @property
    def ir(self) -> str:
        """The compiled module as IR text."""
        return print_module(self.module)

    def __repr__(self) -> str:
        ins = ", ".join(f"{n}: {t}" for n, t in zip(self.input_names, self.input_types))
        return f"<CompiledModel target={self.target} ({ins})>"

    def bind(self, args: Sequence[Any], kwargs: Mapping[str, Any]) -> list[np.ndarray]:
        """Order and check call arguments; ZenithError names the offending input."""
        names = self.input_names
        if len(args) > len(names):
            raise ZenithError(f"the model takes {len(names)} input(s) ({', '.join(names)}), "
                              f"got {len(args)} positional")
        given: dict[str, Any] = dict(zip(names, args))
        for k, v in kwargs.items():
            if k not in names:
                raise ZenithError(f"unknown input '{k}'; the model's inputs are "
                                  f"{', '.join(map(repr, names))}")
            if k in given:
                raise ZenithError(f"input '{k}' is given both by position and by name")
            given[k] = v
        missing = [n for n in names if n not in given]
        if missing:
            raise ZenithError(f"missing input(s) {', '.join(map(repr, missing))}; the model's "
                              f"inputs are {', '.join(map(repr, names))}")
        out, symbols = [], {}
        for name, t in zip(names, self.input_types):
            arr = given[name]
            if self.target == "cuda" and _on_device(arr):  # checked by the CUDA executable
                out.append(arr)
                continue
            if not isinstance(arr, np.ndarray):  # Python numbers and lists: same kind only
                arr = np.asarray(arr)
                if arr.dtype.kind == t.dtype.np_dtype.kind or (
                        arr.dtype.kind == "i" and t.dtype.is_int):
                    arr = arr.astype(t.dtype.np_dtype)
            check_value(t, arr, f"input '{name}'", symbols=symbols)
            out.append(arr)
        return out

    def run(self, inputs: Sequence[Any] | Mapping[str, Any]) -> list[Any]:
        """Run on inputs given as a list (model order) or a name->array mapping."""
        arrays = self.bind([], inputs) if isinstance(inputs, Mapping) else self.bind(list(inputs), {})
        return self.unflatten(self.executor(arrays))

    def unflatten(self, flat: list[np.ndarray]) -> list[Any]:
        """Regroup flat results into the model's outputs (sequences as lists)."""
        if self.output_layout is None:
            return list(flat)
        out: list[Any] = []
        it = iter(flat)
        for kind in self.output_layout:
            opt = kind.startswith("opt:")
            kind = kind[4:] if opt else kind
            if kind == "none":
                out.append(None)
            elif kind == "tensor":
                out.append(next(it))
            else:
                out.append([next(it) for _ in range(int(kind.split(":")[1]))])
        return out

    def report_dict(self) -> dict[str, Any]:
        """What runs the model and how: see :meth:`report`."""
        fn = getattr(self.executor, "report_dict", None)
        if fn is not None:
            return {"target": self.target, **fn()}
        return {"target": self.target, "executor": type(self.executor).__name__}

    def report(self) -> str:
        """Kernels by kind and implementation, fused ops, arena against its lower bound and
        naive size, memory-pool statistics, and which executor runs (with the reason for an
        interpreter fallback). Figures are those of the last input-shape signature run."""
        from zenith.report import format_report

        return format_report(self.report_dict())

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        outs = self.unflatten(self.executor(self.bind(args, kwargs)))
        return outs[0] if len(outs) == 1 else tuple(outs)


def compile(model: ModelSource | Module, target: str = "auto", passes: str | Sequence[str] | None = None,
            *, input_shapes: Mapping[str, Sequence[Dim]] | None = None,
            static_inputs: Mapping[str, Any] | None = None,
            base_dir: str | os.PathLike | None = None,
            input_structure: Mapping[str, tuple] | None = None,
            runtime: str = "native", precision: str = "fp32") -> CompiledModel:
    """Compile an ONNX model (ModelProto, path or bytes) or a Zenith module for ``target``.

    ``passes`` is a pipeline string such as ``"canonicalize,cse,dce"`` (None: the
    default pipeline, ``DEFAULT_PIPELINE``; "": none); ``input_shapes`` fixes dynamic
    input dims by input name;
    ``static_inputs`` fixes input values at compile time (those inputs are then
    not passed when calling); ``input_structure`` shapes sequence and optional inputs
    (see :func:`zenith.load_onnx`). ``runtime`` picks the CPU executor: ``"native"`` (the
    default: ``fuse,plan-memory``, CPU kernels and the runtime Executable) or
    ``"interpreter"`` (the reference interpreter, an escape hatch).

    ``precision`` ("fp32", "fp16", "bf16") runs ``lower-precision`` after the
    pipeline: half compute, f32 statistics, f32 inputs and outputs. On "cuda"
    that is the fast path (tensor cores); on "cpu" the lowered module runs as
    it is (NumPy half arithmetic, for checking numerics, not for speed).
    Target "cuda" (see docs/cuda.md) accepts NumPy arrays or torch CUDA tensors and
    returns the same kind; it needs static shapes (``input_shapes=``).
    """
    from zenith.cuda_target import precision_pipeline

    lower = precision_pipeline(precision)
    tgt = resolve_target(target)
    if runtime not in RUNTIMES:
        raise ZenithError(f"unknown runtime '{runtime}'; expected one of {', '.join(RUNTIMES)}")
    if isinstance(model, Module):
        module = model.clone()
    else:
        module = load_onnx(model, input_shapes=input_shapes, static_inputs=static_inputs,
                           base_dir=base_dir, input_structure=input_structure)
    run_pipeline(module, passes)
    if lower:
        run_pipeline(module, lower)
    if target == "auto" and tgt == "cuda" and not all(t.is_static for t in module.main.arg_types):
        tgt = "cpu"  # the CUDA target needs static shapes; "auto" does not fail for want of them
    key = tgt if runtime == "native" or tgt != "cpu" else f"{tgt}-{runtime}"
    return CompiledModel(module, tgt, executor_for(key, module))
