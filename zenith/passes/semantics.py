"""Differential semantics checking: the interpreter before and after every pass.

:class:`SemanticsCheck` runs each function on seeded random inputs before and
after each pass and stops the pipeline at the first pass whose results differ
beyond the per-dtype tolerance (``zenith/tolerance.py``), naming the pass. Inputs
are drawn from the signature *after* the pass (a pass such as ``shape-infer`` may
refine it), so both versions accept them; symbolic and unknown dims get small
random sizes, one per symbol.
"""

from __future__ import annotations

import sys
import zlib
from dataclasses import dataclass
from typing import TextIO

import numpy as np

from zenith.interpreter import interpret
from zenith.ir.diagnostics import ZenithError
from zenith.ir.dtypes import from_numpy
from zenith.ir.module import Function, Module
from zenith.ir.types import TensorType
from zenith.passes.base import PassFailure
from zenith.passes.manager import Instrumentation, PassRecord, RunReport
from zenith.passes.pipeline import Pipeline, PipelineEntry
from zenith.tolerance import compare, tolerance


def random_inputs(fn: Function, rng: np.random.Generator) -> list[np.ndarray]:
    """Arrays fitting ``fn``'s signature: floats in [-2, 2], small ints, random bools."""
    sizes: dict[str, int] = {}
    out = []
    for a in fn.args:
        t: TensorType = a.type
        shape = []
        for d in t.shape:
            if isinstance(d, int):
                shape.append(d)
            elif isinstance(d, str):
                shape.append(sizes.setdefault(d, int(rng.integers(1, 5))))
            else:
                shape.append(int(rng.integers(1, 5)))
        dt = t.dtype
        if dt.is_bool:
            arr = rng.random(shape) < 0.5
        elif dt.kind == "uint":
            arr = rng.integers(0, 9, size=shape)
        elif dt.is_int:
            arr = rng.integers(-4, 5, size=shape)
        elif dt.kind == "string":
            arr = np.array(rng.integers(0, 9, size=shape).astype(str), dtype=object)
        else:
            arr = rng.uniform(-2, 2, size=shape)
        out.append(np.asarray(arr).astype(dt.np_dtype))
    return out


@dataclass
class _Cached:
    signature: tuple[TensorType, ...]
    outputs: list[list[np.ndarray]]  # per trial


class SemanticsCheck(Instrumentation):
    """Names the first pass that changes any function's results (see module doc)."""

    def __init__(self, seed: int = 0, trials: int = 3, stream: TextIO | None = None) -> None:
        if trials < 1:
            raise ValueError("check-semantics needs at least one trial")
        self.seed = seed
        self.trials = trials
        self.stream = stream
        self.max_abs_err = 0.0
        self.worst_pass = ""
        self.checked = 0
        self._before: Module | None = None
        self._cache: dict[str, _Cached] = {}
        self._skipped: set[str] = set()

    def _say(self, text: str) -> None:
        out = self.stream or sys.stderr
        out.write(text + "\n")
        out.flush()

    def before_pipeline(self, module: Module, pipeline: Pipeline) -> None:
        self._cache.clear()

    def before_pass(self, entry: PipelineEntry, module: Module) -> None:
        self._before = module.clone()

    def _inputs(self, fn: Function, trial: int) -> list[np.ndarray]:
        key = zlib.crc32(fn.sym_name.encode())
        return random_inputs(fn, np.random.default_rng([self.seed, trial, key]))

    def after_pass(self, entry: PipelineEntry, module: Module, record: PassRecord) -> None:
        assert self._before is not None
        before = {f.sym_name: f for f in self._before.functions}
        for fn in module.functions:
            old = before.get(fn.sym_name)
            if old is None or fn.sym_name in self._skipped:
                continue
            sig = tuple(a.type for a in fn.args)
            cached = self._cache.get(fn.sym_name)
            outs: list[list[np.ndarray]] = []
            for trial in range(self.trials):
                inputs = self._inputs(fn, trial)
                if cached is not None and cached.signature == sig:
                    want = cached.outputs[trial]
                else:
                    try:
                        want = interpret(old, inputs)
                    except ZenithError as e:
                        self._skipped.add(fn.sym_name)
                        self._say(f"check-semantics: not checking '@{fn.sym_name}': {e.message}")
                        break
                try:
                    got = interpret(fn, inputs)
                except ZenithError as e:
                    raise PassFailure(f"check-semantics: after pass '{entry.pass_.name}', '@{fn.sym_name}' "
                                      f"no longer runs (trial {trial}, seed {self.seed}): {e.message}",
                                      e.loc, pass_name=entry.pass_.name) from None
                self._compare(entry, fn, trial, want, got)
                outs.append(got)
            else:
                self._cache[fn.sym_name] = _Cached(sig, outs)
        self.checked += 1

    def _compare(self, entry: PipelineEntry, fn: Function, trial: int, want: list[np.ndarray],
                 got: list[np.ndarray]) -> None:
        name = entry.pass_.name
        if len(want) != len(got):
            raise PassFailure(f"check-semantics: pass '{name}' changed '@{fn.sym_name}' from "
                              f"{len(want)} to {len(got)} results", fn.loc, pass_name=name)
        for i, (w, g) in enumerate(zip(want, got)):
            dt = "str" if w.dtype == object else from_numpy(w.dtype).name
            rtol, atol = tolerance(dt)
            lowered = entry.pass_.numerics_dtype()
            if lowered is not None and w.dtype.kind in "fc":  # a deliberate precision change
                rtol, atol = (max(a, b) for a, b in zip((rtol, atol), tolerance(lowered)))
            c = compare(w, g, rtol, atol)
            if c.max_abs_err > self.max_abs_err:
                self.max_abs_err, self.worst_pass = c.max_abs_err, name
            if not c.ok:
                raise PassFailure(
                    f"check-semantics: pass '{name}' changed result #{i} of '@{fn.sym_name}': {c.message} "
                    f"(max abs error {c.max_abs_err:.3g}; trial {trial}, seed {self.seed})",
                    fn.loc, pass_name=name)

    def after_pipeline(self, module: Module, report: RunReport) -> None:
        worst = f" after '{self.worst_pass}'" if self.worst_pass else ""
        self._say(f"check-semantics: {self.checked} pass(es) x {self.trials} trial(s), results agree; "
                  f"max abs error {self.max_abs_err:.3g}{worst}")
