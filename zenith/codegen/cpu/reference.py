"""Running IR with the ops' NumPy references: the CPU target's fallback path.

A small evaluator (the same contract as the interpreter's ``RefContext``, kept
here so that codegen depends only on ``ir`` and ``dialects``): it runs a block
op by op with each op's reference. Kernels without a fast path run their body
with it and copy the results into their output views.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from zenith.ir.core import Block, Operation, Value
from zenith.ir.diagnostics import ZenithError


class _Ctx:
    """What a reference implementation sees besides its inputs."""

    __slots__ = ("env", "op")

    def __init__(self, op: Operation, env: dict[Value, np.ndarray]) -> None:
        self.op = op
        self.env = env

    def attr(self, key: str) -> Any:
        return self.op.attr(key)

    def attr_values(self) -> dict[str, Any]:
        od = self.op.opdef
        out = {k: spec.default for k, spec in od.attrs.items() if not spec.required} if od else {}
        out.update(self.op.attributes)
        return out

    @property
    def result_types(self) -> list:
        return [r.type for r in self.op.results]

    def run_region(self, index: int, *args: np.ndarray) -> list[np.ndarray]:
        return run_block(self.op.regions[index].blocks[0], list(args), dict(self.env))


def eval_op(op: Operation, ins: list[np.ndarray], env: dict[Value, np.ndarray]) -> list[np.ndarray]:
    """Run one op's reference; ZenithError names the op if it fails."""
    od = op.opdef
    if od is None or od.reference is None:
        raise ZenithError(f"'{op.name}' has no reference semantics", op.loc)
    try:
        out = od.reference(_Ctx(op, env), *ins)
    except ZenithError:
        raise
    except Exception as e:  # a reference failing on valid input: name the op
        raise ZenithError(f"'{op.name}' failed in its reference: {type(e).__name__}: {e}",
                          op.loc) from e
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    return [np.asarray(o) for o in outs]


def run_block(block: Block, args: list[np.ndarray], env: dict[Value, np.ndarray]
              ) -> list[np.ndarray]:
    """Run ``block`` on ``args``; return what its terminator yields."""
    for a, v in zip(block.args, args):
        env[a] = v
    for op in block:
        ins = [env[v] for v in op.operands]
        if op.has_trait("terminator"):
            return ins
        for r, val in zip(op.results, eval_op(op, ins, env)):
            env[r] = val
    raise ZenithError("block has no terminator", block.last.loc if block.last else None)


def store(kernel: str, results: list[np.ndarray], outs: list[np.ndarray]) -> None:
    """Copy ``results`` into the output views ``outs`` (shapes and dtypes must agree)."""
    for i, (r, o) in enumerate(zip(results, outs)):
        if r.shape != o.shape or r.dtype != o.dtype:
            raise ZenithError(f"kernel '{kernel}': result #{i} is {r.dtype}{list(r.shape)}, its "
                              f"buffer is {o.dtype}{list(o.shape)}")
        np.copyto(o, r)


def reference_kernel(op: Operation):
    """A kernel that runs ``op``'s body with the references and copies into its outputs."""
    body = op.regions[0].blocks[0]
    name = op.attr("name")

    def run(ins: list[np.ndarray], outs: list[np.ndarray]) -> None:
        store(name, run_block(body, list(ins), {}), outs)

    return run
