"""Op definitions: the one place that says what an op is.

An :class:`OpDef` holds an op's operands, results, attributes with defaults,
traits, extra verifier, type-inference rule and NumPy reference. Dialects call
:func:`define_op`; the IR core only consults the registry, it knows no dialect.

Operand specs are names with an optional suffix: ``"bias?"`` is optional
(trailing operands only), ``"inputs*"`` is variadic (last only).
Attribute specs are a kind (required) or ``(kind, default)``; kinds are
``int float bool str dtype type dense ints floats strs any``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from zenith.ir.attributes import DenseAttr
from zenith.ir.dtypes import DType
from zenith.ir.types import TensorType

if TYPE_CHECKING:
    from zenith.ir.core import Operation

# Traits (plain strings, so a table can list them).
PURE = "pure"
ELEMENTWISE = "elementwise"
COMMUTATIVE = "commutative"
TERMINATOR = "terminator"
CONSTANT_LIKE = "constant-like"
SAME_OPERAND_DTYPE = "same-operand-dtype"
REDUCTION = "reduction"
ANCHOR = "anchor"  # fusion anchor: matmul, conv, norms, attention...
VIEW = "view"  # result is a re-interpretation of operand 0's data (reshape...)
NONDETERMINISTIC = "nondeterministic"


class InferError(ValueError):
    """Raised by a type rule; the verifier attaches the op's location."""


REQUIRED = object()


@dataclass(frozen=True)
class AttrSpec:
    kind: str
    default: Any = REQUIRED

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_float(v: Any) -> bool:
    return isinstance(v, float) or _is_int(v)


ATTR_CHECKS: dict[str, Callable[[Any], bool]] = {
    "int": _is_int,
    "float": _is_float,
    "bool": lambda v: isinstance(v, bool),
    "str": lambda v: isinstance(v, str),
    "dtype": lambda v: isinstance(v, DType),
    "type": lambda v: isinstance(v, TensorType),
    "dense": lambda v: isinstance(v, DenseAttr),
    "ints": lambda v: isinstance(v, tuple) and all(map(_is_int, v)),
    "floats": lambda v: isinstance(v, tuple) and all(map(_is_float, v)),
    "strs": lambda v: isinstance(v, tuple) and all(isinstance(x, str) for x in v),
    "any": lambda v: True,
}


@dataclass
class OpDef:
    """Everything the compiler knows about one op."""

    name: str
    operands: tuple[str, ...] = ()
    results: int | None = 1  # None: as many as the type rule returns
    attrs: dict[str, AttrSpec] = field(default_factory=dict)
    traits: frozenset[str] = frozenset()
    infer: Callable[[InferContext], list[TensorType] | TensorType] | None = None
    reference: Callable[..., Any] | None = None
    verify: Callable[[Operation], str | None] | None = None
    regions: int = 0
    doc: str = ""
    # Canonicalization contributed by the op's dialect (see zenith/ir/rewrite.py):
    # ``fold(op, consts)`` gets the op and, per operand, its constant value (a NumPy
    # array) or None; it returns None (no fold), or per result a Value or an array
    # (a constant to materialize), a single one standing for a one-result op.
    # Returning the op's own result means "updated in place".
    fold: Callable[[Operation, list[np.ndarray | None]], Any] | None = None
    # RewritePattern objects the canonicalizer applies to this op.
    canonical_patterns: list[Any] = field(default_factory=list)

    @property
    def min_operands(self) -> int:
        return sum(1 for o in self.operands if not o.endswith(("?", "*")))

    @property
    def max_operands(self) -> int | None:
        if self.operands and self.operands[-1].endswith("*"):
            return None
        return len(self.operands)

    @property
    def dialect(self) -> str:
        return self.name.split(".", 1)[0]


REGISTRY: dict[str, OpDef] = {}


def lookup(name: str) -> OpDef | None:
    """The definition of op ``name``, or None."""
    return REGISTRY.get(name)


def _attr_spec(spec: Any) -> AttrSpec:
    if isinstance(spec, AttrSpec):
        return spec
    if isinstance(spec, str):
        return AttrSpec(spec)
    kind, default = spec
    return AttrSpec(kind, default)


def define_op(
    name: str,
    *,
    operands: Sequence[str] = (),
    results: int | None = 1,
    attrs: dict[str, Any] | None = None,
    traits: Sequence[str] = (),
    infer: Callable | None = None,
    reference: Callable | None = None,
    verify: Callable | None = None,
    regions: int = 0,
    doc: str = "",
    fold: Callable | None = None,
) -> OpDef:
    """Register an op definition and return it."""
    if name in REGISTRY:
        raise ValueError(f"op '{name}' is defined twice")
    ops = tuple(operands)
    for i, o in enumerate(ops):
        if o.endswith("*") and i != len(ops) - 1:
            raise ValueError(f"{name}: variadic operand '{o}' must be last")
        if not o.endswith(("?", "*")) and i > 0 and ops[i - 1].endswith("?"):
            raise ValueError(f"{name}: optional operand '{ops[i - 1]}' must be trailing")
    od = OpDef(
        name=name,
        operands=ops,
        results=results,
        attrs={k: _attr_spec(v) for k, v in (attrs or {}).items()},
        traits=frozenset(traits),
        infer=infer,
        reference=reference,
        verify=verify,
        regions=regions,
        doc=doc,
        fold=fold,
    )
    for k, spec in od.attrs.items():
        if spec.kind not in ATTR_CHECKS:
            raise ValueError(f"{name}: attribute '{k}' has unknown kind '{spec.kind}'")
    REGISTRY[name] = od
    return od


class InferContext:
    """What a type rule may look at: operand types, attributes, constant operands."""

    __slots__ = ("attributes", "name", "opdef", "operand_types", "operands")

    def __init__(self, opdef: OpDef, operands: Sequence[Any], attributes: dict[str, Any]):
        self.opdef = opdef
        self.name = opdef.name
        self.operands = operands
        self.operand_types: list[TensorType] = [v.type for v in operands]
        self.attributes = attributes

    def attr(self, key: str) -> Any:
        if key in self.attributes:
            return self.attributes[key]
        return self.opdef.attrs[key].default

    def const(self, i: int) -> np.ndarray | None:
        """The value of operand ``i`` if a constant-like op defines it."""
        if i >= len(self.operands):
            return None
        v = self.operands[i]
        op = getattr(v, "op", None)
        if op is None or not op.has_trait(CONSTANT_LIKE):
            return None
        val = op.attributes.get("value")
        return val.array if isinstance(val, DenseAttr) else None


def infer_result_types(
    opdef: OpDef, operands: Sequence[Any], attributes: dict[str, Any]
) -> list[TensorType]:
    """Run an op's type rule; InferError if the op has none or it fails."""
    if opdef.infer is None and opdef.results == 0:
        return []
    if opdef.infer is None:
        raise InferError(f"'{opdef.name}' has no type rule; give result types explicitly")
    out = opdef.infer(InferContext(opdef, operands, attributes))
    return [out] if isinstance(out, TensorType) else list(out)


def normalize_attributes(opdef: OpDef, attributes: dict[str, Any]) -> dict[str, Any]:
    """Drop attributes equal to their default, so equal ops print equally."""
    out = {}
    for k, v in attributes.items():
        spec = opdef.attrs.get(k)
        if spec is not None and not spec.required and _same(v, spec.default):
            continue
        out[k] = v
    return out


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b
