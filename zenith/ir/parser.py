"""Parser of the generic text form; every error is ``file:line:col: error: ...``."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

from zenith.ir.attributes import DenseAttr
from zenith.ir.core import Block, Operation, Region, Value
from zenith.ir.diagnostics import FileLoc, Location, NameLoc, ParseError
from zenith.ir.dtypes import DTYPES, DType
from zenith.ir.gcutil import paused_gc
from zenith.ir.lexer import Lexer, Token
from zenith.ir.module import Function, Module
from zenith.ir.opdef import lookup
from zenith.ir.types import FunctionType, TensorType

_RESOURCE_ENTRY = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_.$]*)\s*:\s*"0x([0-9A-Fa-f]*)"\s*,?')


class Parser:
    """Recursive-descent parser over the token list of one file."""

    def __init__(self, text: str, filename: str = "<stdin>", allow_unregistered: bool = False):
        self.text = text
        self.filename = filename
        self.allow_unregistered = allow_unregistered
        body_end, self.resource_pos = self._find_resources(text)
        self.lex = Lexer(text, filename, 0, body_end)
        self.toks = self.lex.tokens
        self.i = 0
        self.resources: dict[str, bytes] = {}
        self._type_cache: dict[str, TensorType] = {}
        self.scopes: list[dict[str, Value]] = []
        self.visible: dict[str, Value] = {}

    # -- token helpers ----------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def next(self) -> Token:
        t = self.toks[self.i]
        self.i += 1
        return t

    def error(self, message: str, tok: Token | None = None) -> ParseError:
        t = tok or self.tok
        return self.lex.error(t.pos, message)

    def _describe(self, t: Token) -> str:
        return "end of input" if t.kind == "eof" else f"'{t.text}'"

    def expect(self, text: str, what: str | None = None) -> Token:
        t = self.tok
        if t.text != text or t.kind in ("string", "eof"):
            raise self.error(f"expected '{text}'{' ' + what if what else ''}, found {self._describe(t)}")
        self.i += 1
        return t

    def accept(self, text: str) -> bool:
        t = self.tok
        if t.text == text and t.kind not in ("string", "eof"):
            self.i += 1
            return True
        return False

    # -- resources ------------------------------------------------------
    def _find_resources(self, text: str) -> tuple[int, int | None]:
        k = text.rfind("{-#")
        if k < 0 or text.find("#-}", k) < 0:
            return len(text), None
        return k, k

    def _parse_resources(self) -> None:
        if self.resource_pos is None:
            return
        start = self.resource_pos
        end = self.text.find("#-}", start)
        body = self.text[start + 3:end]
        head = re.match(r"\s*dialect_resources\s*:\s*\{\s*builtin\s*:\s*\{", body)
        if head is None:
            raise self.lex.error(start, "malformed resource section: expected "
                                 "'dialect_resources: { builtin: {'")
        pos = head.end()
        while True:
            m = _RESOURCE_ENTRY.match(body, pos)
            if m is None:
                break
            self.resources[m.group(1)] = bytes.fromhex(m.group(2))
            pos = m.end()
        if not re.fullmatch(r"\s*\}\s*\}\s*", body[pos:]):
            raise self.lex.error(start + 3 + pos, "malformed resource entry: expected "
                                 "'name: \"0x<hex>\"'")

    # -- module and functions ---------------------------------------------
    def parse_module(self) -> Module:
        self._parse_resources()
        module = Module(self.lex.loc(self.tok.pos))
        if self.tok.text == "module":
            self.next()
            if self.accept("attributes"):
                module.attributes.update(self.attr_dict())
            self.expect("{", "to open the module body")
            while self.tok.text != "}":
                if self.tok.kind == "eof":
                    raise self.error("expected '}' to close the module body, found end of input")
                module.add_function(self.parse_function())
            self.next()
        else:
            while self.tok.kind != "eof":
                module.add_function(self.parse_function())
        if self.tok.kind != "eof":
            raise self.error(f"unexpected {self._describe(self.tok)} after the module")
        names: set[str] = set()
        for fn in module.functions:
            if fn.sym_name in names:
                raise ParseError(f"redefinition of function '@{fn.sym_name}'", fn.loc)
            names.add(fn.sym_name)
        return module

    def parse_function(self) -> Function:
        start = self.tok
        if start.text != "func.func":
            raise self.error(f"expected 'func.func', found {self._describe(start)}")
        self.next()
        sym = self.tok
        if sym.kind != "symbol":
            raise self.error(f"expected function name like '@main', found {self._describe(sym)}")
        self.next()
        self.visible, self.scopes = {}, []
        self.expect("(", "to open the argument list")
        arg_names: list[tuple[Token, TensorType]] = []
        if not self.accept(")"):
            while True:
                name = self.tok
                if name.kind != "value":
                    raise self.error(f"expected argument name like '%x', found {self._describe(name)}")
                self.next()
                self.expect(":", "after the argument name")
                arg_names.append((name, self.type()))
                if self.accept(")"):
                    break
                self.expect(",", "or ')' in the argument list")
        self.expect("->", "before the result types")
        results = self.type_list()
        attrs: dict[str, Any] = {}
        if self.accept("attributes"):
            attrs = self.attr_dict()
        fn = Function(sym.text[1:], [t for _, t in arg_names], results, attrs,
                      self.lex.loc(start.pos))
        for (tok, _), arg in zip(arg_names, fn.args):
            self.define(tok, arg)
        self.expect("{", "to open the function body")
        if not self.parse_ops(fn.body, "}"):
            raise self.error("a function body is a single block; block labels are not allowed here")
        return fn

    def parse_ops(self, block: Block, closer: str) -> bool:
        """Parse ops into ``block``; True if ``closer`` ended it, False at a block label."""
        while True:
            t = self.tok
            if t.text == closer and t.kind == "punct":
                self.next()
                return True
            if t.kind == "eof":
                raise self.error(f"expected '{closer}' to close the block, found end of input")
            if t.kind == "block":
                return False
            block.append(self.parse_op())

    # -- values -----------------------------------------------------------
    def define(self, tok: Token, v: Value) -> None:
        name = tok.text[1:]
        if name in self.visible:
            raise self.error(f"redefinition of value '%{name}'", tok)
        self.visible[name] = v
        if self.scopes:
            self.scopes[-1][name] = v
        if not name.isdigit():
            v.name_hint = name

    def use(self) -> tuple[Value, Token]:
        t = self.tok
        if t.kind != "value":
            raise self.error(f"expected an operand like '%x', found {self._describe(t)}")
        self.next()
        v = self.visible.get(t.text[1:])
        if v is None:
            raise self.error(f"use of undefined value '{t.text}'", t)
        return v, t

    # -- operations -------------------------------------------------------
    def parse_op(self) -> Operation:
        start = self.tok
        result_toks: list[Token] = []
        if start.kind == "value":
            while True:
                t = self.tok
                if t.kind != "value":
                    raise self.error(f"expected a result name like '%x', found {self._describe(t)}")
                result_toks.append(self.next())
                if self.accept("="):
                    break
                self.expect(",", "or '=' after the result names")
        name_tok = self.tok
        if name_tok.kind != "string":
            raise self.error(f"expected an operation name in quotes, found {self._describe(name_tok)}")
        self.next()
        name = json.loads(name_tok.text)
        if "." not in name:
            raise self.error(f"operation name '{name}' must be 'dialect.op'", name_tok)
        if lookup(name) is None and not self.allow_unregistered:
            raise self.error(f"unknown operation '{name}'", name_tok)
        self.expect("(", "to open the operand list")
        operands: list[tuple[Value, Token]] = []
        if not self.accept(")"):
            while True:
                operands.append(self.use())
                if self.accept(")"):
                    break
                self.expect(",", "or ')' in the operand list")
        regions: list[Region] = []
        if self.tok.text == "(" and self.toks[self.i + 1].text == "{":
            self.next()
            while True:
                regions.append(self.parse_region())
                if self.accept(")"):
                    break
                self.expect(",", "or ')' after a region")
        attrs: dict[str, Any] = {}
        if self.tok.text == "{" and self.tok.kind == "punct":
            attrs = self.attr_dict()
        self.expect(":", "before the operation's type")
        colon = self.toks[self.i - 1]
        in_types = self.type_list(require_parens=True)
        self.expect("->", "in the operation's type")
        out_types = self.type_list()
        loc: Location = self.lex.loc(start.pos)
        if self.tok.text == "loc":
            loc = self.location()
        if len(in_types) != len(operands):
            raise self.error(f"'{name}' has {len(operands)} operand(s) but its type lists "
                             f"{len(in_types)}", colon)
        for k, ((v, tok), t) in enumerate(zip(operands, in_types)):
            if v.type != t:
                raise self.error(f"operand #{k} of '{name}' is {tok.text} of type {v.type}, "
                                 f"but the op's type says {t}", tok)
        if len(out_types) != len(result_toks):
            raise self.error(f"'{name}' defines {len(result_toks)} result(s) but its type lists "
                             f"{len(out_types)}", start)
        op = Operation(name, [v for v, _ in operands], out_types, attrs, regions, loc)
        for tok, r in zip(result_toks, op.results):
            self.define(tok, r)
        return op

    def parse_region(self) -> Region:
        self.expect("{", "to open a region")
        region = Region()
        self.scopes.append({})
        while True:
            t = self.tok
            if t.kind == "punct" and t.text == "}":
                self.next()
                break
            if t.kind != "block":
                raise self.error(f"expected a block label like '^bb0', found {self._describe(t)}")
            self.next()
            block = Block()
            if self.accept("(") and not self.accept(")"):
                while True:
                    name = self.tok
                    if name.kind != "value":
                        raise self.error("expected block argument name like '%x', "
                                         f"found {self._describe(name)}")
                    self.next()
                    self.expect(":", "after the block argument name")
                    self.define(name, block.add_arg(self.type()))
                    if self.accept(")"):
                        break
                    self.expect(",", "or ')' in the block arguments")
            self.expect(":", "after the block label")
            region.add_block(block)
            if self.parse_ops(block, "}"):
                break
        for name in self.scopes.pop():
            del self.visible[name]
        return region

    def location(self) -> Location:
        self.expect("loc")
        self.expect("(", "after 'loc'")
        t = self.tok
        if t.kind != "string":
            raise self.error(f"expected a string in loc(...), found {self._describe(t)}")
        self.next()
        text = json.loads(t.text)
        if self.accept(":"):
            line = self.int_literal()
            self.expect(":", "between line and column")
            col = self.int_literal()
            loc: Location = FileLoc(text, line, col)
        else:
            loc = NameLoc(text)
        self.expect(")", "to close loc(...)")
        return loc

    def int_literal(self) -> int:
        t = self.tok
        if t.kind != "number" or not t.text.lstrip("-").isdigit():
            raise self.error(f"expected an integer, found {self._describe(t)}")
        self.next()
        return int(t.text)

    # -- types ------------------------------------------------------------
    def type(self) -> TensorType:
        t = self.tok
        if t.kind != "tensor":
            raise self.error(f"expected a tensor type like 'tensor<2x3xf32>', found {self._describe(t)}")
        self.next()
        cached = self._type_cache.get(t.text)
        if cached is None:
            cached = self._type_cache[t.text] = self._tensor_type(t)
        return cached

    def _tensor_type(self, t: Token) -> TensorType:
        body = t.text[7:-1]
        pos, dims = 0, []
        while True:
            if pos >= len(body):
                raise self.lex.error(t.pos + 7 + pos, "expected an element type in tensor type")
            c = body[pos]
            if c.isdigit():
                m = re.match(r"\d+", body[pos:])
                dims.append(int(m.group()))
                pos += m.end()
            elif c == "?":
                dims.append(None)
                pos += 1
            elif c == '"':
                m = re.match(r'"(?:[^"\\]|\\.)*"', body[pos:])
                if m is None:
                    raise self.lex.error(t.pos + 7 + pos, "unterminated dim name")
                dims.append(json.loads(m.group()))
                pos += m.end()
            else:
                name = body[pos:]
                if name not in DTYPES:
                    raise self.lex.error(t.pos + 7 + pos, f"unknown element type '{name}'")
                return TensorType(DTYPES[name], tuple(dims))
            if pos >= len(body) or body[pos] != "x":
                raise self.lex.error(t.pos + 7 + pos, "expected 'x' after a dimension")
            pos += 1

    def type_list(self, require_parens: bool = False) -> list[TensorType]:
        if self.tok.text != "(":
            if require_parens:
                raise self.error(f"expected '(' to open a type list, found {self._describe(self.tok)}")
            return [self.type()]
        self.next()
        out: list[TensorType] = []
        if self.accept(")"):
            return out
        while True:
            out.append(self.type())
            if self.accept(")"):
                return out
            self.expect(",", "or ')' in the type list")

    # -- attributes -------------------------------------------------------
    def attr_dict(self) -> dict[str, Any]:
        self.expect("{", "to open the attribute dictionary")
        out: dict[str, Any] = {}
        if self.accept("}"):
            return out
        while True:
            k = self.tok
            if k.kind == "ident":
                key = k.text
            elif k.kind == "string":
                key = json.loads(k.text)
            else:
                raise self.error(f"expected an attribute name, found {self._describe(k)}")
            self.next()
            if key in out:
                raise self.error(f"duplicate attribute '{key}'", k)
            self.expect("=", f"after attribute name '{key}'")
            out[key] = self.attr()
            if self.accept("}"):
                return out
            self.expect(",", "or '}' in the attribute dictionary")

    def attr(self) -> Any:
        t = self.tok
        k = t.kind
        if k == "number":
            self.next()
            return int(t.text) if _is_int_text(t.text) else float(t.text)
        if k == "string":
            self.next()
            return json.loads(t.text)
        if k == "tensor":
            return self.type()
        if k == "minus_ident":
            self.next()
            return float(t.text)
        if t.text == "[":
            self.next()
            items: list[Any] = []
            if self.accept("]"):
                return ()
            while True:
                items.append(self.attr())
                if self.accept("]"):
                    return tuple(items)
                self.expect(",", "or ']' in the list")
        if t.text == "(":
            ins = self.type_list()
            self.expect("->", "in the function type")
            return FunctionType(tuple(ins), tuple(self.type_list()))
        if k == "ident":
            word = t.text
            if word in _WORDS:
                self.next()
                return _WORDS[word]
            if word in DTYPES:
                self.next()
                return DTYPES[word]
            if word == "dense":
                return self.dense()
            if word == "dense_resource":
                return self.dense_resource()
        raise self.error(f"expected an attribute value, found {self._describe(t)}")

    def dense(self) -> DenseAttr:
        self.next()
        self.expect("<", "after 'dense'")
        start = self.tok
        splat = self.tok.text != "["
        raw = [self.attr()] if splat else list(self.attr())
        self.expect(">", "to close dense<...>")
        self.expect(":", "before the type of the dense literal")
        ty = self.type()
        n = ty.num_elements
        if n is None:
            raise self.error(f"dense literal needs a static type, got {ty}", start)
        if splat:
            raw = raw * n
        if len(raw) != n:
            raise self.error(f"dense literal has {len(raw)} elements but {ty} has {n}", start)
        try:
            return DenseAttr(_array(raw, ty.dtype).reshape(ty.shape), ty.dtype)
        except (TypeError, ValueError, OverflowError) as e:
            raise self.error(f"invalid dense literal for {ty}: {e}", start) from None

    def dense_resource(self) -> DenseAttr:
        self.next()
        self.expect("<", "after 'dense_resource'")
        name_tok = self.tok
        if name_tok.kind != "ident":
            raise self.error(f"expected a resource name, found {self._describe(name_tok)}")
        self.next()
        self.expect(">", "to close dense_resource<...>")
        self.expect(":", "before the type of the resource")
        ty = self.type()
        blob = self.resources.get(name_tok.text)
        if blob is None:
            raise self.error(f"unknown resource '{name_tok.text}'", name_tok)
        n = ty.num_elements
        if n is None or n * ty.dtype.itemsize != len(blob):
            raise self.error(f"resource '{name_tok.text}' has {len(blob)} bytes but {ty} "
                             f"needs {n * ty.dtype.itemsize if n is not None else '?'}", name_tok)
        arr = np.frombuffer(blob, dtype=ty.dtype.np_dtype).reshape(ty.shape)
        return DenseAttr(arr, ty.dtype)


_WORDS: dict[str, Any] = {
    "true": True, "false": False, "none": None, "inf": float("inf"), "nan": float("nan"),
}


def _is_int_text(s: str) -> bool:
    return s.lstrip("-").isdigit()


def _array(raw: list[Any], dtype: DType) -> np.ndarray:
    if dtype.kind == "complex":
        vals = [complex(*x) if isinstance(x, tuple) else complex(x) for x in raw]
        return np.array(vals, dtype=dtype.np_dtype)
    if dtype.kind == "string":
        return np.array(raw, dtype=object)
    if dtype.kind in ("int", "uint"):
        if any(not isinstance(x, int) or isinstance(x, bool) for x in raw):
            raise TypeError("expected integers")
        return np.array(raw, dtype=np.int64 if dtype.kind == "int" else np.uint64).astype(
            dtype.np_dtype)
    if dtype.kind == "bool":
        if any(not isinstance(x, bool) for x in raw):
            raise TypeError("expected true or false")
        return np.array(raw, dtype=np.bool_)
    if any(isinstance(x, (bool, str, tuple)) or x is None for x in raw):
        raise TypeError("expected numbers")
    return np.array(raw, dtype=np.float64).astype(dtype.np_dtype)


def parse_module(text: str, filename: str = "<stdin>", allow_unregistered: bool = False) -> Module:
    """Parse IR text into a module; raises ParseError with a location."""
    with paused_gc():
        return Parser(text, filename, allow_unregistered).parse_module()
