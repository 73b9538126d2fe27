"""Malformed IR text and invalid modules: each gives one exact diagnostic.

Every case asserts the whole first line, ``file:line:col: error: message``; parse
errors also show the source line with a caret under the column.
"""

from __future__ import annotations

import pytest

import zenith  # noqa: F401
from zenith.ir import ParseError, VerifyError, ZenithError, parse_module, verify

T = "tensor<2x3xf32>"
HEAD = f"func.func @main(%x: {T}) -> ({T}) {{\n"
RET = f'  "func.return"(%y) : ({T}) -> ()\n}}\n'


def body(*lines: str, head: str = HEAD, ret: str = RET) -> str:
    return head + "".join(line + "\n" for line in lines) + ret


def relu(operand: str = "%x", types: str = f"({T}) -> {T}", attrs: str = "") -> str:
    return f'  %y = "zt.relu"({operand}){attrs} : {types}'


def sig(ret_type: str) -> str:
    return f"func.func @main(%x: {T}) -> ({ret_type}) {{\n"


def ret(t: str) -> str:
    return f'  "func.return"(%y) : ({t}) -> ()\n}}\n'


PARSE_CASES = [
    ("unknown op", body(f'  %y = "zt.frobnicate"(%x) : ({T}) -> {T}'),
     "2:8: error: unknown operation 'zt.frobnicate'"),
    ("undefined value", body(relu("%z")), "2:18: error: use of undefined value '%z'"),
    ("redefinition", body(relu(), relu()), "3:3: error: redefinition of value '%y'"),
    ("operand type mismatch", body(relu(types=f"(tensor<2x4xf32>) -> {T}")),
     "2:18: error: operand #0 of 'zt.relu' is %x of type tensor<2x3xf32>, "
     "but the op's type says tensor<2x4xf32>"),
    ("operand count vs type list", body(relu(types=f"({T}, {T}) -> {T}")),
     "2:22: error: 'zt.relu' has 1 operand(s) but its type lists 2"),
    ("result count vs type list", body(relu(types=f"({T}) -> ({T}, {T})")),
     "2:3: error: 'zt.relu' defines 1 result(s) but its type lists 2"),
    ("unknown dtype", body(relu(types=f"(tensor<2x3xf33>) -> {T}")),
     "2:36: error: unknown element type 'f33'"),
    ("missing x in shape", body(relu(types=f"(tensor<2 3xf32>) -> {T}")),
     "2:33: error: expected 'x' after a dimension"),
    ("missing element type", body(relu(types=f"(tensor<2x3x>) -> {T}")),
     "2:36: error: expected an element type in tensor type"),
    ("unterminated string", body(f'  %y = "zt.relu(%x) : ({T}) -> {T}'),
     "2:8: error: unterminated string literal"),
    ("unexpected character", body(f'  %y = "zt.relu"(%x) ; ({T}) -> {T}'),
     "2:22: error: unexpected character ';'"),
    ("bare op name", body(f"  %y = zt.relu(%x) : ({T}) -> {T}"),
     "2:8: error: expected an operation name in quotes, found 'zt.relu'"),
    ("op name without dialect", body(f'  %y = "relu"(%x) : ({T}) -> {T}'),
     "2:8: error: operation name 'relu' must be 'dialect.op'"),
    ("missing colon", body(f'  %y = "zt.relu"(%x) ({T}) -> {T}'),
     "2:22: error: expected ':' before the operation's type, found '('"),
    ("missing arrow", body(f'  %y = "zt.relu"(%x) : ({T}) {T}'),
     "2:42: error: expected '->' in the operation's type, found 'tensor<2x3xf32>'"),
    ("missing close paren", body(f'  %y = "zt.relu"(%x : ({T}) -> {T}'),
     "2:21: error: expected ',' or ')' in the operand list, found ':'"),
    ("bad attribute value", body(relu(attrs=" {alpha = @foo}")),
     "2:31: error: expected an attribute value, found '@foo'"),
    ("duplicate attribute",
     body(f'  %y = "zt.leaky_relu"(%x) {{alpha = 0.1, alpha = 0.2}} : ({T}) -> {T}'),
     "2:42: error: duplicate attribute 'alpha'"),
    ("dense count mismatch",
     body('  %c = "zt.constant"() {value = dense<[1.0, 2.0]> : tensor<3xf32>} : () -> tensor<3xf32>',
          relu()),
     "2:39: error: dense literal has 2 elements but tensor<3xf32> has 3"),
    ("dense ints for bool",
     body('  %c = "zt.constant"() {value = dense<[1, 0]> : tensor<2xbool>} : () -> tensor<2xbool>',
          relu()),
     "2:39: error: invalid dense literal for tensor<2xbool>: expected true or false"),
    ("unknown resource",
     body('  %c = "zt.constant"() {value = dense_resource<r7> : tensor<32xf32>} : () -> tensor<32xf32>',
          relu()),
     "2:48: error: unknown resource 'r7'"),
    ("missing function name", body(relu(), head=f"func.func (%x: {T}) -> ({T}) {{\n"),
     "1:11: error: expected function name like '@main', found '('"),
    ("missing func keyword", body(relu(), head=f"fn @main(%x: {T}) -> ({T}) {{\n"),
     "1:1: error: expected 'func.func', found 'fn'"),
    ("unclosed module", "module {\n" + body(relu()),
     "6:1: error: expected '}' to close the module body, found end of input"),
    ("function redefinition", body(relu()) + body(relu()),
     "5:1: error: redefinition of function '@main'"),
    ("block label in function", body("^bb1:", relu()),
     "2:1: error: a function body is a single block; block labels are not allowed here"),
    ("return of undefined value", body(relu(), ret=ret(T).replace("%y", "%q")),
     "3:17: error: use of undefined value '%q'"),
    ("resource size mismatch",
     body('  %c = "zt.constant"() {value = dense_resource<r0> : tensor<32xf32>} : () -> tensor<32xf32>',
          relu()) + '{-#\n  dialect_resources: {\n    builtin: {\n      r0: "0x0000"\n    }\n  }\n#-}\n',
     "2:48: error: resource 'r0' has 2 bytes but tensor<32xf32> needs 128"),
]

