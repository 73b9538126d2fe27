"""Kind ``reduction``: one reduction-like anchor with a fused prologue and epilogue.

The anchor's input ``x`` is split into *rows* (the kept axes, ``M`` of them) and a
reduction range (the reduced axes, ``R`` elements). A *group* of ``G`` threads
owns one row and strides over its range; partial results combine with warp
shuffles (``G = 32``) and then through shared memory (``G`` = the block), see
``zk_group_reduce`` in the prelude. Strategies:

- ``row-warp`` (``G = 32``, 8 rows a block) when the last axis is reduced and
  ``16 < R <= 1024``; ``row-subwarp`` (``G`` = the power of two >= R, 256 / G
  rows a block) for shorter rows; ``row-block`` (``G = 512``, a row a block) for
  longer ones;
- ``column`` (``G = 1``: one thread a row, a serial loop) when the last axis is
  kept: neighbouring threads then read neighbouring addresses; ``column-split``
  when there are few such rows (< 4096) and R >= 32: a block holds 32
  neighbouring rows, 8 threads (32 apart) split each row's range, and their
  partials combine through shared memory (``zk_column_reduce``).

Every pass recomputes the prologue (elementwise ops on ``x``) from the inputs.
Accumulation is in f32 for f16/bf16/f32 (f64 for f64, 64-bit for integers);
softmax subtracts the row maximum (pass 1), sums ``exp`` (pass 2), writes (pass 3);
layer_norm computes the mean, then the variance of ``x - mean`` (two passes, no
cancellation), then writes; rms_norm one pass then writes. The epilogue
evaluates at each output element after the anchor's value is known.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from zenith.codegen.cuda.common import (
    PRELUDE,
    acc_type,
    body_parts,
    ctype,
    index_type,
    kernel_error,
    numel,
    signature,
    store,
)
from zenith.codegen.cuda.emit import Emitter, Idx, broadcast_index, shape_of
from zenith.codegen.cuda.kernel import CudaKernel, CudaOptions, register
from zenith.ir.core import Operation, Value

REDUCE_FNS = ("sum", "mean", "max", "min", "prod", "l1", "l2", "sum_square", "log_sum", "log_sum_exp")
AXIS_OPS = ("softmax", "log_softmax", "hardmax")
NORM_OPS = ("layer_norm", "rms_norm")
SPLIT = 8  # column-split: partial sums a row (threads 32 apart), combined through shared memory
CACHE_SLOTS = 32  # most row elements a thread keeps in registers between passes


@dataclass
class Spec:
    """What to reduce: ``x`` over ``axes``; ``op`` the semantics, ``same_shape`` if the
    anchor writes an element per input element (softmax, norms)."""

    x: Value
    axes: tuple[int, ...]
    op: str
    keepdims: bool = True
    same_shape: bool = False
    p: int = 2
    groups: int = 0  # group_norm: rows are (n, group), the range a group's channels x spatial


def spec_of(kop: Operation, anchor: Operation) -> Spec:
    x = anchor.operands[0]
    r = len(shape_of(x))
    short = anchor.name[3:]
    if short.startswith("reduce_") and short[7:] in REDUCE_FNS:
        axes = anchor.attr("axes")
        axes = tuple(range(r)) if axes is None else tuple(sorted(a % r for a in axes))
        return Spec(x, axes, short[7:], bool(anchor.attr("keepdims")))
    if short in ("argmax", "argmin"):
        return Spec(x, (anchor.attr("axis") % r,), short, bool(anchor.attr("keepdims")))
    if short in AXIS_OPS:
        return Spec(x, (anchor.attr("axis") % r,), short, same_shape=True)
    if short in NORM_OPS:
        return Spec(x, tuple(range(anchor.attr("axis") % r, r)), short, same_shape=True)
    if short == "instance_norm":
        return Spec(x, tuple(range(2, r)), short, same_shape=True)
    if short == "group_norm":
        return Spec(x, tuple(range(1, r)), short, same_shape=True, groups=int(anchor.attr("num_groups")))
    raise kernel_error(kop, anchor, f"the CUDA target has no reduction template for '{anchor.name}'")


def _strategy(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[str, int, int]:
    """(name, group size G, rows per block)."""
    red = numel([shape[a] for a in axes])
    if shape and (len(shape) - 1) not in axes and numel(shape) > red:
        if numel(shape) // max(red, 1) < 4096 and red >= 32:
            return "column-split", SPLIT, 32
        return "column", 1, 256
    if red <= 16:
        g = 1 << max(0, (red - 1).bit_length())
        return "row-subwarp", g, 256 // g
    if red <= 1024:
        return "row-warp", 32, 8
    return "row-block", 512, 1


class _Gen:
    def __init__(self, kop: Operation, anchor: Operation, spec: Spec) -> None:
        self.kop, self.anchor, self.spec = kop, anchor, spec
        self.shape = shape_of(spec.x)
        self.kept = tuple(a for a in range(len(self.shape)) if a not in spec.axes)
        self.m = numel([self.shape[a] for a in self.kept])
        self.red = numel([self.shape[a] for a in spec.axes])
        if spec.groups:
            self.m, self.red = self.m * spec.groups, self.red // spec.groups
        self.strategy, self.g, self.rpb = _strategy(self.shape, spec.axes)
        self.head, self.ins, self.outs = signature(kop, kop.attr("name"))
        self.em = Emitter(kop, self.ins, "idx_t", indent=1)
        self.smem: set[str] = set()
        self.xdt = spec.x.type.dtype
        self.acc = acc_type(self.xdt)
        multi_pass = spec.same_shape or spec.op == "log_sum_exp"
        per = -(-self.red // self.g)
        self.nper = per if multi_pass and self.g > 1 and 0 < per <= CACHE_SLOTS else 0
        self.cur: Idx | None = None

    # -- loops --------------------------------------------------------------------------------

    @contextmanager
    def row_loop(self) -> Iterator[None]:
        """The loop of a group's threads over the row; with the register cache, an unrolled loop
        over this thread's ``nper`` slots in which ``x`` is ``xc[q]``."""
        em = self.em
        if not self.nper:
            with em.block(f"for (idx_t r = lane; r < rend; r += {self.g})"):
                yield
            return
        em.emit("#pragma unroll")
        with em.block(f"for (int q = 0; q < {self.nper}; ++q)"):
            em.emit(f"const idx_t r = lane + q * {self.g};")
            with em.block("if (r < rend)"):
                yield

    def fill_cache(self) -> None:
        """Read ``x`` (prologue applied) once into registers: ``xc[q]`` is element lane + q G."""
        em, x = self.em, self.spec.x
        em.emit(f"{ctype(self.xdt)} xc[{self.nper}];")
        with self.row_loop():
            em.emit(f"xc[q] = {em.value(x, self.x_index('r'))};")
        em.bound[x] = lambda idx: "xc[q]" if idx == self.cur else None

    def x_index(self, r: str) -> Idx:
        if self.spec.groups:
            return self._group_index(r)
        red_idx = self.em.unravel(r, tuple(self.shape[a] for a in self.spec.axes), "r")
        full = ["0"] * len(self.shape)
        for a, i in zip(self.kept, self.row_idx):
            full[a] = i
        for a, i in zip(self.spec.axes, red_idx):
            full[a] = i
        self.cur = tuple(full)  # the index of this loop: where x is xc[q] with the register cache
        return self.cur

    def _group_index(self, r: str) -> Idx:
        """group_norm: row = (n, g); r runs over the group's channels, then the spatial dims."""
        em, shape = self.em, self.shape
        per_group = shape[1] // self.spec.groups
        spatial = numel(shape[2:])
        n, g = self.row_idx
        cg = em.ix(f"{r} / {spatial}") if spatial > 1 else r
        c = em.ix(f"{g} * {per_group} + {cg}") if per_group > 1 else g
        sp = em.unravel(em.ix(f"{r} % {spatial}") if spatial > 1 else "0", shape[2:], "s")
        self.cur = (n, c, *sp)
        return self.cur

    def reduce_pass(self, ty: str, opname: str, element) -> str:
        """One pass over the row: ``ty`` accumulator combined with ``opname``; ``element(xval, idx, r)``
        gives the term. Returns the name of the group-reduced result."""
        em = self.em
        a = em.fresh("a")
        em.emit(f"{ty} {a} = {opname}::id();")
        with self.row_loop():
            idx = self.x_index("r")
            term = element(em.value(self.spec.x, idx), idx, "r")
            em.emit(f"{a} = {opname}::op({a}, {term});")
        smem = f"zk_smem{len(self.smem)}"
        if self.strategy == "column-split":
            self.smem.add(f"__shared__ {ty} {smem}[{SPLIT}][32];")
            em.emit(f"{a} = zk_column_reduce<{opname}, {SPLIT}>({a}, {smem});")
            return a
        if self.g > 32:
            self.smem.add(f"__shared__ {ty} {smem}[32];")
        else:
            smem = f"({ty}*)0"
        em.emit(f"{a} = zk_group_reduce<{opname}, {self.g}>({a}, {smem});")
        return a

    def sum_pass(self, element) -> str:
        return self.reduce_pass(self.acc, f"zk_sum<{self.acc} >", element)

    def write(self, value_at) -> None:
        """Store every yield at each output element; ``value_at(idx, r)`` is the anchor's value."""
        em, res = self.em, self.anchor.results[0]
        out_shape = shape_of(res)
        body = list(self.kop.regions[0].blocks[0].ops[-1].operands)

        def emit_stores(idx: Idx, r: str) -> None:
            v = em.let(ctype(res.type.dtype), value_at(idx, r), "y")
            em.bound[res] = lambda want, idx=idx, v=v: self._bound(want, idx, v)
            for k, y in enumerate(body):
                if shape_of(y) != out_shape:
                    raise kernel_error(self.kop, self.anchor, f"yield #{k} has shape {shape_of(y)}, "
                                                              f"not the anchor's {out_shape}")
                val = em.value(y, idx)
                off = em.ix(em.ravel(idx, out_shape))
                em.emit(f"{self.outs[k]}[{off}] = {store(self.kop.results[k].type.dtype, val)};")

        if self.spec.same_shape:
            with self.row_loop():
                emit_stores(self.x_index("r"), "r")
            return
        with em.block("if (active && lane == 0)"):
            if self.spec.keepdims:
                idx = tuple("0" if a in self.spec.axes else None for a in range(len(self.shape)))
                it = iter(self.row_idx)
                idx = tuple(i if i is not None else next(it) for i in idx)
            else:
                idx = self.row_idx
            emit_stores(idx, "")

    def _bound(self, want: Idx, have: Idx, v: str) -> str:
        if want != have:
            raise kernel_error(self.kop, self.anchor, "the epilogue reads the anchor's result at another "
                                                      "index (broadcast or view); not fusable here")
        return v

    # -- whole kernel -------------------------------------------------------------------------

    def generate(self) -> CudaKernel:
        em = self.em
        em.indent = 1
        if self.strategy == "column-split":  # 32 neighbouring rows a block, SPLIT partials each
            em.emit("const int lane = threadIdx.x >> 5;")
            em.emit("const idx_t row = (idx_t)blockIdx.x * 32 + (threadIdx.x & 31);")
        elif self.g == 1:
            em.emit("const int lane = 0;")
            em.emit(f"const idx_t row = (idx_t)blockIdx.x * {self.rpb} + threadIdx.x;")
        else:
            em.emit(f"const int lane = threadIdx.x % {self.g};")
            em.emit(f"const idx_t row = (idx_t)blockIdx.x * {self.rpb} + threadIdx.x / {self.g};")
        em.emit(f"const bool active = row < {self.m};")
        em.emit(f"const idx_t rend = active ? {self.red} : 0;")
        kept_shape = tuple(self.shape[a] for a in self.kept)
        if self.spec.groups:
            kept_shape = (self.shape[0], self.spec.groups)
        self.row_idx = em.unravel("row", kept_shape, "m")
        if self.nper:
            self.fill_cache()
        self.body()
        idx_t = index_type(list(self.kop.operands) + list(self.kop.results))
        lines = [PRELUDE, f"{self.head} {{", f"  typedef {idx_t} idx_t;"]
        lines += ["  " + s for s in sorted(self.smem)] + em.lines + ["}"]
        block = self.rpb * self.g if self.g > 1 else self.rpb
        grid = max(1, -(-self.m // self.rpb))
        return CudaKernel(name=self.kop.attr("name"), entry=self.kop.attr("name"),
                          source="\n".join(lines) + "\n", grid=(grid, 1, 1), block=(block, 1, 1),
                          n_inputs=len(self.kop.operands), n_outputs=len(self.kop.results),
                          notes={"template": f"reduction/{self.spec.op}", "strategy": self.strategy,
                                 "rows": str(self.m), "reduce": str(self.red),
                                 "cached": str(self.nper)})

    def body(self) -> None:
        op, acc, em = self.spec.op, self.acc, self.em
        f = "f" if acc == "float" else ""
        lit = (lambda x: f"{x}f") if acc == "float" else str
        if op in ("softmax", "log_softmax"):
            mx = self.reduce_pass(acc, f"zk_max<{acc} >", lambda v, i, r: f"({acc})({v})")
            mx = em.let(acc, f"({mx} == -INFINITY || {mx} == INFINITY) ? {lit('0.0')} : {mx}", "mx")
            s = self.sum_pass(lambda v, i, r: f"exp{f}(({acc})({v}) - {mx})")
            if op == "softmax":
                inv = em.let(acc, f"{lit('1.0')} / {s}", "inv")
                self.write(lambda i, r: f"exp{f}(({acc})({em.value(self.spec.x, i)}) - {mx}) * {inv}")
            else:
                ls = em.let(acc, f"log{f}({s})", "ls")
                self.write(lambda i, r: f"({acc})({em.value(self.spec.x, i)}) - {mx} - {ls}")
        elif op == "hardmax":
            best = self._arg_pass(True, False)
            self.write(lambda i, r: f"({r} == {best}.i) ? {lit('1.0')} : {lit('0.0')}")
        elif op in ("argmax", "argmin"):
            last = bool(self.anchor.attr("select_last_index"))
            best = self._arg_pass(op == "argmax", last)
            self.write(lambda i, r: f"{best}.i")
        elif op in (*NORM_OPS, "instance_norm", "group_norm"):
            self._norm(op, acc, f, lit)
        else:
            self._reduce(op, acc, f, lit)

    def _arg_pass(self, is_max: bool, last: bool) -> str:
        ty = f"zk_arg<{self.acc} >"
        opname = f"zk_argop<{self.acc}, {str(is_max).lower()}, {str(last).lower()}>"
        return self.reduce_pass(ty, opname, lambda v, i, r: f"zk_arg<{self.acc} >{{({self.acc})({v}), "
                                                            f"(long long)({r})}}")

    def _norm(self, op: str, acc: str, f: str, lit) -> None:
        em, x, red = self.em, self.spec.x, self.red
        eps = repr(float(self.anchor.attr("epsilon"))) + ("f" if acc == "float" else "")
        if op != "rms_norm":
            s = self.sum_pass(lambda v, i, r: f"({acc})({v})")
            mean = em.let(acc, f"{s} / ({acc}){red}", "mean")
            q = self.sum_pass(lambda v, i, r: f"(({acc})({v}) - {mean}) * (({acc})({v}) - {mean})")
            rstd = em.let(acc, f"{lit('1.0')} / sqrt{f}({q} / ({acc}){red} + {eps})", "rstd")
        else:
            q = self.sum_pass(lambda v, i, r: f"({acc})({v}) * ({acc})({v})")
            mean = None
            rstd = em.let(acc, f"{lit('1.0')} / sqrt{f}({q} / ({acc}){red} + {eps})", "rstd")
        affine = list(self.anchor.operands[1:])

        def value(i: Idx, r: str) -> str:
            xv = f"({acc})({em.value(x, i)})"
            y = f"(({xv} - {mean}) * {rstd})" if mean else f"({xv} * {rstd})"
            per_channel = op in ("instance_norm", "group_norm")
            where = [(i[1],) if per_channel else broadcast_index(i, shape_of(a), self.shape) for a in affine]
            at = [f"({acc})({em.value(a, w)})" for a, w in zip(affine, where)]
            if at:
                y = f"({y} * {at[0]})"
            if len(at) > 1:
                y = f"({y} + {at[1]})"
            return y

        self.write(value)

    def _reduce(self, op: str, acc: str, f: str, lit) -> None:
        em, red = self.em, self.red
        is_float = acc in ("float", "double")
        if op == "log_sum_exp":
            mx = self.reduce_pass(acc, f"zk_max<{acc} >", lambda v, i, r: f"({acc})({v})")
            mx = em.let(acc, f"({mx} == -INFINITY || {mx} == INFINITY) ? {lit('0.0')} : {mx}", "mx")
            s = self.sum_pass(lambda v, i, r: f"exp{f}(({acc})({v}) - {mx})")
            self.write(lambda i, r: f"log{f}({s}) + {mx}")
            return
        if op in ("max", "min"):
            a = self.reduce_pass(acc, f"zk_{op}<{acc} >", lambda v, i, r: f"({acc})({v})")
        elif op == "prod":
            a = self.reduce_pass(acc, f"zk_prod<{acc} >", lambda v, i, r: f"({acc})({v})")
        elif op == "l1":
            a = self.sum_pass(lambda v, i, r: (f"fabs{f}(({acc})({v}))" if is_float
                                               else f"(({acc})({v}) < 0 ? -({acc})({v}) : ({acc})({v}))"))
        elif op in ("l2", "sum_square"):
            a = self.sum_pass(lambda v, i, r: f"({acc})({v}) * ({acc})({v})")
        else:
            a = self.sum_pass(lambda v, i, r: f"({acc})({v})")
        if op == "mean":
            a = em.let(acc, f"{a} / ({acc}){max(red, 1) if not is_float else red}", "mean")
        elif op == "l2":
            a = em.let(acc, f"sqrt{f}({a})", "l2")
        elif op == "log_sum":
            a = em.let(acc, f"log{f}({a})", "ls")
        self.write(lambda i, r: a)


def reduction_kernel(kop: Operation, anchor: Operation, spec: Spec) -> CudaKernel:
    """The kernel of ``kop`` whose anchor reduces as ``spec`` says (used by pool's global forms)."""
    return _Gen(kop, anchor, spec).generate()


def find_anchor(kop: Operation, names) -> Operation:
    ops, _ = body_parts(kop)
    found = [o for o in ops if o.name in names]
    if len(found) != 1:
        body = ", ".join(o.name for o in ops)
        raise kernel_error(kop, None, f"expected one anchor op in a '{kop.attr('kind')}' kernel, found "
                                      f"{len(found)} ({body})")
    return found[0]


ANCHOR_NAMES = {f"zt.reduce_{n}" for n in REDUCE_FNS} | {
    f"zt.{n}" for n in ("argmax", "argmin", *AXIS_OPS, *NORM_OPS, "instance_norm", "group_norm", "lrn")}


@register("reduction")
def generate_reduction(kop: Operation, options: CudaOptions) -> CudaKernel:
    ops, _ = body_parts(kop)
    known = [o for o in ops if o.name in ANCHOR_NAMES]
    if not known:
        anchors = [o for o in ops if o.has_trait("anchor") or o.has_trait("reduction")]
        raise kernel_error(kop, anchors[0] if anchors else None,
                           "the CUDA target has no reduction template for "
                           f"'{anchors[0].name if anchors else '?'}'")
    anchor = find_anchor(kop, ANCHOR_NAMES)
    if anchor.name == "zt.lrn":
        from zenith.codegen.cuda.pool import lrn_kernel  # pool imports this module

        return lrn_kernel(kop, anchor)
    return reduction_kernel(kop, anchor, spec_of(kop, anchor))
