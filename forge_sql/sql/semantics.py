"""PostgreSQL value semantics DuckDB computes otherwise, as rules of the rewrite pass (slot
``semantics``; a session with ``forge.semantics = 'duckdb'`` runs without them).

- ``a / b``: PostgreSQL's ``/`` on integers truncates toward zero and keeps the integer
  type (``7 / 2`` = 3, ``-7 / 2`` = -3); DuckDB's is float division. DuckDB's ``//`` is
  PostgreSQL's ``/`` (on floats and decimals it divides as ``/`` does), so the operator is
  respelled. The respelling lives in the statement's text, so a view or macro a client
  creates keeps PostgreSQL's meaning whoever reads it later. ``//`` has no ``interval``
  overload: the engine adds one (forge_sql.engine.semantic_functions).
- ``a / 0``, ``a % 0``, ``mod(a, 0)``: PostgreSQL raises 22012, DuckDB gives NULL; a divisor
  that may be zero and whose extent the tokens show is wrapped in ``forge_divisor``.
- ``format('%s ...', ...)``: PostgreSQL's format string (forge_sql.sql.format_string).
- ``x SIMILAR TO 'p'``: SQL's pattern language, not a regular expression
  (forge_sql.sql.similar_to).
- ``avg``, ``stddev``, ``variance`` of integers and numeric are numeric, ``sum`` of
  integers bigint (forge_sql.sql.aggregate_types).
- ``position(a IN b)`` and ``ntile(n) OVER (...)`` are integer (int4) in PostgreSQL, BIGINT in
  DuckDB: the call is cast. (Functions called by name get the same from macros of the
  catalog schema, forge_sql.catalog.builtins; these two are syntax a macro cannot hide.)
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from forge_sql.sql import aggregate_types, format_string, operands, similar_to, syntax
from forge_sql.sql.rewrite import Edit, Rule, Source
from forge_sql.sql.tokens import Token

# What a divisor is wrapped in: PostgreSQL raises 22012 where DuckDB's / and % give NULL
# (a macro of the catalog schema, forge_sql.engine.semantic_functions).
DIVISOR = "forge_divisor"


def _division_edits(source: Source) -> Iterator[Edit]:
    tokens = source.tokens
    for index, token in enumerate(tokens):
        if token.kind != "operator" or token.text not in ("/", "%"):
            continue
        if token.text == "/":
            yield Edit(token.start, token.end, "//")
        divisor = _divisor(tokens, index + 1)
        if divisor is not None:
            yield from _checked(tokens, *divisor)


def _checked(tokens: Sequence[Token], first: int, last: int) -> Iterator[Edit]:
    """Tokens ``first`` to ``last`` wrapped in the zero check (around inner edits)."""
    yield Edit(tokens[first].start, tokens[first].start, f"{DIVISOR}(", -3)
    yield Edit(tokens[last].end, tokens[last].end, ")", 3)


def _mod_edits(source: Source) -> Iterator[Edit]:
    """``mod(a, b)``: the divisor checked as for ``%``."""
    tokens = source.tokens
    for index, token in enumerate(tokens):
        if not (syntax.is_name(token) and syntax.name(token) == "mod"
                and syntax.called(tokens, index)):
            continue
        close = syntax.closing(tokens, index + 1)
        arguments = operands.arguments(tokens, index + 1, close) if close is not None else []
        if len(arguments) != 2:
            continue
        first, last = arguments[1]
        divisor = _divisor(tokens, first)
        if divisor is not None and divisor[1] == last:
            yield from _checked(tokens, *divisor)


def _divisor(tokens: Sequence[Token], at: int) -> tuple[int, int] | None:
    """(first, last) token of the divisor starting at ``at`` when it may be zero and its
    extent is certain: a signed primary expression not followed by ``^`` (which binds
    tighter than ``/``); None for a non-zero number, or what cannot be delimited."""
    first = at
    while at < len(tokens) and tokens[at].text in ("-", "+"):
        at += 1
    if at >= len(tokens):
        return None
    token = tokens[at]
    if token.kind == "numeric_const":
        try:
            if float(token.text.replace("_", "")) != 0:
                return None
        except ValueError:
            return None
        last: int | None = at
    elif token.kind == "operator" and token.text.startswith("$"):
        return None  # a parameter: its type would be inferred from the check, not the /
    elif token.kind == "string_const" and not (
        at + 1 < len(tokens) and tokens[at + 1].text == "::"
    ):
        return None  # an untyped literal takes the dividend's type only as an operand
    else:
        last = operands.operand_end(tokens, at)
    if last is None:
        return None
    last = operands.type_end(tokens, last)
    if last + 1 < len(tokens) and not operands.ends_operand(tokens[last + 1]):
        return None
    return first, last


def _integer_edits(source: Source) -> Iterator[Edit]:
    """``position(...)`` and ``ntile(...) OVER window`` wrapped in a cast to INTEGER."""
    tokens = source.tokens
    for index, token in enumerate(tokens):
        if not (syntax.is_name(token) and syntax.name(token) in _INTEGER_CALLS
                and syntax.called(tokens, index)):
            continue
        last = syntax.closing(tokens, index + 1)
        if last is None:
            continue
        if syntax.name(token) == "ntile":
            if last + 2 >= len(tokens) or tokens[last + 1].upper != "OVER":
                continue
            last = (syntax.closing(tokens, last + 2) if tokens[last + 2].text == "("
                    else last + 2 if syntax.is_name(tokens[last + 2]) else None)
            if last is None:
                continue
        yield Edit(token.start, token.start, "CAST(", -4)
        yield Edit(tokens[last].end, tokens[last].end, " AS INTEGER)", 4)


_INTEGER_CALLS = frozenset({"position", "ntile"})
_INTEGER_WANTED = re.compile(r"position\s*\(|ntile\s*\(", re.IGNORECASE)
_MOD_WANTED = re.compile(r"mod\s*\(", re.IGNORECASE)

RULES: tuple[Rule, ...] = (
    Rule("division", _division_edits, lambda sql: "/" in sql or "%" in sql),
    Rule("mod", _mod_edits, lambda sql: _MOD_WANTED.search(sql) is not None),
    Rule("integer results", _integer_edits,
         lambda sql: _INTEGER_WANTED.search(sql) is not None),
    *format_string.RULES,
    *similar_to.RULES,
    *aggregate_types.RULES,
)