VERIFY_CASES = [
    ("wrong result shape",
     body(relu(types=f"({T}) -> tensor<3x2xf32>"), head=sig("tensor<3x2xf32>"), ret=ret("tensor<3x2xf32>")),
     "2:3: error: 'zt.relu' op result #0 has type tensor<3x2xf32> but the operands imply tensor<2x3xf32>"),
    ("wrong result dtype",
     body(relu(types=f"({T}) -> tensor<2x3xf16>"), head=sig("tensor<2x3xf16>"), ret=ret("tensor<2x3xf16>")),
     "2:3: error: 'zt.relu' op result #0 has type tensor<2x3xf16> but the operands imply tensor<2x3xf32>"),
    ("mixed dtypes",
     body(f'  %i = "zt.cast"(%x) {{to = i32}} : ({T}) -> tensor<2x3xi32>',
          f'  %y = "zt.add"(%x, %i) : ({T}, tensor<2x3xi32>) -> {T}'),
     "3:3: error: 'zt.add' op operand #1 has dtype i32 but operand #0 has f32"),
    ("broadcast failure",
     body(f'  %y = "zt.add"(%x, %w) : ({T}, tensor<4xf32>) -> {T}',
          head=f"func.func @main(%x: {T}, %w: tensor<4xf32>) -> ({T}) {{\n"),
     "2:3: error: 'zt.add' op shapes [2, 3], [4] do not broadcast"),
    ("too many operands", body(f'  %y = "zt.relu"(%x, %x) : ({T}, {T}) -> {T}'),
     "2:3: error: 'zt.relu' op expects 1 operand(s), got 2"),
    ("too few operands", body(f'  %y = "zt.add"(%x) : ({T}) -> {T}'),
     "2:3: error: 'zt.add' op expects 2 operand(s), got 1"),
    ("missing required attribute", body(f'  %y = "zt.cast"(%x) : ({T}) -> {T}'),
     "2:3: error: 'zt.cast' op requires attribute 'to'"),
    ("attribute of wrong kind", body(f'  %y = "zt.leaky_relu"(%x) {{alpha = "big"}} : ({T}) -> {T}'),
     "2:3: error: 'zt.leaky_relu' op attribute 'alpha' must be float, got string"),
    ("unknown attribute", body(relu(attrs=" {slope = 2}")),
     "2:3: error: 'zt.relu' op has unknown attribute 'slope' (known: none)"),
    ("float op on ints",
     body('  %y = "zt.exp"(%x) : (tensor<2xi32>) -> tensor<2xi32>',
          head="func.func @main(%x: tensor<2xi32>) -> (tensor<2xi32>) {\n", ret=ret("tensor<2xi32>")),
     "2:3: error: 'zt.exp' op operand #0 has dtype i32; 'zt.exp' needs float dtypes"),
    ("return type mismatch", body(relu(), head=sig("tensor<2x3xf16>")),
     "3:3: error: 'func.return' op returns (tensor<2x3xf32>) but '@main' is declared to return "
     "(tensor<2x3xf16>)"),
    ("missing return", HEAD + relu() + "\n}\n",
     "1:1: error: 'func.func' op body of '@main' must end with 'func.return'"),
    ("terminator not last", body(f'  "func.return"(%x) : ({T}) -> ()', relu()),
     "2:3: error: 'func.return' op is a terminator and must be the last op of its block"),
    ("bad reshape",
     body(f'  %y = "zt.reshape"(%x) {{shape = [4, 2]}} : ({T}) -> tensor<4x2xf32>',
          head=sig("tensor<4x2xf32>"), ret=ret("tensor<4x2xf32>")),
     "2:3: error: 'zt.reshape' op cannot reshape [2, 3] (6 elements) into [4, 2] (8 elements)"),
    ("bad transpose perm", body(f'  %y = "zt.transpose"(%x) {{perm = [0, 0]}} : ({T}) -> {T}'),
     "2:3: error: 'zt.transpose' op perm [0, 0] is not a permutation of 2 axes"),
    ("matmul contraction", body(f'  %y = "zt.matmul"(%x, %x) : ({T}, {T}) -> {T}'),
     "2:3: error: 'zt.matmul' op matmul contraction dims differ: 3 != 2"),
    ("symbolic dims that cannot broadcast",
     body('  %y = "zt.add"(%x, %w) : (tensor<"n"x3xf32>, tensor<"n"x4xf32>) -> tensor<"n"x3xf32>',
          head='func.func @main(%x: tensor<"n"x3xf32>, %w: tensor<"n"x4xf32>) -> (tensor<"n"x3xf32>) {\n',
          ret=ret('tensor<"n"x3xf32>')),
     "2:3: error: 'zt.add' op shapes [n, 3], [n, 4] do not broadcast"),
]


