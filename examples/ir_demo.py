"""Parse, verify and interpret a `.zir` program, then print it back.

    .venv/bin/python examples/ir_demo.py [examples/mlp.zir]
"""

from __future__ import annotations

import sys
import time

import numpy as np

import zenith
from zenith.ir import ZenithError, parse_module, print_module, verify


def main(path: str = "examples/mlp.zir") -> int:
    try:
        with open(path) as f:
            module = parse_module(f.read(), path)
        verify(module)
    except ZenithError as e:
        print(e, file=sys.stderr)
        return 1
    fn = module.main
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal([d if isinstance(d, int) else 4 for d in a.type.shape])
              .astype(a.type.dtype.np_dtype) for a in fn.args]
    t0 = time.perf_counter()
    outputs = zenith.interpret(module, inputs)
    dt = time.perf_counter() - t0
    print(print_module(module), end="")
    for i, out in enumerate(outputs):
        print(f"output #{i}: shape {out.shape} dtype {out.dtype} mean {out.mean():.6f}")
    print(f"interpreted {len(list(module.ops()))} ops in {dt * 1e3:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
