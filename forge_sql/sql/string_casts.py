"""Explicit casts to varchar(n) and char(n) cut the value to n characters, as PostgreSQL's
do (docs: datatype-character); DuckDB's VARCHAR has no length and keeps the value whole.
A char(n) value also loses its trailing blanks, which char(n) ignores: results announced
as char(n) are padded on output (forge_sql.engine.result)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from forge_sql.sql import operands, syntax
from forge_sql.sql.rewrite import Edit, Rule, Source
from forge_sql.sql.tokens import Token

# Macros of the catalog schema (forge_sql.engine.semantic_functions): the result columns'
# names and types are those of the cast they wrap (forge_sql.engine.column_names).
VARCHAR_CUT = "forge_varchar_cut"
BPCHAR_CUT = "forge_bpchar_cut"
CUTS = frozenset({VARCHAR_CUT, BPCHAR_CUT})
_WANTS = re.compile(r"char|varying", re.I)
_VARCHAR = (("VARCHAR",), ("CHARACTER", "VARYING"), ("CHAR", "VARYING"))
_BPCHAR = (("BPCHAR",), ("CHARACTER",), ("CHAR",))
_CONSTANTS = frozenset({"NULL", "TRUE", "FALSE"})
_RESERVED = operands.ENDING_WORDS | _CONSTANTS | {
    "SELECT", "DISTINCT", "ALL", "ANY", "SOME", "EXISTS", "ARRAY", "ROW", "CASE", "BY",
    "WITH", "INTERVAL", "DATE", "TIME", "TIMESTAMP",
}


def length_type(tokens: Sequence[Token], at: int) -> tuple[int, bool, int] | None:
    """(n, whether char(n), index of the type's last token) for ``varchar(n)``,
    ``character varying(n)``, ``char(n)`` or ``char`` (char(1)) at ``tokens[at]``; None
    for other types, arrays, and varchar and bpchar without a length."""
    if tokens[at:at + 1] and tokens[at].upper == "PG_CATALOG" and tokens[at + 1:at + 2] and (
        tokens[at + 1].text == "."
    ):
        at += 2
    if at >= len(tokens) or tokens[at].text.startswith('"'):
        return None  # "char" is PostgreSQL's one-byte internal type
    words = [t.upper for t in tokens[at:at + 2]]
    for names, bpchar in ((_VARCHAR, False), (_BPCHAR, True)):
        for name in names:
            if tuple(words[:len(name)]) != name:
                continue
            last = at + len(name) - 1
            n: int | None = 1 if name in (("CHAR",), ("CHARACTER",)) else None
            if (
                last + 3 < len(tokens)
                and tokens[last + 1].text == "("
                and tokens[last + 2].text.isdigit()
                and tokens[last + 3].text == ")"
            ):
                n, last = int(tokens[last + 2].text), last + 3
            if n is None or (last + 1 < len(tokens) and tokens[last + 1].text == "["):
                return None
            return n, bpchar, last
    return None


def _operand_start(tokens: Sequence[Token], cast: int) -> int | None:
    """The first token of the operand of the ``::`` at ``cast`` (a constant, a column, a
    call or a parenthesised expression, with its subscripts and earlier casts)."""
    at = cast - 1
    while at >= 0:
        token = tokens[at]
        if token.text in (")", "]"):
            opening = _opening(tokens, at)
            if opening is None:
                return None
            at = opening
            if token.text == "]":
                at -= 1  # a subscript: of the primary before it
                continue
            if at > 0 and _named(tokens[at - 1]):
                at -= 1  # a call
        elif token.upper == "END":
            opening = _case(tokens, at)
            if opening is None:
                return None
            at = opening
        elif not (token.kind in ("string_const", "numeric_const") or _named(token)
                  or token.text.startswith("$") or token.upper in _CONSTANTS):
            return None  # an operator, a clause: not an operand
        while at >= 2 and tokens[at - 1].text == "." and syntax.is_name(tokens[at - 2]):
            at -= 2
        if at >= 2 and tokens[at - 1].text == "::":
            at -= 2  # what we read is the type of an earlier cast: its operand goes on
            continue
        return at
    return None


def _named(token: Token) -> bool:
    """A column's or function's name, not a keyword of the grammar."""
    return token.kind == "identifier" or (
        token.kind == "keyword" and token.upper not in _RESERVED
    )


def _case(tokens: Sequence[Token], end: int) -> int | None:
    """The CASE the END at ``end`` closes."""
    depth = 0
    for at in range(end, -1, -1):
        word = tokens[at].upper if tokens[at].kind == "keyword" else ""
        depth += word == "END"
        depth -= word == "CASE"
        if depth == 0:
            return at
    return None


def _opening(tokens: Sequence[Token], close: int) -> int | None:
    pairs = {")": "(", "]": "["}
    want = pairs[tokens[close].text]
    depth = 0
    for at in range(close, -1, -1):
        text = tokens[at].text
        if text == tokens[close].text:
            depth += 1
        elif text == want:
            depth -= 1
            if depth == 0:
                return at
    return None


def _edits(source: Source) -> Iterator[Edit]:
    tokens = source.tokens
    for index, token in enumerate(tokens):
        start: int | None = None
        found = None
        if token.text == "::" and index + 1 < len(tokens):
            found = length_type(tokens, index + 1)
            start = _operand_start(tokens, index) if found is not None else None
        elif token.upper in ("CAST", "TRY_CAST") and index + 1 < len(tokens):
            parts = syntax.cast_parts(tokens, index)
            if parts is not None:
                found = length_type(tokens, parts[0] + 1)
                if found is not None and found[2] + 1 == parts[1]:
                    start, found = index, (found[0], found[1], parts[1])
        if start is None or found is None:
            continue
        n, bpchar, last = found
        # Casts of one operand nest: the later one goes outside.
        cut = BPCHAR_CUT if bpchar else VARCHAR_CUT
        yield Edit(tokens[start].start, tokens[start].start, f"{cut}(", -index)
        yield Edit(tokens[last].end, tokens[last].end, f", {n})", index)


RULES: tuple[Rule, ...] = (
    Rule("string casts", _edits, lambda sql: _WANTS.search(sql) is not None),
)
