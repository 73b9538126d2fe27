"""``shape-infer``: re-infer every result type, binding input shapes and symbolic dims.

Given input shapes (``shapes=x:1x128,y:4x?``) and/or symbol values
(``dims=batch=2,seq=128``), the pass binds each function argument's symbolic dims
to the sizes given, substitutes the bindings everywhere, then walks the ops in
order and re-runs each op's type rule, keeping the more precise of the declared
and the inferred type per dim (a static size beats a symbol beats ``?``).
A declared type that contradicts the inferred one is an error at the op.

From Python: ``infer_shapes(module, shapes={"x": (1, 128)}, dims={"batch": 2})``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from zenith.ir.core import Block, Operation, Value
from zenith.ir.diagnostics import ZenithError
from zenith.ir.module import Function, Module
from zenith.ir.opdef import InferError, infer_result_types
from zenith.ir.types import Dim, TensorType, format_dim
from zenith.passes.base import Pass, PassContext, option
from zenith.passes.registry import register_pass


def parse_shapes(text: str) -> dict[str, tuple[Dim, ...]]:
    """``x:1x128,y:4x?`` -> {"x": (1, 128), "y": (4, None)}; ``x:`` is a scalar."""
    out: dict[str, tuple[Dim, ...]] = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        name, sep, dims = item.rpartition(":")
        if not sep or not name:
            raise ValueError(f"expected 'name:DxDx...' in shapes, got '{item}'")
        shape: list[Dim] = []
        for d in filter(None, dims.split("x")):
            if d == "?":
                shape.append(None)
            elif d.isdigit():
                shape.append(int(d))
            else:
                raise ValueError(f"dim '{d}' of '{name}' is not a size or '?'")
        out[name] = tuple(shape)
    return out


def parse_dims(text: str) -> dict[str, int]:
    """``batch=2,seq=128`` -> {"batch": 2, "seq": 128}."""
    out: dict[str, int] = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        name, sep, val = item.partition("=")
        if not sep or not val.isdigit():
            raise ValueError(f"expected 'symbol=size' in dims, got '{item}'")
        out[name] = int(val)
    return out


def arg_names(fn: Function) -> list[str]:
    """Names of ``fn``'s arguments as users give them (``arg_names`` attribute, then %names)."""
    given = list(fn.attributes.get("arg_names", ()))
    if len(given) == len(fn.args):
        return given
    return [a.name_hint or f"arg{i}" for i, a in enumerate(fn.args)]


def _subst(t: TensorType, binds: Mapping[str, int]) -> TensorType:
    if not any(isinstance(d, str) and d in binds for d in t.shape):
        return t
    return t.with_shape(tuple(binds.get(d, d) if isinstance(d, str) else d for d in t.shape))


def _meet_dim(a: Dim, b: Dim) -> Dim:
    if isinstance(a, int) or b is None:
        return a
    if isinstance(b, int) or a is None:
        return b
    return a  # two symbols: keep the declared name


def meet(declared: TensorType, inferred: TensorType) -> TensorType | None:
    """The more precise of two types, dim by dim; None if they contradict."""
    if declared.dtype is not inferred.dtype or declared.rank != inferred.rank:
        return None
    dims = []
    for a, b in zip(declared.shape, inferred.shape):
        if isinstance(a, int) and isinstance(b, int) and a != b:
            return None
        dims.append(_meet_dim(a, b))
    return TensorType(declared.dtype, tuple(dims))


class _Inferrer:
    def __init__(self, binds: dict[str, int]) -> None:
        self.binds = binds
        self.refined = 0

    def set_type(self, v: Value, t: TensorType) -> None:
        if v.type != t:
            v.type = t
            self.refined += 1

    def block(self, block: Block) -> None:
        for a in block.args:
            self.set_type(a, _subst(a.type, self.binds))
        for op in block:
            self.op(op)

    def op(self, op: Operation) -> None:
        for region in op.regions:
            for b in region.blocks:
                self.block(b)
        od = op.opdef
        declared = [_subst(r.type, self.binds) for r in op.results]
        if od is None or od.infer is None:
            for r, t in zip(op.results, declared):
                self.set_type(r, t)
            return
        try:
            inferred = infer_result_types(od, op.operands, op.attributes)
        except InferError as e:
            raise ZenithError(f"'{op.name}' op {e}", op.loc) from None
        if len(inferred) != len(op.results):
            raise ZenithError(f"'{op.name}' op type rule gives {len(inferred)} result(s), "
                              f"op has {len(op.results)}", op.loc)
        for i, (r, d, t) in enumerate(zip(op.results, declared, inferred)):
            m = meet(d, t)
            if m is None:
                raise ZenithError(f"'{op.name}' op result #{i} is declared {r.type} but its "
                                  f"operands imply {t}", op.loc)
            self.set_type(r, m)


def _bind_args(fn: Function, shapes: Mapping[str, Sequence[Dim]], binds: dict[str, int]) -> None:
    for name, a in zip(arg_names(fn), fn.args):
        given = shapes.get(name)
        if given is None:
            continue
        t = a.type
        if len(given) != t.rank:
            raise ZenithError(f"shape-infer: input '{name}' of '@{fn.sym_name}' has rank {t.rank} "
                              f"({t}), but the shape given has rank {len(given)}", fn.loc)
        dims = []
        for axis, (d, g) in enumerate(zip(t.shape, given)):
            if g is None:
                dims.append(d)
                continue
            if isinstance(d, int) and d != g:
                raise ZenithError(f"shape-infer: input '{name}' of '@{fn.sym_name}' is {t}; "
                                  f"dim {axis} cannot be {g}", fn.loc)
            if isinstance(d, str):
                bound = binds.setdefault(d, g)
                if bound != g:
                    raise ZenithError(f"shape-infer: symbol {format_dim(d)} is bound to {bound} "
                                      f"but input '{name}' dim {axis} is {g}", fn.loc)
            dims.append(g)
        a.type = t.with_shape(tuple(dims))


def infer_shapes(module: Module, shapes: Mapping[str, Sequence[Dim]] | None = None,
                 dims: Mapping[str, int] | None = None) -> int:
    """Refine every type in ``module`` (see the module doc); returns how many values changed."""
    shapes = dict(shapes or {})
    known = {n for fn in module.functions for n in arg_names(fn)}
    unknown = sorted(set(shapes) - known)
    if unknown:
        raise ZenithError(f"shape-infer: no function argument named {', '.join(map(repr, unknown))} "
                          f"(arguments: {', '.join(sorted(known)) or 'none'})")
    refined = 0
    for fn in module.functions:
        binds = dict(dims or {})
        before = [a.type for a in fn.args]
        _bind_args(fn, shapes, binds)
        inf = _Inferrer(binds)
        inf.refined = sum(1 for a, t in zip(fn.args, before) if a.type != t)
        inf.block(fn.body)
        fn.sync_signature()
        refined += inf.refined
    return refined


@register_pass
@dataclass(frozen=True)
class ShapeInfer(Pass):
    name = "shape-infer"
    description = "Re-infer every result type with the op type rules, binding given input shapes"
    statistics = {"values-refined": "values whose type became more precise"}

    shapes: str = option("", "input shapes, e.g. x:1x128,y:4x? (names of function arguments)")
    dims: str = option("", "values of symbolic dims, e.g. batch=2,seq=128")

    def __post_init__(self) -> None:
        parse_shapes(self.shapes)
        parse_dims(self.dims)

    def run(self, module: Module, ctx: PassContext) -> None:
        n = infer_shapes(module, parse_shapes(self.shapes), parse_dims(self.dims))
        ctx.add("values-refined", n)
