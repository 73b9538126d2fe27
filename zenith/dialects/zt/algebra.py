"""Tensor algebra beyond matmul: ``einsum`` (ONNX Einsum) and ``det``."""

from __future__ import annotations

import numpy as np

from zenith.dialects.numerics import in_f32
from zenith.dialects.shape_rules import broadcast_dim, check_dims_match, same_dtype
from zenith.ir.opdef import ANCHOR, PURE, InferContext, InferError, define_op
from zenith.ir.types import Dim, TensorType


def parse_einsum(equation: str, ranks: list[int]) -> tuple[list[str], str]:
    """Input terms and output term, with each ``...`` replaced by capital-free markers.

    Ellipsis dims are spelled as the characters ``0``, ``1``... (right-aligned, so the
    broadcast of the ellipsis parts lines up); the implicit output is the ellipsis
    followed by the letters that appear once, in ASCII order."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ranks):
        raise InferError(f"equation '{equation}' has {len(terms)} input terms for "
                         f"{len(ranks)} operands")
    n_ell = 0
    for t, r in zip(terms, ranks):
        if "..." in t:
            n_ell = max(n_ell, r - (len(t) - 3))
    marks = "".join(str(i) for i in range(n_ell))
    out_terms = []
    for t, r in zip(terms, ranks):
        if "..." in t:
            k = r - (len(t) - 3)
            if k < 0:
                raise InferError(f"term '{t}' has more letters than its operand's rank {r}")
            t = t.replace("...", marks[n_ell - k:])
        if len(t) != r:
            raise InferError(f"term '{t}' has {len(t)} letters for an operand of rank {r}")
        if not all(c.isalpha() or c.isdigit() for c in t):
            raise InferError(f"equation '{equation}' has an invalid character")
        out_terms.append(t)
    if arrow:
        out = rhs.replace("...", marks)
        if not all(c.isalpha() or c.isdigit() for c in out):
            raise InferError(f"output term '{rhs}' has an invalid character")
    else:
        letters = "".join(out_terms)
        once = sorted(c for c in set(letters) if c.isalpha() and letters.count(c) == 1)
        out = marks + "".join(once)
    return out_terms, out


def _einsum_infer(ctx: InferContext) -> TensorType:
    dt = same_dtype(ctx)
    if not (dt.is_float or dt.is_int):
        raise InferError(f"einsum needs numeric operands, got {dt}")
    types = ctx.operand_types
    terms, out = parse_einsum(ctx.attr("equation"), [t.rank for t in types])
    size: dict[str, Dim] = {}
    for term, t in zip(terms, types):
        for c, d in zip(term, t.shape):
            if c not in size:
                size[c] = d
            elif c.isdigit():
                try:
                    size[c] = broadcast_dim(size[c], d)
                except InferError:
                    raise InferError(f"ellipsis dims {size[c]} and {d} do not broadcast") from None
            else:
                size[c] = check_dims_match(size[c], d, f"einsum dim '{c}' differs")
    missing = [c for c in out if c not in size]
    if missing or len(set(out)) != len(out):
        raise InferError(f"output term of '{ctx.attr('equation')}' is invalid")
    return TensorType(dt, tuple(size[c] for c in out))


def _einsum_ref(ctx, *xs):
    terms, out = parse_einsum(ctx.attr("equation"), [x.ndim for x in xs])
    # np.einsum wants letters: map the ellipsis markers to unused capitals.
    used = set("".join(terms) + out)
    free = iter(c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in used)
    table = {str(i): next(free) for i in range(10) if str(i) in used}
    spec = ",".join(t.translate(str.maketrans(table)) for t in terms)
    spec += "->" + out.translate(str.maketrans(table))
    # Broadcast size-1 ellipsis dims against the others (np.einsum needs equal sizes).
    shapes: dict[str, int] = {}
    for t, x in zip(spec.split("->")[0].split(","), xs):
        for c, d in zip(t, x.shape):
            shapes[c] = max(shapes.get(c, 1), d)
    xs = [np.broadcast_to(x, [shapes[c] if c in table.values() else d
                              for c, d in zip(t, x.shape)])
          for t, x in zip(spec.split("->")[0].split(","), xs)]
    dt = xs[0].dtype
    if dt.kind in "iu":
        return np.einsum(spec, *[x.astype(np.int64) for x in xs]).astype(dt)
    return np.asarray(in_f32(lambda *a: np.einsum(spec, *a))(*xs)).astype(dt)


define_op(
    "zt.einsum",
    operands=("inputs*",),
    attrs={"equation": "str"},
    traits=(PURE, ANCHOR),
    infer=_einsum_infer,
    reference=_einsum_ref,
    doc="Einstein summation (ONNX Einsum): explicit or implicit output, '...' broadcasting.",
)


def _det_infer(ctx: InferContext) -> TensorType:
    x = ctx.operand_types[0]
    if not x.dtype.is_float:
        raise InferError(f"det needs a float operand, got {x.dtype}")
    if x.rank < 2:
        raise InferError(f"det needs rank >= 2, got {x}")
    check_dims_match(x.shape[-1], x.shape[-2], "det needs square matrices")
    return x.with_shape(x.shape[:-2])


define_op(
    "zt.det",
    operands=("x",),
    traits=(PURE,),
    infer=_det_infer,
    reference=lambda ctx, x: np.asarray(np.linalg.det(x.astype(np.float64))).astype(x.dtype),
    doc="Determinant of the square matrices in the last two dims, computed in f64.",
)
