"""Tokens of the IR text form, with positions for diagnostics."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from zenith.ir.diagnostics import FileLoc, ParseError, SourceBuffer

_SPEC = [
    ("ws", r"[ \t\r\n]+|//[^\n]*"),
    ("res_open", r"\{-#"),
    ("res_close", r"#-\}"),
    ("tensor", r'tensor<(?:"(?:[^"\\\n]|\\.)*"|[^>"\n])*>'),
    ("value", r"%[A-Za-z0-9_$.]+"),
    ("block", r"\^[A-Za-z0-9_$.]+"),
    ("symbol", r"@[A-Za-z0-9_$.]+"),
    ("string", r'"(?:[^"\\\n]|\\.)*"'),
    ("arrow", r"->"),
    ("number", r"-?(?:\d+\.\d*(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+|\d+)"),
    ("minus_ident", r"-(?:inf|nan)\b"),
    ("ident", r"[A-Za-z_][A-Za-z0-9_.$]*"),
    ("punct", r"[(){}\[\]<>,:=#*]"),
    ("bad", r"."),
]
_MASTER = re.compile("|".join(f"(?P<{k}>{p})" for k, p in _SPEC))


@dataclass(slots=True)
class Token:
    kind: str
    text: str
    pos: int


class Lexer:
    """Turns text into a token list and maps offsets to line and column."""

    def __init__(self, text: str, filename: str = "<stdin>", start: int = 0, end: int | None = None):
        self.buffer = SourceBuffer(filename, text)
        self.filename = filename
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.tokens: list[Token] = []
        end = len(text) if end is None else end
        for m in _MASTER.finditer(text, start, end):
            kind = m.lastgroup
            if kind == "ws":
                continue
            if kind == "bad":
                ch = m.group()
                if ch == '"':
                    raise self.error(m.start(), "unterminated string literal")
                raise self.error(m.start(), f"unexpected character '{ch}'")
            self.tokens.append(Token(kind, m.group(), m.start()))
        self.tokens.append(Token("eof", "", end))

    def loc(self, pos: int) -> FileLoc:
        line = bisect.bisect_right(self._line_starts, pos)
        col = pos - self._line_starts[line - 1] + 1
        return FileLoc(self.filename, line, col, self.buffer)

    def error(self, pos: int, message: str) -> ParseError:
        return ParseError(message, self.loc(pos))
