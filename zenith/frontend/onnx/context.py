"""What a converter sees of one ONNX node: its inputs, attributes and a builder.

Converters create ``zt`` ops through :meth:`NodeContext.op`, which tags each op
with the node's location and folds ops whose operands are all small constants
(so chains like ``Shape -> Gather -> Concat -> Reshape`` become a static
``zt.reshape`` when shapes are known).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np
import onnx
from onnx import AttributeProto

from zenith.frontend.onnx.dtypes import tensor_to_array, to_dtype
from zenith.frontend.onnx.folding import const_value, try_fold
from zenith.ir.attributes import DenseAttr
from zenith.ir.builder import Builder
from zenith.ir.core import Value
from zenith.ir.diagnostics import Location, ZenithError
from zenith.ir.dtypes import DType, from_numpy
from zenith.ir.types import TensorType

if TYPE_CHECKING:
    from zenith.frontend.onnx.importer import GraphConverter

_REQUIRED = object()


class NeedsStaticInput(ZenithError):
    """A parameter the converter needs at import time comes from model inputs."""

    def __init__(self, message: str, inputs: Sequence[str], loc: Location | None = None) -> None:
        super().__init__(message, loc)
        self.inputs = list(inputs)


@dataclass
class SequenceValue:
    """An ONNX sequence whose length is known at import time: a list of tensor values."""

    items: list[Value]
    elem_dtype: DType | None = None

    @property
    def dtype(self) -> DType | None:
        return self.items[0].type.dtype if self.items else self.elem_dtype


@dataclass
class OptionalValue:
    """An ONNX optional whose presence is known at import time."""

    value: Value | SequenceValue | None
    elem: Any = field(default=None)  # the ONNX TypeProto of the element, when empty


OnnxValue = Value | SequenceValue | OptionalValue


def attribute_value(a: AttributeProto, loc: Location | None = None) -> Any:
    """An ONNX attribute as a Python value (tensors as NumPy arrays, strings decoded)."""
    t = a.type
    if t == AttributeProto.FLOAT:
        return float(a.f)
    if t == AttributeProto.INT:
        return int(a.i)
    if t == AttributeProto.STRING:
        return a.s.decode("utf-8", errors="replace")
    if t == AttributeProto.TENSOR:
        return tensor_to_array(a.t, loc)
    if t == AttributeProto.GRAPH:
        return a.g
    if t == AttributeProto.FLOATS:
        return tuple(float(x) for x in a.floats)
    if t == AttributeProto.INTS:
        return tuple(int(x) for x in a.ints)
    if t == AttributeProto.STRINGS:
        return tuple(s.decode("utf-8", errors="replace") for s in a.strings)
    if t == AttributeProto.TENSORS:
        return [tensor_to_array(x, loc) for x in a.tensors]
    if t == AttributeProto.GRAPHS:
        return list(a.graphs)
    if t == AttributeProto.SPARSE_TENSOR:
        return _sparse_to_array(a.sparse_tensor, loc)
    if t == AttributeProto.TYPE_PROTO:
        return a.tp
    raise ZenithError(f"attribute '{a.name}' has unsupported type {t}", loc)


def _sparse_to_array(s: onnx.SparseTensorProto, loc: Location | None) -> np.ndarray:
    values = tensor_to_array(s.values, loc)
    idx = tensor_to_array(s.indices, loc).astype(np.int64)
    shape = tuple(s.dims)
    out = np.zeros(shape, dtype=values.dtype)
    if idx.ndim == 1:
        out.reshape(-1)[idx] = values
    else:
        out[tuple(idx.T)] = values
    return out


class NodeContext:
    """One ONNX node being converted."""

    def __init__(self, graph: GraphConverter, node: onnx.NodeProto, inputs: list[OnnxValue | None],
                 version: int, loc: Location, builder: Builder) -> None:
        self.graph = graph
        self.node = node
        self.inputs = inputs
        self.version = version
        self.loc = loc
        self.b = builder
        self._attrs: dict[str, Any] | None = None

    # -- node facts -----------------------------------------------------
    @property
    def op_type(self) -> str:
        return self.node.op_type

    @property
    def num_outputs(self) -> int:
        """How many outputs the node names (trailing absent ones excluded)."""
        outs = list(self.node.output)
        while outs and not outs[-1]:
            outs.pop()
        return len(outs)

    def wants_output(self, i: int) -> bool:
        return i < len(self.node.output) and bool(self.node.output[i])

    def fail(self, message: str) -> NoReturn:
        raise ZenithError(f"{self.op_type}: {message}", self.loc)

    # -- inputs ---------------------------------------------------------
    def has_input(self, i: int) -> bool:
        return i < len(self.inputs) and self.inputs[i] is not None

    def input(self, i: int) -> Value:
        """Tensor input ``i``; error when it is absent or not a tensor."""
        if not self.has_input(i):
            self.fail(f"input #{i} is required")
        v = self.inputs[i]
        if not isinstance(v, Value):
            self.fail(f"input #{i} must be a tensor, got {type(v).__name__}")
        return v

    def opt_input(self, i: int) -> Value | None:
        return self.input(i) if self.has_input(i) else None

    def any_input(self, i: int) -> OnnxValue:
        if not self.has_input(i):
            self.fail(f"input #{i} is required")
        return self.inputs[i]  # type: ignore[return-value]

    def tensor_inputs(self) -> list[Value]:
        return [self.input(i) for i in range(len(self.inputs)) if self.has_input(i)]

    def const(self, i: int) -> np.ndarray | None:
        """The value of input ``i`` when it is known at import time."""
        if not self.has_input(i) or not isinstance(self.inputs[i], Value):
            return None
        return const_value(self.inputs[i])

    def const_ints(self, i: int) -> tuple[int, ...] | None:
        """Input ``i`` as a tuple of ints when it is a constant, else None."""
        arr = self.const(i)
        if arr is None:
            return None
        return tuple(int(x) for x in np.asarray(arr).reshape(-1))

    def static(self, i: int, what: str) -> np.ndarray:
        """Input ``i``, which must be known at import time (a parameter such as axes).

        When it is computed from model inputs alone, NeedsStaticInput names them, so
        the caller can compile again with their values fixed (``static_inputs``)."""
        arr = self.const(i)
        if arr is not None:
            return arr
        v = self.input(i)
        fed = self.graph.importer.feeding_inputs(v)
        if fed is not None and fed[0]:
            raise NeedsStaticInput(
                f"{self.op_type}: {what} is computed at run time from the values of model "
                f"input(s) {', '.join(map(repr, fed[0]))}; compile with "
                "static_inputs={name: value} to fix them", fed[0], self.loc)
        if fed is not None and fed[1]:
            self.fail(f"{what} depends on the dynamic shape of model input(s) "
                      f"{', '.join(map(repr, fed[1]))}; give static shapes with "
                      "input_shapes={name: shape}")
        self.fail(f"{what} computed at run time is not supported")

    def static_ints(self, i: int, what: str) -> tuple[int, ...] | None:
        """:meth:`static` as a tuple of ints; None when the input is absent."""
        if not self.has_input(i):
            return None
        return tuple(int(x) for x in np.asarray(self.static(i, what)).reshape(-1))

    def type(self, i: int) -> TensorType:
        return self.input(i).type

    # -- attributes -----------------------------------------------------
    @property
    def attrs(self) -> dict[str, Any]:
        if self._attrs is None:
            self._attrs = {a.name: attribute_value(a, self.loc) for a in self.node.attribute}
        return self._attrs

    def attr(self, name: str, default: Any = _REQUIRED) -> Any:
        if name in self.attrs:
            return self.attrs[name]
        if default is _REQUIRED:
            self.fail(f"attribute '{name}' is required")
        return default

    def dtype_attr(self, name: str, default: int | None = None) -> DType:
        return to_dtype(self.attr(name, default), self.loc)

    # -- building -------------------------------------------------------
    def op(self, name: str, *operands: Value, **attrs: Any) -> Any:
        """Create op ``name`` at the node's location; fold it when its operands are constants."""
        op = self.b.create(name, list(operands), attrs, loc=self.loc)
        folded = try_fold(op, self.graph.fold_limit)
        if folded is not None:
            return folded[0] if len(folded) == 1 else tuple(folded)
        return op.results[0] if len(op.results) == 1 else tuple(op.results)

    def constant(self, value: Any, dtype: DType | None = None) -> Value:
        """A ``zt.constant`` holding ``value`` (cast to ``dtype`` when given)."""
        arr = np.asarray(value) if dtype is None or dtype.kind == "string" else \
            np.asarray(value).astype(dtype.np_dtype)
        if arr.dtype.kind in "US":
            arr = arr.astype(object)
        from_numpy(arr.dtype)  # raises for unsupported NumPy dtypes
        return self.b.create("zt.constant", [], {"value": DenseAttr(arr)}, loc=self.loc).result

    def scalar(self, value: Any, like: Value | DType) -> Value:
        """A rank-0 constant of ``like``'s dtype."""
        dt = like if isinstance(like, DType) else like.type.dtype
        return self.constant(np.asarray(value).astype(dt.np_dtype), dt)

    def cast(self, v: Value, dt: DType) -> Value:
        """``v`` converted to ``dt`` (no op when it already has it)."""
        if v.type.dtype is dt:
            return v
        return self.op("zt.cast", v, to=dt)

    def cast_like(self, v: Value, like: Value) -> Value:
        return self.cast(v, like.type.dtype)

    def subgraph(self, graph: onnx.GraphProto, arg_types: Sequence[TensorType]) -> Any:
        """Convert a subgraph attribute into a region (see GraphConverter.region)."""
        return self.graph.region(graph, arg_types, self.loc)
