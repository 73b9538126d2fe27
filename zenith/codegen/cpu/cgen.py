"""C source for an elementwise DAG over one output index space (with broadcast inputs).

The entry ``void zk_kernel(in0, ..., out0, ...)`` takes input pointers in order,
then output pointers. Dims where every operand is laid out alike are merged;
the loop is ``outer x inner`` (inner = the last merged dim, contiguous in the
output), with OpenMP over the outer rows. Each element loads its inputs, computes
the ops as scalar C (``zenith/codegen/scalar.py``; f32 ``expf``/``erff``/``tanhf``
become ``vmath``'s inline versions, so gcc vectorizes the loop) and stores the outputs, so an
output may alias an input index for index (in-place kernels).
"""

from __future__ import annotations

import math

from zenith.codegen.cpu.vmath import vectorizable
from zenith.codegen.scalar import C_STORAGE, UnsupportedOp, compute_type, scalar_expr
from zenith.ir.core import Operation, Value

ENTRY = "zk_kernel"
FLOATS = ("f32", "f64")


def _strides(shape: tuple[int, ...], out: tuple[int, ...]) -> list[int] | None:
    """Element strides of a ``shape`` array broadcast to ``out`` (None if it does not broadcast)."""
    if len(shape) > len(out):
        return None
    shape = (1,) * (len(out) - len(shape)) + tuple(shape)
    strides, acc = [0] * len(out), 1
    for d in range(len(out) - 1, -1, -1):
        if shape[d] == out[d]:
            strides[d] = acc if out[d] != 1 else 0
        elif shape[d] != 1:
            return None
        acc *= shape[d]
    return strides


def _merge(out: tuple[int, ...], strides: list[list[int]]) -> tuple[list[int], list[list[int]]]:
    """Drop size-1 dims and merge neighbours every operand walks alike."""
    keep = [d for d in range(len(out)) if out[d] != 1] or []
    dims = [out[d] for d in keep]
    ss = [[s[d] for d in keep] for s in strides]
    i = len(dims) - 1
    while i > 0:
        if all(s[i - 1] == s[i] * dims[i] for s in ss):
            dims[i - 1] *= dims[i]
            for s in ss:
                s[i - 1] = s[i]
                del s[i]
            del dims[i]
        i -= 1
    return dims, ss


def elementwise_source(ops: list[Operation], inputs: list[Value], outputs: list[Value],
                       threads: int, name: str) -> str | None:
    """The C translation unit, or None when these ops are not for C."""
    if not outputs or any(len(op.results) != 1 or op.regions for op in ops):
        return None
    out_shape = tuple(outputs[0].type.shape)
    values = [*inputs, *(op.results[0] for op in ops)]
    if any(v.type.dtype.name not in FLOATS or not v.type.is_static for v in values) or \
            any(tuple(v.type.shape) != out_shape for v in outputs):
        return None
    dt = outputs[0].type.dtype
    if any(v.type.dtype is not dt for v in values):
        return None
    ct, st = compute_type(dt), C_STORAGE[dt.name]
    used = [v for v in inputs if any(v in op.operands for op in ops) or v in outputs]
    in_strides = [_strides(tuple(v.type.shape), out_shape) for v in used]
    if any(s is None for s in in_strides):
        return None
    dims, ss = _merge(out_shape, [*in_strides, _strides(out_shape, out_shape)])
    if not dims:
        dims, ss = [1], [[0] for _ in ss]
    inner, rows = dims[-1], math.prod(dims[:-1])
    names = {v: f"x{i}" for i, v in enumerate(used)}
    body = []
    for k in range(len(used)):
        s = ss[k]
        off = _row_offset(dims, s)
        body.append(f"const {ct} x{k} = ({ct})in{k}[{off} + i * {s[-1]}L];")
    try:
        for j, op in enumerate(ops):
            expr = scalar_expr(op.name, [names[a] for a in op.operands], dict(op.attributes), ct)
            names[op.results[0]] = f"t{j}"
            body.append(f"const {ct} t{j} = ({ct})({expr});")
    except (UnsupportedOp, KeyError):
        return None
    stores = [f"out{k}[o * {inner}L + i] = ({st}){names[v]};" for k, v in enumerate(outputs)]
    params = [f"const {st}* in{k}" for k in range(len(used))] + \
             [f"{st}* out{k}" for k in range(len(outputs))]
    par = f"#pragma omp parallel for num_threads({threads}) schedule(static) if({rows * inner} > 65536)"
    lines = [f"/* {name}: {', '.join(op.name for op in ops)} */",
             "#include <math.h>", "#include <stdint.h>",
             f"void {ENTRY}({', '.join(params)}) {{",
             par if rows > 1 and threads > 1 else "",
             f"  for (long o = 0; o < {rows}L; ++o) {{",
             f"    for (long i = 0; i < {inner}L; ++i) {{",
             *("      " + b for b in body + stores),
             "    }", "  }", "}"]
    src = "\n".join(lines) + "\n"
    if ct == "float":
        src = vectorizable(src)
    # the kernel's inputs are all of ``inputs``: map the used ones to their positions
    order = [inputs.index(v) for v in used]
    return src if order == list(range(len(inputs))) else _with_all_inputs(src, len(inputs), order)


def _row_offset(dims: list[int], s: list[int]) -> str:
    """C expression of the element offset of outer row ``o`` for strides ``s``."""
    if len(dims) == 1:
        return "0L"
    terms, div = [], 1
    for d in range(len(dims) - 2, -1, -1):
        if s[d]:
            terms.append(f"((o / {div}L) % {dims[d]}L) * {s[d]}L")
        div *= dims[d]
    return "(" + " + ".join(terms) + ")" if terms else "0L"


def _with_all_inputs(src: str, n_inputs: int, order: list[int]) -> str:
    """Rename ``inK`` to the K-th used input's position and declare unused inputs too."""
    head, _, rest = src.partition(f"void {ENTRY}(")
    params, _, body = rest.partition(") {")
    outs = [p for p in params.split(", ") if "out" in p]
    st = outs[0].split("*")[0]
    for k in range(len(order) - 1, -1, -1):
        body = body.replace(f"in{k}[", f"IN{order[k]}[")
    body = body.replace("IN", "in")
    ins = [f"const {st}* in{i}" for i in range(n_inputs)]
    return f"{head}void {ENTRY}({', '.join(ins + outs)}) {{{body}"
