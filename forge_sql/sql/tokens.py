"""DuckDB's lexer over a SQL text: tokens with their offsets and text, made once per
statement and passed on."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeVar

import duckdb

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Token:
    start: int
    end: int
    kind: str  # identifier, numeric_const, string_const, operator, keyword, comment
    text: str

    @property
    def upper(self) -> str:
        return self.text.upper()



def tokenize(sql: str) -> tuple[Token, ...]:
    """DuckDB's lexer (comments dropped), with each token's text."""
    starts = duckdb.tokenize(sql)
    if not sql.isascii():
        starts = _character_offsets(sql, starts)
    tokens = []
    for index, (start, kind) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else len(sql)
        text = sql[start:end]
        if kind.name == "identifier" and text.startswith('"'):
            quoted = _QUOTED.match(text)
            text = quoted.group(0) if quoted else text
        elif kind.name == "string_const":
            text = text[: _string_end(text)]
        else:
            # The lexer gives starts only: cut at trailing white space or a comment.
            text = _TOKEN_END.split(text, maxsplit=1)[0]
        text = text.rstrip()
        tokens.append(Token(start, start + len(text), kind.name, text))
    return tuple(tokens)


_TOKEN_END = re.compile(r"\s|--|/\*")
_DOLLAR_TAG = re.compile(r"\$[A-Za-z_0-9]*\$")


def _string_end(text: str) -> int:
    """Length of the string literal at the start of ``text`` (what follows may be a
    comment): '...' with '' inside, E'...' with backslash escapes, or $tag$...$tag$."""
    dollar = _DOLLAR_TAG.match(text)
    if dollar is not None:
        end = text.find(dollar.group(0), dollar.end())
        return len(text) if end < 0 else end + len(dollar.group(0))
    quote = text.find("'")
    if quote < 0:
        return len(text)
    backslash = text[:quote].upper().endswith("E")
    index = quote + 1
    while index < len(text):
        char = text[index]
        if backslash and char == "\\":
            index += 2
            continue
        if char == "'":
            if text[index + 1 : index + 2] == "'":
                index += 2
                continue
            return index + 1
        index += 1
    return len(text)
# A quoted identifier may hold spaces; "" inside it is an escaped quote.
_QUOTED = re.compile(r'"(?:[^"]|"")*"?')


def _character_offsets(sql: str, starts: list[tuple[int, T]]) -> list[tuple[int, T]]:
    """DuckDB's lexer counts UTF-8 bytes; Python strings count characters."""
    encoded = sql.encode()
    converted = []
    byte, char = 0, 0
    for start, kind in starts:
        char += len(encoded[byte:start].decode())
        byte = start
        converted.append((char, kind))
    return converted