@pytest.mark.parametrize("name,text,expected", PARSE_CASES, ids=[c[0] for c in PARSE_CASES])
def test_parse_error(name, text, expected):
    with pytest.raises(ParseError) as info:
        parse_module(text, "t.zir")
    msg = str(info.value)
    first, *rest = msg.splitlines()
    assert first == f"t.zir:{expected}"
    line, col = (int(x) for x in expected.split(":")[:2])
    source_line = text.split("\n")[line - 1]
    assert rest[:2] == [source_line, " " * (col - 1) + "^"]


@pytest.mark.parametrize("name,text,expected", VERIFY_CASES, ids=[c[0] for c in VERIFY_CASES])
def test_verify_error(name, text, expected):
    module = parse_module(text, "t.zir")
    with pytest.raises(VerifyError) as info:
        verify(module)
    assert str(info.value).splitlines()[0] == f"t.zir:{expected}"


def test_enough_negative_cases():
    assert len(PARSE_CASES) + len(VERIFY_CASES) >= 30


def test_programmatic_dominance_violation():
    """A use before its definition built through the API is caught by the verifier."""
    from zenith.ir import Builder, Function, Module, TensorType, dtype

    t = TensorType(dtype("f32"), (2,))
    m = Module()
    fn = m.add_function(Function("main", [t], [t]))
    b = Builder.at_end(fn.body)
    a = b.create("zt.relu", [fn.args[0]])
    c = b.create("zt.neg", [a.result])
    b.create("func.return", [c.result])
    c.move_before(a)
    with pytest.raises(VerifyError, match="operand #0 is not defined before this use"):
        verify(m)


def test_errors_are_zenith_errors_not_tracebacks():
    """Garbage input gives a ParseError, whatever it is."""
    for junk in ["", "}", "module", "func.func @f(", '"zt.add"', "%x = ", "\x00\x01"]:
        try:
            parse_module(junk, "junk.zir")
        except ZenithError:
            continue
