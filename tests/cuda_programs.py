"""Random elementwise/injective programs for the CUDA host-emulation tests.

Each program starts from one or two arguments of a random shape (rank 1-4, odd
dims, dims of 1) and adds steps that read earlier values: unary and binary
arithmetic (binary operands broadcast: a lower rank, dims of 1), compare + where,
transpose (random permutation), slice (negative bounds and steps), pad (all
modes, negative pads), concat, split, gather (negative indices, any axis,
indices of rank 0-2), gather_elements, expand, tile, trilu, reshape and casts
through f16/bf16/i32. ``fuse`` then makes elementwise kernels of them.
"""

from __future__ import annotations

import numpy as np

from zenith.ir import Builder, DenseAttr, Function, Module, TensorType, Value, dtype

UNARY = ["neg", "abs", "tanh", "sigmoid", "relu", "sin"]
BINARY = ["add", "mul", "sub", "max", "min"]
STEPS = ["unary", "binary", "binary", "where", "transpose", "slice", "pad", "concat", "split",
         "gather", "gather_elements", "expand", "tile", "trilu", "reshape", "cast", "scalar"]


class RandomProgram:
    """A module built step by step from a seed (see the module doc)."""

    def __init__(self, seed: int, dt: str = "f32", steps: int = 6) -> None:
        self.rng = np.random.default_rng(seed)
        self.dt = dtype(dt)
        self.m = Module()
        self.fn = self.m.add_function(Function("main", [], []))
        self.b = Builder.at_end(self.fn.body)
        self.values: list[Value] = []
        rank = int(self.rng.integers(1, 5))
        shape = tuple(int(self.rng.choice([1, 2, 3, 5, 7])) for _ in range(rank))
        for _ in range(int(self.rng.integers(1, 3))):
            self.values.append(self.fn.body.add_arg(TensorType(self.dt, shape)))
        for _ in range(steps):
            v = self.step(str(self.rng.choice(STEPS)))
            if v is not None:
                self.values.append(v)
        outs = [v for v in self.values[len(self.fn.args):] if not v.has_uses] or self.values[-1:]
        self.b.create("func.return", outs)
        self.fn.sync_signature()

    def inputs(self) -> list[np.ndarray]:
        return [self.rng.standard_normal(tuple(a.type.shape)).astype(self.dt.np_dtype) for a in self.fn.args]

    # -- steps --------------------------------------------------------------------------------

    def op(self, name: str, *xs: Value, **attrs) -> Value:
        return self.b.op(f"zt.{name}", *xs, **attrs)

    def const(self, arr) -> Value:
        return self.b.op("zt.constant", value=DenseAttr(np.asarray(arr)))

    def pick(self) -> Value:
        float_vals = [v for v in self.values if v.type.dtype == self.dt]
        return float_vals[int(self.rng.integers(len(float_vals)))]

    def broadcastable(self, shape: tuple[int, ...]) -> Value:
        """A constant or argument-derived value broadcasting to ``shape``."""
        keep = int(self.rng.integers(0, len(shape) + 1))
        sub = tuple(1 if self.rng.random() < 0.4 else d for d in shape[len(shape) - keep:])
        return self.const(self.rng.standard_normal(sub).astype(self.dt.np_dtype))

    def step(self, kind: str) -> Value | None:
        x = self.pick()
        shape = tuple(int(d) for d in x.type.shape)
        r, rng = len(shape), self.rng
        if kind == "unary":
            return self.op(str(rng.choice(UNARY)), x)
        if kind == "binary":
            y = self.broadcastable(shape)
            a, b = (x, y) if rng.random() < 0.5 else (y, x)
            return self.op(str(rng.choice(BINARY)), a, b)
        if kind == "scalar":
            return self.op("mul", x, self.const(np.asarray(1.5, self.dt.np_dtype)))
        if kind == "where":
            c = self.op("gt", x, self.broadcastable(shape))
            return self.op("where", c, x, self.op("neg", x))
        if kind == "transpose" and r >= 2:
            return self.op("transpose", x, perm=tuple(int(p) for p in rng.permutation(r)))
        if kind == "slice":
            a = int(rng.integers(r))
            n = shape[a]
            step = int(rng.choice([1, 1, 2, -1, -2]))
            start = int(rng.integers(-n, n)) if n > 1 else 0
            end = int(rng.integers(-n - 1, n + 2))
            v = self.op("slice", x, starts=(start,), ends=(end,), axes=(a,), steps=(step,))
            return v if all(int(d) > 0 for d in v.type.shape) else None
        if kind == "pad":
            mode = str(rng.choice(["constant", "constant", "reflect", "edge", "wrap"]))
            a = int(rng.integers(r))
            lo = -1 if shape[a] > 2 and mode == "constant" else 0
            before, after = int(rng.integers(lo, 3)), int(rng.integers(lo, 3))
            if mode == "reflect":
                before, after = min(before, shape[a] - 1), min(after, shape[a] - 1)
            return self.op("pad", x, pads=(before, after), axes=(a,), mode=mode, value=0.25)
        if kind == "concat":
            a = int(rng.integers(r))
            other = list(shape)
            other[a] = int(rng.integers(1, 4))
            y = self.op("exp", self.const(rng.standard_normal(other).astype(self.dt.np_dtype)))
            return self.op("concat", *((x, y) if rng.random() < 0.5 else (y, x, x)), axis=a)
        if kind == "split" and shape[-1] >= 2:
            n = shape[-1]
            cut = int(rng.integers(1, n))
            parts = self.b.create("zt.split", [x], {"axis": -1, "sizes": (cut, n - cut)}).results
            return parts[int(rng.integers(2))]
        if kind == "gather":
            a = int(rng.integers(r))
            ishape = tuple(int(d) for d in rng.integers(1, 4, int(rng.integers(0, 3))))
            ind = rng.integers(-shape[a], shape[a], ishape).astype(np.int64)
            if rng.random() < 0.5:  # indices computed at run time
                return self.op("gather", x, self.op("neg", self.const(-ind)), axis=a)
            return self.op("gather", x, self.const(ind), axis=a)
        if kind == "gather_elements":
            a = int(rng.integers(r))
            ind = rng.integers(-shape[a], shape[a], shape).astype(np.int64)
            return self.op("gather_elements", x, self.const(ind), axis=a)
        if kind == "expand":
            return self.op("expand", x, shape=(2,) + shape)
        if kind == "tile":
            return self.op("tile", x, repeats=tuple(int(rng.integers(1, 3)) for _ in shape))
        if kind == "trilu" and r >= 2:
            return self.op("trilu", x, upper=bool(rng.random() < 0.5), k=int(rng.integers(-1, 2)))
        if kind == "reshape":
            return self.op("add", self.op("reshape", x, shape=(-1,) if r > 1 else (1, shape[0], 1)),
                           self.const(np.asarray(0.5, self.dt.np_dtype)))
        if kind == "cast":
            mid = str(rng.choice(["f16", "bf16", "i32", "f64"]))
            return self.op("cast", self.op("cast", x, to=dtype(mid)), to=self.dt)
        return None
