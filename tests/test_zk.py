"""The zk kernel dialect: structure checks, interpretation, text round trip."""

from __future__ import annotations

import numpy as np
import pytest

import zenith
from zenith.ir import VerifyError, parse_module, print_module, verify

T = "tensor<4xf32>"
KERNEL = f"""func.func @main(%x: {T}, %b: {T}) -> ({T}, {T}) {{
  %r, %s = "zk.fused"(%x, %b) ({{
  ^bb0(%a: {T}, %c: {T}):
    %t = "zt.add"(%a, %c) : ({T}, {T}) -> {T}
    %u = "zt.relu"(%t) : ({T}) -> {T}
    "zk.yield"(%u, %t) : ({T}, {T}) -> ()
  }}) {{kind = "elementwise", name = "k0_add_relu"}} : ({T}, {T}) -> ({T}, {T})
  "func.return"(%r, %s) : ({T}, {T}) -> ()
}}
"""


def test_fused_kernel_verifies_interprets_and_round_trips():
    m = parse_module(KERNEL, "k.zir")
    verify(m)
    assert print_module(parse_module(print_module(m))) == print_module(m)
    x = np.array([-2, -1, 1, 2], np.float32)
    b = np.array([1, 0.5, 0.5, -3], np.float32)
    r, s = zenith.interpret(m, [x, b])
    np.testing.assert_array_equal(s, x + b)
    np.testing.assert_array_equal(r, np.maximum(x + b, 0))


@pytest.mark.parametrize("edit,message", [
    (('kind = "elementwise"', 'kind = "magic"'), "kind 'magic' is not one of"),
    ((f'"zk.yield"(%u, %t) : ({T}, {T})', f'"zk.yield"(%u) : ({T})'), "yields .* but the kernel's results"),
    ((f'"zk.yield"(%u, %t) : ({T}, {T}) -> ()', f'%w = "zt.relu"(%t) : ({T}) -> {T}'),
     "region block must end with a terminator"),
    (('name = "k0_add_relu"', 'name = "k0_add_relu", offsets = [0]'), "has 1 offsets for 2 results"),
])
def test_fused_kernel_structure_errors(edit, message):
    m = parse_module(KERNEL.replace(*edit), "k.zir")
    with pytest.raises(VerifyError, match=message):
        verify(m)
