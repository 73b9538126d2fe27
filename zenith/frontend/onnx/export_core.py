"""Export rules of the core ``zt`` ops: constants, elementwise, casts, matmuls, views,
reductions, softmax and normalizations."""

from __future__ import annotations

import numpy as np

from zenith.frontend.onnx.dtypes import to_onnx_type
from zenith.frontend.onnx.exporter import ExportContext, export_rule
from zenith.ir.core import Operation
from zenith.ir.diagnostics import ZenithError

SIMPLE_UNARY = {
    "zt.neg": "Neg", "zt.abs": "Abs", "zt.sign": "Sign", "zt.exp": "Exp", "zt.log": "Log",
    "zt.sqrt": "Sqrt", "zt.reciprocal": "Reciprocal", "zt.tanh": "Tanh", "zt.erf": "Erf",
    "zt.sigmoid": "Sigmoid", "zt.relu": "Relu", "zt.softplus": "Softplus",
    "zt.softsign": "Softsign", "zt.floor": "Floor", "zt.ceil": "Ceil", "zt.round": "Round",
    "zt.sin": "Sin", "zt.cos": "Cos", "zt.tan": "Tan", "zt.asin": "Asin", "zt.acos": "Acos",
    "zt.atan": "Atan", "zt.sinh": "Sinh", "zt.cosh": "Cosh", "zt.asinh": "Asinh",
    "zt.acosh": "Acosh", "zt.atanh": "Atanh", "zt.not": "Not", "zt.bitwise_not": "BitwiseNot",
    "zt.isnan": "IsNaN", "zt.hard_swish": "HardSwish", "zt.mish": "Mish",
}
ATTR_UNARY = {
    "zt.elu": ("Elu", ("alpha",)), "zt.selu": ("Selu", ("alpha", "gamma")),
    "zt.celu": ("Celu", ("alpha",)), "zt.leaky_relu": ("LeakyRelu", ("alpha",)),
    "zt.thresholded_relu": ("ThresholdedRelu", ("alpha",)),
    "zt.hard_sigmoid": ("HardSigmoid", ("alpha", "beta")), "zt.shrink": ("Shrink", ("bias", "lambd")),
    "zt.gelu": ("Gelu", ("approximate",)),
}
SIMPLE_BINARY = {
    "zt.add": "Add", "zt.sub": "Sub", "zt.mul": "Mul", "zt.div": "Div", "zt.max": "Max",
    "zt.min": "Min", "zt.eq": "Equal", "zt.lt": "Less", "zt.le": "LessOrEqual",
    "zt.gt": "Greater", "zt.ge": "GreaterOrEqual", "zt.and": "And", "zt.or": "Or",
    "zt.xor": "Xor", "zt.bitwise_and": "BitwiseAnd", "zt.bitwise_or": "BitwiseOr",
    "zt.bitwise_xor": "BitwiseXor", "zt.pow": "Pow", "zt.matmul": "MatMul",
}


def _ins(ctx: ExportContext, op: Operation) -> list[str]:
    return [ctx.name(v) for v in op.operands]


def _unary(onnx_op: str):
    return lambda ctx, op: ctx.node(onnx_op, _ins(ctx, op))


def _attr_unary(onnx_op: str, keys: tuple[str, ...]):
    return lambda ctx, op: ctx.node(onnx_op, _ins(ctx, op), **{k: op.attr(k) for k in keys})


for _z, _o in {**SIMPLE_UNARY, **SIMPLE_BINARY}.items():
    export_rule(_z, opset=18 if _o.startswith(("Bitwise", "Mish")) else 1)(_unary(_o))
for _z, (_o, _keys) in ATTR_UNARY.items():
    export_rule(_z, opset=20 if _o == "Gelu" else 1)(_attr_unary(_o, _keys))


@export_rule("zt.constant")
def _constant(ctx: ExportContext, op: Operation):
    return ctx.const(op.attr("value").array, hint=op.result.name_hint or "const")


@export_rule("zt.ne")
def _ne(ctx: ExportContext, op: Operation):
    return ctx.node("Not", ctx.node("Equal", _ins(ctx, op)))


@export_rule("zt.rsqrt")
def _rsqrt(ctx: ExportContext, op: Operation):
    return ctx.node("Reciprocal", ctx.node("Sqrt", _ins(ctx, op)))


@export_rule("zt.silu")
def _silu(ctx: ExportContext, op: Operation):
    x = ctx.name(op.operand(0))
    return ctx.node("Mul", [x, ctx.node("Sigmoid", [x])[0]])


