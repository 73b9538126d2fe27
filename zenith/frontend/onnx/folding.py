"""Import-time constant folding of small values.

ONNX graphs compute many parameters at run time that are in fact known when the
model is loaded (a reshape's target from ``Shape``, ``Gather`` and ``Concat``).
The importer folds a freshly created pure op whose operands are all constants,
using the op's own reference semantics, when its results are small; converters
then see the parameter as a constant and emit the static op.
"""

from __future__ import annotations

import numpy as np

from zenith.interpreter import Interpreter
from zenith.ir.attributes import DenseAttr
from zenith.ir.core import Operation, Value
from zenith.ir.diagnostics import ZenithError
from zenith.ir.opdef import CONSTANT_LIKE, NONDETERMINISTIC, PURE

_INTERP = Interpreter()
SHAPE_QUERIES = ("zt.shape_of", "zt.size")  # ops that read only their operand's shape


def const_value(v: Value) -> np.ndarray | None:
    """The array of ``v`` when a constant-like op defines it, else None."""
    op = getattr(v, "op", None)
    if op is None or not op.has_trait(CONSTANT_LIKE):
        return None
    val = op.attributes.get("value")
    return val.array if isinstance(val, DenseAttr) else None


def try_fold(op: Operation, limit: int) -> list[Value] | None:
    """Replace ``op`` by constants when it is pure, its operands are constants and its
    results have at most ``limit`` elements; returns the new values or None."""
    if op.has_trait(CONSTANT_LIKE) or not op.has_trait(PURE) or op.has_trait(NONDETERMINISTIC):
        return None
    if op.regions or not op.results:
        return None
    for r in op.results:
        n = r.type.num_elements
        if n is None or n > limit:
            return None
    arrays = []
    for v in op.operands:
        a = const_value(v)
        if a is None and op.name in SHAPE_QUERIES and v.type.is_static:
            # Only the shape is read: a stand-in array of that shape will do.
            a = np.broadcast_to(np.zeros((), v.type.dtype.np_dtype), v.type.shape)
        if a is None:
            return None
        arrays.append(a)
    try:
        outs = _INTERP.eval_op(op, arrays, {})
    except ZenithError:
        return None  # leave it to run time, where the error will name the op
    block = op.parent
    new: list[Value] = []
    for r, arr in zip(op.results, outs):
        c = Operation("zt.constant", [], [r.type], {"value": DenseAttr(arr, r.type.dtype)}, loc=op.loc)
        if block is not None:
            block.insert_before(op, c)
        c.results[0].name_hint = r.name_hint
        r.replace_all_uses_with(c.results[0])
        new.append(c.results[0])
    op.erase()
    return new
