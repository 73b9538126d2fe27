"""Converters of matrix products: MatMul, Gemm."""

from __future__ import annotations

from zenith.frontend.onnx.context import NodeContext
from zenith.frontend.onnx.registry import converter
from zenith.ir.core import Value


@converter("MatMul", since=1)
def _matmul(ctx: NodeContext) -> Value:
    return ctx.op("zt.matmul", ctx.input(0), ctx.input(1))


@converter("Gemm", since=6)
def _gemm(ctx: NodeContext) -> Value:
    a, b = ctx.input(0), ctx.input(1)
    operands = [a, b] + ([ctx.input(2)] if ctx.has_input(2) else [])
    return ctx.op("zt.gemm", *operands, alpha=float(ctx.attr("alpha", 1.0)),
                  beta=float(ctx.attr("beta", 1.0)), trans_a=bool(ctx.attr("transA", 0)),
                  trans_b=bool(ctx.attr("transB", 0)))


@converter("Einsum", since=12)
def _einsum(ctx: NodeContext) -> Value:
    return ctx.op("zt.einsum", *ctx.tensor_inputs(), equation=ctx.attr("equation"))


@converter("Det", since=11)
def _det(ctx: NodeContext) -> Value:
    return ctx.op("zt.det", ctx.input(0))