@export_rule("zt.isinf")
def _isinf(ctx: ExportContext, op: Operation):
    return ctx.node("IsInf", _ins(ctx, op), detect_positive=int(op.attr("detect_positive")),
                    detect_negative=int(op.attr("detect_negative")))


@export_rule("zt.clip", opset=11)
def _clip(ctx: ExportContext, op: Operation):
    dt = op.operand(0).type.dtype.np_dtype
    lo, hi = op.attr("min"), op.attr("max")
    ins = _ins(ctx, op) + [ctx.const(lo, dt) if lo is not None else ""]
    if hi is not None:
        ins.append(ctx.const(hi, dt))
    return ctx.node("Clip", ins)


@export_rule("zt.mod", opset=10)
def _mod(ctx: ExportContext, op: Operation):
    a, b = _ins(ctx, op)
    if op.attr("fmod") or not op.operand(0).type.dtype.is_float:
        return ctx.node("Mod", [a, b], fmod=int(op.attr("fmod")))
    # Floored modulo of floats from the truncated one: r + b where r and b differ in sign.
    dt = op.operand(0).type.dtype.np_dtype
    zero = ctx.const(np.zeros((), dt), hint="zero")
    r = ctx.node("Mod", [a, b], fmod=1)[0]
    nonzero = ctx.node("Not", ctx.node("Equal", [r, zero]))[0]
    signs = ctx.node("Xor", [ctx.node("Less", [r, zero])[0], ctx.node("Less", [b, zero])[0]])[0]
    fix = ctx.node("And", [nonzero, signs])[0]
    return ctx.node("Where", [fix, ctx.node("Add", [r, b])[0], r])


@export_rule("zt.shl", "zt.shr", opset=11)
def _shift(ctx: ExportContext, op: Operation):
    return ctx.node("BitShift", _ins(ctx, op), direction="LEFT" if op.name == "zt.shl" else "RIGHT")


@export_rule("zt.where", opset=9)
def _where(ctx: ExportContext, op: Operation):
    return ctx.node("Where", _ins(ctx, op))


@export_rule("zt.cast")
def _cast(ctx: ExportContext, op: Operation):
    to = op.attr("to")
    sat = None if ctx.opset < 19 or not (to.is_float and to.itemsize == 1) \
        else int(op.attr("saturate"))
    return ctx.node("Cast", _ins(ctx, op), to=to_onnx_type(to), saturate=sat)


@export_rule("zt.gemm")
def _gemm(ctx: ExportContext, op: Operation):
    return ctx.node("Gemm", _ins(ctx, op), alpha=float(op.attr("alpha")),
                    beta=float(op.attr("beta")), transA=int(op.attr("trans_a")),
                    transB=int(op.attr("trans_b")))


@export_rule("zt.linear")
def _linear(ctx: ExportContext, op: Operation):
    ins = _ins(ctx, op)
    if op.operand(0).type.rank == 2:
        return ctx.node("Gemm", ins, transB=1)
    wt = ctx.node("Transpose", [ins[1]], perm=[1, 0])[0]
    y = ctx.node("MatMul", [ins[0], wt])
    return ctx.node("Add", [y[0], ins[2]]) if len(ins) == 3 else y


@export_rule("zt.reshape", opset=14)
def _reshape(ctx: ExportContext, op: Operation):
    allowzero = int(op.attr("allowzero")) or None
    return ctx.node("Reshape", [ctx.name(op.operand(0)), ctx.ints(op.attr("shape"), "shape")],
                    allowzero=allowzero)


@export_rule("zt.transpose")
def _transpose(ctx: ExportContext, op: Operation):
    perm = op.attr("perm")
    return ctx.node("Transpose", _ins(ctx, op), perm=list(perm) if perm is not None else None)


REDUCTIONS = {
    "zt.reduce_sum": "ReduceSum", "zt.reduce_mean": "ReduceMean", "zt.reduce_max": "ReduceMax",
    "zt.reduce_min": "ReduceMin", "zt.reduce_prod": "ReduceProd", "zt.reduce_l1": "ReduceL1",
    "zt.reduce_l2": "ReduceL2", "zt.reduce_log_sum": "ReduceLogSum",
    "zt.reduce_log_sum_exp": "ReduceLogSumExp", "zt.reduce_sum_square": "ReduceSumSquare",
}


