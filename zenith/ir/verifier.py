"""The verifier: structural SSA rules plus each op's own rules.

It checks that every operand is defined before its use and visible from it,
that blocks end in terminators, that functions return what their type says, and
for every registered op: operand and result counts, attributes (required,
known, of the right kind), result types against the op's type rule, and the
op's extra verifier. Errors point at the op's location.
"""

from __future__ import annotations

from zenith.ir.attributes import attr_kind
from zenith.ir.core import Block, Operation, Value
from zenith.ir.diagnostics import VerifyError
from zenith.ir.module import Function, Module
from zenith.ir.opdef import ATTR_CHECKS, TERMINATOR, InferError, OpDef, infer_result_types
from zenith.ir.types import types_compatible


def verify(module: Module | Function, allow_unregistered: bool = False) -> None:
    """Raise VerifyError for the first problem found (others follow as notes)."""
    errors = collect_errors(module, allow_unregistered)
    if errors:
        first = errors[0]
        if len(errors) > 1:
            first.notes.append(f"{len(errors) - 1} more error(s) after this one")
        raise first


def collect_errors(module: Module | Function, allow_unregistered: bool = False) -> list[VerifyError]:
    """Every verification error in the module, in order."""
    v = _Verifier(allow_unregistered)
    fns = module.functions if isinstance(module, Module) else [module]
    names: set[str] = set()
    for fn in fns:
        if fn.sym_name in names:
            v.fail(fn, f"redefinition of function '@{fn.sym_name}'")
        names.add(fn.sym_name)
        v.function(fn)
    return v.errors


class _Verifier:
    def __init__(self, allow_unregistered: bool) -> None:
        self.allow_unregistered = allow_unregistered
        self.errors: list[VerifyError] = []
        self.visible: set[Value] = set()

    def fail(self, op: Operation, message: str) -> None:
        self.errors.append(VerifyError(f"'{op.name}' op {message}", op.loc))

    def function(self, fn: Function) -> None:
        if len(fn.regions) != 1 or len(fn.regions[0].blocks) != 1:
            self.fail(fn, "must have one region with one block")
            return
        body = fn.body
        ftype = fn.function_type
        arg_types = tuple(a.type for a in fn.args)
        if arg_types != ftype.inputs:
            self.fail(fn, f"block arguments {_types(arg_types)} do not match the function "
                      f"type's inputs {_types(ftype.inputs)}")
        ret = body.last
        if ret is None or ret.name != "func.return":
            self.fail(fn, f"body of '@{fn.sym_name}' must end with 'func.return'")
        else:
            got = tuple(v.type for v in ret.operands)
            if got != ftype.results:
                self.fail(ret, f"returns {_types(got)} but '@{fn.sym_name}' is declared to return "
                          f"{_types(ftype.results)}")
        self.visible = set()
        self.block(body)

    def block(self, block: Block) -> None:
        added: list[Value] = list(block.args)
        self.visible.update(block.args)
        for op in block:
            if op.parent is not block:
                self.fail(op, "has a corrupt parent link")
            for i, v in enumerate(op.operands):
                if v not in self.visible:
                    self.fail(op, f"operand #{i} is not defined before this use "
                              "(SSA dominance violated)")
            if op.has_trait(TERMINATOR) and op is not block.last:
                self.fail(op, "is a terminator and must be the last op of its block")
            for region in op.regions:
                for b in region.blocks:
                    self.block(b)
                    last = b.last
                    unknown_ok = last is not None and last.opdef is None and self.allow_unregistered
                    if not unknown_ok and (last is None or not last.has_trait(TERMINATOR)):
                        self.fail(op, "region block must end with a terminator")
            self.op(op)
            self.visible.update(op.results)
            added.extend(op.results)
        self.visible.difference_update(added)

    def op(self, op: Operation) -> None:
        od = op.opdef
        if od is None:
            if not self.allow_unregistered:
                self.fail(op, "is not registered")
            return
        n = op.num_operands
        lo, hi = od.min_operands, od.max_operands
        if n < lo or (hi is not None and n > hi):
            want = str(lo) if lo == hi else (f"at least {lo}" if hi is None else f"{lo} to {hi}")
            self.fail(op, f"expects {want} operand(s), got {n}")
            return
        if od.results is not None and len(op.results) != od.results:
            self.fail(op, f"expects {od.results} result(s), got {len(op.results)}")
            return
        if len(op.regions) != od.regions:
            self.fail(op, f"expects {od.regions} region(s), got {len(op.regions)}")
            return
        if not self.attributes(op, od):
            return
        if od.infer is not None:
            try:
                inferred = infer_result_types(od, op.operands, op.attributes)
            except InferError as e:
                self.fail(op, str(e))
                return
            if len(inferred) != len(op.results):
                self.fail(op, f"type rule gives {len(inferred)} result(s), op has {len(op.results)}")
                return
            for i, (r, t) in enumerate(zip(op.results, inferred)):
                if not types_compatible(r.type, t):
                    self.fail(op, f"result #{i} has type {r.type} but the operands imply {t}")
        if od.verify is not None:
            msg = od.verify(op)
            if msg:
                self.fail(op, msg)

    def attributes(self, op: Operation, od: OpDef) -> bool:
        ok = True
        for key, spec in od.attrs.items():
            if key not in op.attributes:
                if spec.required:
                    self.fail(op, f"requires attribute '{key}'")
                    ok = False
                continue
            val = op.attributes[key]
            if val is None and not spec.required and spec.default is None:
                continue
            if not ATTR_CHECKS[spec.kind](val):
                self.fail(op, f"attribute '{key}' must be {spec.kind}, got {attr_kind(val)}")
                ok = False
        for key in op.attributes:
            if key not in od.attrs:
                known = ", ".join(od.attrs) or "none"
                self.fail(op, f"has unknown attribute '{key}' (known: {known})")
                ok = False
        return ok


def _types(ts) -> str:
    return "(" + ", ".join(str(t) for t in ts) + ")"
