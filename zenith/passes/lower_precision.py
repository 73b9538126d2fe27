"""``lower-precision{dtype=f16|bf16}``: run float32 computation in half precision.

What changes (function by function, top-level ops only):

- f32 constants read by lowered ops get an f16/bf16 twin (f16 saturates to
  +-65504, so ``finfo(f32).min`` attention masks stay finite); the f32 original
  stays only where a kept op still reads it.
- Compute and data-movement ops (elementwise, matmul/linear/gemm, conv, pooling,
  attention, batch-norm, reshape/transpose/gather/concat...) take half operands
  and give half results, provided the op's type rule says so: an op whose rule
  would not give half results (a dtype attribute, mixed dtypes) is kept.
- Statistics stay in f32: softmax, log-softmax, layer/RMS/group/instance norm,
  every reduction, cumulative ops, generators (``range``, ``fill``...) and ops
  with regions are *kept* in f32: a half operand is cast up (``zt.cast``)
  before them and their result is cast down where a lowered op reads it. ``fuse``
  then places these casts in the kernels' prologues and epilogues, so the
  reduction kernels read and write half data and keep their statistics in f32.
- Function inputs and outputs keep their f32 types: inputs are cast down at
  entry, results cast up before ``func.return``. Integer and bool values are
  never touched; ``zt.cast`` takes a half operand as it is.

The CUDA kernels of lowered ops accumulate in f32 (scalar.compute_type), which
is what "fp32 accumulation" means here; the interpreter runs the lowered module
with NumPy half arithmetic and agrees with the f32 module within half-precision
tolerance. Fusion patterns (attention, layer norm, GELU, conv + batch-norm...)
are recognised first (``patterns=true``), so the casts never split them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zenith.ir.attributes import DenseAttr
from zenith.ir.builder import Builder
from zenith.ir.core import Operation, OpResult, Value
from zenith.ir.dtypes import DType, dtype
from zenith.ir.module import Function, Module
from zenith.ir.opdef import CONSTANT_LIKE, REDUCTION, TERMINATOR, infer_result_types
from zenith.passes.base import Pass, PassContext, option
from zenith.passes.dce import dce_block
from zenith.passes.registry import register_pass

KEEP_F32 = frozenset({
    "zt.softmax", "zt.log_softmax", "zt.layer_norm", "zt.rms_norm", "zt.group_norm",
    "zt.instance_norm", "zt.lp_normalization", "zt.mean_variance_normalization", "zt.lrn",
    "zt.cumsum", "zt.cumprod", "zt.lp_pool", "zt.global_lp_pool", "zt.dft", "zt.det",
    "zt.range", "zt.range_dyn", "zt.fill", "zt.fill_dyn", "zt.eye_like", "zt.one_hot",
    "zt.non_max_suppression", "zt.unique", "zt.bitcast",
})
ACCEPTS_ANY_FLOAT = frozenset({"zt.cast"})
F16_MAX = float(np.finfo(np.float16).max)


def keeps_f32(op: Operation) -> bool:
    """Ops computed in f32 whatever their inputs (statistics, generators, regions, unknown ops)."""
    od = op.opdef
    return (op.name in KEEP_F32 or op.has_trait(REDUCTION) or bool(op.regions) or od is None
            or od.infer is None)


class Lowering:
    """The state of lowering one function: half twins of f32 values and f32 twins of half ones."""

    def __init__(self, fn: Function, half: DType) -> None:
        self.fn, self.half, self.f32 = fn, half, dtype("f32")
        self.lowered: set[Value] = set()
        self.down: dict[Value, Value] = {}
        self.up: dict[Value, Value] = {}
        self.counts = {"ops-lowered": 0, "ops-kept": 0, "casts": 0, "constants": 0}
        self._entry: Operation | None = None  # the last cast of a function input (inputs in order)

    def _after(self, v: Value) -> Builder:
        if isinstance(v, OpResult):
            return Builder.after_op(v.op)
        if self._entry is not None:
            return Builder.after_op(self._entry)
        first = self.fn.body.first
        return Builder.before_op(first) if first is not None else Builder.at_end(self.fn.body)

    def _cast(self, v: Value, to: DType) -> Value:
        b = self._after(v)
        op = b.create("zt.cast", [v], {"to": to}, loc=v.op.loc if isinstance(v, OpResult) else None)
        op.results[0].name_hint = v.name_hint
        if not isinstance(v, OpResult):
            self._entry = op
        self.counts["casts"] += 1
        return op.results[0]

    def to_half(self, v: Value) -> Value:
        """The half twin of an f32 value (a converted constant, else a cast after its definition)."""
        if v not in self.down:
            src = v.op if isinstance(v, OpResult) else None
            if src is not None and src.has_trait(CONSTANT_LIKE) and isinstance(src.attributes.get("value"),
                                                                                  DenseAttr):
                arr = src.attributes["value"].array
                if self.half.name == "f16":
                    arr = np.clip(arr, -F16_MAX, F16_MAX)
                new = Builder.after_op(src).create("zt.constant", [],
                                                   {"value": DenseAttr(arr, self.half)}, loc=src.loc)
                new.results[0].name_hint = v.name_hint
                self.down[v] = new.results[0]
                self.counts["constants"] += 1
            else:
                self.down[v] = self._cast(v, self.half)
        return self.down[v]

    def to_f32(self, v: Value) -> Value:
        if v not in self.up:
            self.up[v] = self._cast(v, self.f32)
        return self.up[v]

    def keep(self, op: Operation, upcast: bool = True) -> None:
        if upcast:
            for i, v in enumerate(op.operands):
                if v in self.lowered:
                    op.set_operand(i, self.to_f32(v))
        self.counts["ops-kept"] += 1

    def visit(self, op: Operation) -> None:
        if op.has_trait(CONSTANT_LIKE):
            return
        if op.has_trait(TERMINATOR) or keeps_f32(op):
            return self.keep(op)
        if op.name in ACCEPTS_ANY_FLOAT:
            return
        touched = [v in self.lowered or v.type.dtype == self.f32 for v in op.operands]
        if not any(touched):
            return  # integer, bool, f64 paths
        new = [self.to_half(v) if t and v not in self.lowered else v for v, t in zip(op.operands, touched)]
        try:
            types = infer_result_types(op.opdef, new, op.attributes)
        except Exception:
            return self.keep(op)
        want = [r.type.with_dtype(self.half) if r.type.dtype == self.f32 else r.type for r in op.results]
        if len(types) != len(want) or any(t.dtype != w.dtype or (t.shape != w.shape and t.is_static)
                                          for t, w in zip(types, want)):
            return self.keep(op)
        for i, v in enumerate(new):
            if v is not op.operands[i]:
                op.set_operand(i, v)
        for r, w in zip(op.results, want):
            if r.type.dtype == self.f32:
                r.type = w
                self.lowered.add(r)
        self.counts["ops-lowered"] += 1

    def run(self) -> None:
        for op in list(self.fn.body):
            self.visit(op)
        dce_block(self.fn.body)


@register_pass
@dataclass(frozen=True)
class LowerPrecision(Pass):
    name = "lower-precision"
    description = "Compute f32 ops in f16/bf16; norms, softmax and reductions keep f32 statistics"
    statistics = {"ops-lowered": "ops now computed in half precision",
                  "ops-kept": "ops kept in f32 (statistics, generators, terminators)",
                  "casts": "casts inserted", "constants": "constants converted to half"}

    dtype: str = option("f16", "the half type: f16 or bf16")
    patterns: bool = option(True, "recognise fusion patterns first so casts do not split them")

    def numerics_dtype(self) -> str | None:
        return self.dtype

    def __post_init__(self) -> None:
        if self.dtype not in ("f16", "bf16"):
            raise ValueError(f"dtype must be f16 or bf16, not '{self.dtype}'")

    def run(self, module: Module, ctx: PassContext) -> None:
        for fn in module.functions:
            if self.patterns:
                from zenith.passes.driver import PatternSet, apply_patterns_greedily
                from zenith.passes.fuse.patterns import fusion_patterns

                apply_patterns_greedily(fn, PatternSet(fusion_patterns()), fold=False)
            low = Lowering(fn, dtype(self.dtype))
            low.run()
            for k, n in low.counts.items():
                ctx.add(k, n)