def _reduce(onnx_op: str):
    def rule(ctx: ExportContext, op: Operation):
        axes = op.attr("axes")
        ins = _ins(ctx, op)
        noop = None
        if axes is not None:
            ins.append(ctx.ints(axes, "axes"))
            noop = 1 if not axes else None
        return ctx.node(onnx_op, ins, keepdims=int(op.attr("keepdims")), noop_with_empty_axes=noop)

    return rule


for _z, _o in REDUCTIONS.items():
    export_rule(_z, opset=18)(_reduce(_o))


@export_rule("zt.argmax", "zt.argmin", opset=12)
def _arg(ctx: ExportContext, op: Operation):
    return ctx.node("ArgMax" if op.name == "zt.argmax" else "ArgMin", _ins(ctx, op),
                    axis=op.attr("axis"), keepdims=int(op.attr("keepdims")),
                    select_last_index=int(op.attr("select_last_index")))


@export_rule("zt.cumsum", opset=14)
def _cumsum(ctx: ExportContext, op: Operation):
    return ctx.node("CumSum", _ins(ctx, op) + [ctx.const(np.int64(op.attr("axis")))],
                    exclusive=int(op.attr("exclusive")), reverse=int(op.attr("reverse")))


@export_rule("zt.topk", opset=11)
def _topk(ctx: ExportContext, op: Operation):
    return ctx.node("TopK", _ins(ctx, op) + [ctx.ints([op.attr("k")], "k")], outputs=2,
                    axis=op.attr("axis"), largest=int(op.attr("largest")),
                    sorted=int(op.attr("sorted")))


for _z, _o in {"zt.softmax": "Softmax", "zt.log_softmax": "LogSoftmax",
               "zt.hardmax": "Hardmax"}.items():
    export_rule(_z, opset=13)(lambda ctx, op, _o=_o: ctx.node(_o, _ins(ctx, op), axis=op.attr("axis")))


@export_rule("zt.batch_norm", opset=15)
def _batch_norm(ctx: ExportContext, op: Operation):
    return ctx.node("BatchNormalization", _ins(ctx, op), epsilon=float(op.attr("epsilon")))


@export_rule("zt.instance_norm")
def _instance_norm(ctx: ExportContext, op: Operation):
    return ctx.node("InstanceNormalization", _ins(ctx, op), epsilon=float(op.attr("epsilon")))


@export_rule("zt.group_norm", opset=21)
def _group_norm(ctx: ExportContext, op: Operation):
    return ctx.node("GroupNormalization", _ins(ctx, op), epsilon=float(op.attr("epsilon")),
                    num_groups=op.attr("num_groups"))


def _scale_or_one(ctx: ExportContext, op: Operation) -> list[str]:
    ins = _ins(ctx, op)
    if len(ins) == 1:
        x = op.operand(0).type
        axis = op.attr("axis") % x.rank
        shape = x.shape[axis:]
        if not all(isinstance(d, int) for d in shape):
            raise ZenithError("a norm without scale needs static normalized dims to export", op.loc)
        ins.append(ctx.const(np.ones(shape, dtype=x.dtype.np_dtype), hint="ones"))
    return ins


@export_rule("zt.layer_norm", opset=17)
def _layer_norm(ctx: ExportContext, op: Operation):
    return ctx.node("LayerNormalization", _scale_or_one(ctx, op), axis=op.attr("axis"),
                    epsilon=float(op.attr("epsilon")))


@export_rule("zt.rms_norm", opset=23)
def _rms_norm(ctx: ExportContext, op: Operation):
    return ctx.node("RMSNormalization", _scale_or_one(ctx, op), axis=op.attr("axis"),
                    epsilon=float(op.attr("epsilon")))


@export_rule("zt.lp_normalization")
def _lp(ctx: ExportContext, op: Operation):
    return ctx.node("LpNormalization", _ins(ctx, op), axis=op.attr("axis"), p=op.attr("p"))


@export_rule("zt.mean_variance_normalization", opset=13)
def _mvn(ctx: ExportContext, op: Operation):
    return ctx.node("MeanVarianceNormalization", _ins(ctx, op), axes=list(op.attr("axes")))


@export_rule("zt.lrn")
def _lrn(ctx: ExportContext, op: Operation):
    return ctx.node("LRN", _ins(ctx, op), size=op.attr("size"), alpha=float(op.attr("alpha")),
                    beta=float(op.attr("beta")), bias=float(op.attr("bias")))
