"""The partition sanity check run after ``fuse`` (docs/architecture.md, "The kernel dialect").

- every function-level op is a constant, a view, a ``zk.fused`` or ``func.return``;
- kernel bodies are isolated: they read only their block arguments and their own values;
- every kernel's kind agrees with its body: ``elementwise`` holds only elementwise,
  injective and view ops; an anchor kind holds exactly one anchor of that kind plus
  elementwise ops; ``opaque`` holds one op with no fusion story; never two anchors;
- kernels form a DAG: each kernel's operands are defined before it;
- kernel names are unique in the function.
"""

from __future__ import annotations

from zenith.ir.core import Operation, Value
from zenith.ir.diagnostics import ZenithError
from zenith.ir.module import Function
from zenith.passes.fuse.classify import ANCHOR_KIND_NAMES, FUSED, YIELD, op_class

OUTSIDE_OK = frozenset({"constant", "view", "terminator", "kernel"})
FREE = frozenset({"constant", "view"})  # allowed in any kernel body


class PartitionError(ZenithError):
    """The fused function breaks an invariant of the partition."""


def _isolation_error(kernel: Operation) -> str | None:
    defined: set[Value] = set()

    def visit(block) -> str | None:
        defined.update(block.args)
        for op in block:
            for i, v in enumerate(op.operands):
                if v not in defined:
                    return f"'{op.name}' in its body reads operand #{i} from outside the kernel"
            for region in op.regions:
                for b in region.blocks:
                    err = visit(b)
                    if err:
                        return err
            defined.update(op.results)
        return None

    return visit(kernel.regions[0].blocks[0])


def kernel_errors(kernel: Operation) -> list[str]:
    """What is wrong with one kernel's body for its kind (empty when nothing)."""
    kind = kernel.attr("kind")
    body = [op for op in kernel.regions[0].blocks[0] if op.name != YIELD]
    classes = [op_class(op) for op in body]
    anchors = [op for op, c in zip(body, classes) if c in ANCHOR_KIND_NAMES]
    errors = []
    if len(anchors) > 1:
        errors.append(f"has {len(anchors)} anchors ({', '.join(op.name for op in anchors)})")
    err = _isolation_error(kernel)
    if err:
        errors.append(err)
    compute = [(op, c) for op, c in zip(body, classes) if c not in FREE]
    if kind == "elementwise":
        bad = [op.name for op, c in compute if c not in ("elementwise", "injective")]
        if bad:
            errors.append(f"is elementwise but holds {', '.join(sorted(set(bad)))}")
    elif kind in ANCHOR_KIND_NAMES:
        if len(anchors) != 1 or op_class(anchors[0]) != kind:
            errors.append(f"is a '{kind}' kernel without exactly one {kind} anchor")
        bad = [op.name for op, c in compute if c not in ANCHOR_KIND_NAMES and c != "elementwise"]
        if bad:
            errors.append(f"has non-elementwise prologue/epilogue ops {', '.join(sorted(set(bad)))}")
    elif kind == "opaque":
        if len(compute) != 1:
            errors.append(f"is opaque but holds {len(compute)} ops")
        elif compute[0][1] != "opaque":
            errors.append(f"is opaque but '{compute[0][0].name}' has a fusion story "
                          f"({compute[0][1]})")
    return errors


def partition_errors(fn: Function) -> list[tuple[str, Operation]]:
    """Every broken invariant of ``fn``'s partition, with the op at fault."""
    out: list[tuple[str, Operation]] = []
    seen: set[Value] = set(fn.args)
    names: dict[str, Operation] = {}
    for op in fn.body:
        cls = op_class(op)
        if cls not in OUTSIDE_OK:
            out.append((f"'{op.name}' is outside every kernel", op))
        for i, v in enumerate(op.operands):
            if v not in seen:
                out.append((f"'{op.name}' reads operand #{i} before it is computed "
                            "(kernels must form a DAG in function order)", op))
        if op.name == FUSED:
            name = op.attr("name")
            label = f"kernel '{name}'"
            if name in names:
                out.append((f"{label}: name used twice in @{fn.sym_name}", op))
            names[name] = op
            out.extend((f"{label} {e}", op) for e in kernel_errors(op))
        seen.update(op.results)
    return out


def check_partition(fn: Function) -> None:
    """Raise :class:`PartitionError` naming the first broken invariant (others as notes)."""
    errors = partition_errors(fn)
    if errors:
        (msg, op), rest = errors[0], errors[1:]
        notes = [m for m, _ in rest[:10]]
        if len(rest) > 10:
            notes.append(f"{len(rest) - 10} more")
        raise PartitionError(f"partition sanity check failed in @{fn.sym_name}: {msg}", op.loc, notes)
