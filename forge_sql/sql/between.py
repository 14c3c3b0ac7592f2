"""``x [NOT] BETWEEN SYMMETRIC a AND b``, which DuckDB's parser refuses, as a call of the
catalog macro ``between_symmetric(x, a, b)``: PostgreSQL's parser makes it
``(x BETWEEN a AND b) OR (x BETWEEN b AND a)`` (transformAExprBetween). ``BETWEEN
ASYMMETRIC`` is plain BETWEEN. Only edits at the keywords and around the operands: their
text stays where it is, so other rules' edits inside them still apply.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from forge_sql.sql import syntax, type_names
from forge_sql.sql.rewrite import Edit, Rule, Source
from forge_sql.sql.tokens import Token

# Operators binding tighter than BETWEEN (PostgreSQL's precedence table): part of an operand.
_ARITHMETIC = {"+", "-", "*", "/", "%", "^", "||"}
_CONSTANTS = {"TRUE", "FALSE", "NULL"}
MACRO = "between_symmetric"


def _edits(source: Source) -> Iterator[Edit]:
    tokens = source.tokens
    for index, token in enumerate(tokens):
        if token.upper != "BETWEEN" or index + 1 >= len(tokens):
            continue
        word = tokens[index + 1].upper
        if word == "ASYMMETRIC":
            yield Edit(tokens[index + 1].start, tokens[index + 1].end, "")
        elif word == "SYMMETRIC":
            yield from _symmetric(tokens, index)


def _symmetric(tokens: Sequence[Token], between: int) -> Iterator[Edit]:
    negated = between > 0 and tokens[between - 1].upper == "NOT"
    first = between - 1 if negated else between
    start = _operand_start(tokens, first - 1) if first > 0 else None
    conjunction = _and(tokens, between + 2)
    end = _operand_end(tokens, conjunction + 1) if conjunction is not None else None
    if start is None or conjunction is None or end is None:
        return
    call = ("NOT " if negated else "") + MACRO + "("
    yield Edit(tokens[start].start, tokens[start].start, call, -1)
    yield Edit(tokens[first].start, tokens[between + 1].end, ",")
    yield Edit(tokens[conjunction].start, tokens[conjunction].end, ",")
    yield Edit(tokens[end].end, tokens[end].end, ")", 1)


def _and(tokens: Sequence[Token], at: int) -> int | None:
    """The AND ending the lower bound (the first at its parenthesis level, outside CASE)."""
    depth = 0
    for index in range(at, len(tokens)):
        text = tokens[index].text
        keyword = tokens[index].kind == "keyword"
        if keyword and tokens[index].upper == "CASE":
            depth += 1
        elif keyword and tokens[index].upper == "END":
            depth -= 1
            if depth < 0:
                return None
        elif text in syntax.OPEN:
            depth += 1
        elif text in syntax.CLOSE:
            depth -= 1
            if depth < 0:
                return None
        elif depth == 0 and tokens[index].upper == "AND":
            return index
    return None


def _primary(token: Token) -> bool:
    return token.kind in ("identifier", "numeric_const", "string_const") or (
        token.upper in _CONSTANTS) or (token.kind == "operator" and token.text.startswith("$"))


def _opening(tokens: Sequence[Token], close: int) -> int | None:
    depth = 0
    for index in range(close, -1, -1):
        text = tokens[index].text
        if text in syntax.CLOSE:
            depth += 1
        elif text in syntax.OPEN:
            depth -= 1
            if depth == 0:
                return index
    return None


def _operand_start(tokens: Sequence[Token], end: int) -> int | None:
    """The first token of the operand ending at ``end``: primaries (names, constants,
    calls, parenthesised expressions) with subscripts and casts, joined by operators that
    bind tighter than BETWEEN."""
    at = end
    while True:
        token = tokens[at]
        if token.upper == "END" and token.kind == "keyword":
            case = _case_of(tokens, at)
            if case is None:
                return None
            at = case
        elif token.text in syntax.CLOSE:
            opening = _opening(tokens, at)
            if opening is None:
                return None
            at = opening
            if token.text == "]":
                at -= 1
                if at < 0:
                    return None
                continue  # the subscripted primary
            if at > 0 and syntax.is_name(tokens[at - 1]) and tokens[at - 1].upper not in (
                    "AND", "OR", "NOT", "BETWEEN", "WHERE", "WHEN", "THEN", "ELSE", "ON",
                    "SELECT", "HAVING", "IN"):
                at = syntax.qualified_start(tokens, at - 1)
        elif (cast := _cast_before(tokens, at)) is not None:
            at = cast - 1  # a cast: the type name, then the operand it applies to
            if at < 0:
                return None
            continue
        elif _primary(token):
            if token.kind == "string_const" and at > 0 and tokens[at - 1].kind in (
                    "identifier", "keyword") and tokens[at - 1].upper not in (
                    "AND", "OR", "NOT", "WHERE", "WHEN", "THEN", "ELSE", "SELECT", "ON"):
                at -= 1  # a typed literal: DATE '2024-01-01'
            while at >= 2 and tokens[at - 1].text == "." and syntax.is_name(tokens[at - 2]):
                at -= 2
        else:
            return None
        if at == 0:
            return at
        before = tokens[at - 1]
        if before.text == "::":
            return None
        if before.kind == "operator" and before.text in _ARITHMETIC:
            if at >= 2 and _ends_operand(tokens[at - 2]):
                at -= 2
                continue
            return at - 1  # a sign
        return at


def _case_of(tokens: Sequence[Token], end: int) -> int | None:
    """The CASE that the END at ``end`` closes."""
    depth = 0
    for index in range(end, -1, -1):
        if tokens[index].kind != "keyword":
            continue
        if tokens[index].upper == "END":
            depth += 1
        elif tokens[index].upper == "CASE":
            depth -= 1
            if depth == 0:
                return index
    return None


def _end_of(tokens: Sequence[Token], case: int) -> int | None:
    """The END closing the CASE at ``case``."""
    depth = 0
    for index in range(case, len(tokens)):
        if tokens[index].kind != "keyword":
            continue
        if tokens[index].upper == "CASE":
            depth += 1
        elif tokens[index].upper == "END":
            depth -= 1
            if depth == 0:
                return index
    return None


def _cast_before(tokens: Sequence[Token], last: int) -> int | None:
    """The ``::`` of a cast whose type name (maybe of several words: double precision,
    timestamp with time zone) ends at ``last``, if one does."""
    for colons in range(last - 1, max(last - 6, 0) - 1, -1):
        if tokens[colons].text == "::":
            written = type_names.written(tokens, colons + 1)
            return colons if written is not None and written[1] == last else None
    return None


def _ends_operand(token: Token) -> bool:
    return _primary(token) or token.text in syntax.CLOSE or (
        token.kind == "keyword" and token.upper not in (
            "AND", "OR", "NOT", "WHERE", "WHEN", "THEN", "ELSE", "SELECT", "ON", "BETWEEN",
            "SYMMETRIC", "IN", "IS", "LIKE", "HAVING"))


def _operand_end(tokens: Sequence[Token], at: int) -> int | None:
    """The last token of the operand starting at ``at`` (see _operand_start)."""
    while True:
        if at >= len(tokens):
            return None
        while tokens[at].text in ("-", "+") and at + 1 < len(tokens):
            at += 1  # signs
        token = tokens[at]
        if token.upper == "CASE" and token.kind == "keyword":
            last = _end_of(tokens, at)
        elif token.text == "(":
            last = syntax.closing(tokens, at)
        elif syntax.is_name(token) and at + 1 < len(tokens) and tokens[at + 1].text == "(":
            last = syntax.closing(tokens, at + 1)
        elif _primary(token) or syntax.is_name(token):
            last = at
            if at + 1 < len(tokens) and tokens[at + 1].kind == "string_const":
                last = at + 1  # a typed literal
            while last + 2 < len(tokens) and tokens[last + 1].text == "." and syntax.is_name(
                    tokens[last + 2]):
                last += 2
        else:
            return None
        if last is None:
            return None
        while last + 1 < len(tokens):
            following = tokens[last + 1].text
            if following == "[":
                depth = 0
                for close in range(last + 1, len(tokens)):
                    depth += {"[": 1, "]": -1}.get(tokens[close].text, 0)
                    if depth == 0:
                        break
                if depth != 0:
                    return None
                last = close
            elif following == "::" and last + 2 < len(tokens):
                written = type_names.written(tokens, last + 2)
                if written is None:
                    return None
                last = written[1]  # the whole type name: double precision, varchar(3)[]
            else:
                break
        if last + 1 < len(tokens) and tokens[last + 1].kind == "operator" and tokens[
                last + 1].text in _ARITHMETIC:
            at = last + 2
            continue
        return last


_WANTED = re.compile(r"symmetric", re.IGNORECASE)

RULES: tuple[Rule, ...] = (
    Rule("BETWEEN SYMMETRIC", _edits, lambda sql: _WANTED.search(sql) is not None),
)
