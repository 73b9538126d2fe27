"""Running IR with the ops' NumPy references: the CPU target's fallback path.

The reference interpreter (the oracle, a leaf module over ``ir`` and ``dialects``)
runs a kernel body op by op, without re-checking result types (the verifier did);
kernels without a fast path run their body with it and copy the results into
their output views.
"""

from __future__ import annotations

import numpy as np

from zenith.interpreter import Interpreter
from zenith.ir.core import Block, Operation, Value
from zenith.ir.diagnostics import ZenithError

_REFERENCE = Interpreter(check_types=False)


def eval_op(op: Operation, ins: list[np.ndarray], env: dict[Value, np.ndarray]) -> list[np.ndarray]:
    """Run one op's reference; ZenithError names the op if it fails."""
    return _REFERENCE.eval_op(op, ins, env)


def run_block(block: Block, args: list[np.ndarray], env: dict[Value, np.ndarray]
              ) -> list[np.ndarray]:
    """Run ``block`` on ``args``; return what its terminator yields."""
    return _REFERENCE.run_block(block, args, env)


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
