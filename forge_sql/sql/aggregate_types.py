"""The result types PostgreSQL gives aggregates of numbers, as a rule of the ``semantics``
slot (PostgreSQL 15 docs, "Aggregate Functions", Table 9.58 and 9.59).

- ``avg``, ``stddev``, ``variance`` and their ``_samp`` / ``_pop`` forms of an integer or a
  numeric are numeric (of float4 or float8: float8); DuckDB computes them all as DOUBLE.
- ``sum`` of smallint or integer is bigint, of bigint or numeric numeric; DuckDB's is
  HUGEINT for every integer.

The call is wrapped in DuckDB's ``cast_to_type(call, marker)``, which casts to the type of
``marker`` without computing it: an expression over the same argument whose type DuckDB
derives as PostgreSQL's result type (``any_value(x)`` or ``sum(x)`` inside an aggregate
query; DuckDB's optimizer drops the unused aggregate, so the rows cost nothing more). The
argument is written twice, so only arguments no other rewrite rule changes are taken:
columns, constants, casts, arithmetic, comparisons, CASE and calls of functions that no rule
renames or wraps.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from forge_sql.seam.numeric import DUCKDB_TYPE
from forge_sql.sql import operands, syntax
from forge_sql.sql.rewrite import Edit, Rule, Source
from forge_sql.sql.tokens import Token

# Numeric for integers and numeric, float8 for floats: DuckDB's sum of the argument is
# HUGEINT, DECIMAL(38,s) or DOUBLE, and subtracting a DECIMAL(38,10) gives DECIMAL(38,10)
# for the first two and keeps DOUBLE.
_NUMERIC = ("sum({0}) - 0::" + DUCKDB_TYPE, "({0}) - 0::" + DUCKDB_TYPE)
# avg also takes intervals (which have no sum in DuckDB): a product with a DECIMAL(38,10)
# is DECIMAL(38, 10 or more) for integers and numeric, DOUBLE for float8 and an interval
# for an interval; but real for real, where PostgreSQL's avg is float8.
_AVG = ("any_value({0}) * 1::" + DUCKDB_TYPE, "({0}) * 1::" + DUCKDB_TYPE)
# bigint for smallint and integer, numeric (HUGEINT, DECIMAL(38,s)) for bigint and numeric,
# the float itself for floats: DuckDB's common type with UHUGEINT is one integer type wider
# (SMALLINT, INTEGER, BIGINT, HUGEINT) and DECIMAL(38,s) for DECIMAL(p,s); that with
# UINTEGER is BIGINT for the narrower integers.
# In an aggregate query the marker is the macro sum_type: the expression above, or
# any_value(x) for an interval (whose sum is sum_fields, below); both are made on each
# session's connection (forge_sql.engine.semantic_functions).
SUM_TYPE = "sum_type"
_SUM = (
    SUM_TYPE + "({0})",
    "coalesce(coalesce({0}, NULL::UHUGEINT), NULL::UINTEGER)",
)
# sum(x) without DISTINCT, ORDER BY, FILTER or OVER (which DuckDB refuses on a macro) calls
# this macro: PostgreSQL's sum of intervals, DuckDB's sum otherwise.
SUM_FIELDS = "sum_fields"
# (marker in an aggregate query, marker in a window function) by function.
_MARKERS = {
    "avg": _AVG, "stddev": _NUMERIC, "stddev_samp": _NUMERIC, "stddev_pop": _NUMERIC,
    "variance": _NUMERIC, "var_samp": _NUMERIC, "var_pop": _NUMERIC, "sum": _SUM,
}
_WANTED = re.compile(r"\b(avg|sum|stddev\w*|var_samp|var_pop|variance)\s*\(", re.IGNORECASE)
_COPIED_OPERATORS = frozenset({".", "::", "+", "-", "*", "(", ")", ",", "[", "]", "=", "<",
                               ">", "<=", ">=", "<>", "!="})
# Words whose text another rule of the pass rewrites (LIKE's pattern, BETWEEN SYMMETRIC,
# SIMILAR TO) or that start a query or clause the copy would not stand in.
_NOT_COPIED = frozenset({"SELECT", "ORDER", "DISTINCT", "ALL", "FILTER", "OVER", "WITHIN",
                         "LIKE", "ILIKE", "SIMILAR", "ESCAPE", "SYMMETRIC"})
# Functions another rule renames or casts (and the aggregates this rule casts itself).
_NOT_COPIED_CALLS = frozenset({"position", "ntile", "format", "json_build_object",
                               "jsonb_build_object", "json_build_array", "jsonb_build_array",
                               "json_agg", "jsonb_agg"})
_BARE_NUMERIC = frozenset({"NUMERIC", "DECIMAL"})


def _edits(source: Source) -> Iterator[Edit]:
    tokens = source.tokens
    for index, token in enumerate(tokens):
        if not (syntax.is_name(token) and syntax.called(tokens, index)):
            continue
        markers = _MARKERS.get(syntax.name(token))
        if markers is None:
            continue
        close = syntax.closing(tokens, index + 1)
        if close is None:
            continue
        first = index + 2
        if first < close and tokens[first].upper in ("DISTINCT", "ALL"):
            first += 1
        end, window = _call_end(tokens, close)
        if end is None:
            continue
        if syntax.name(token) == "sum" and _plain(tokens, index, close, end):
            yield Edit(token.start, token.end, SUM_FIELDS)
        argument = _copied(source, first, close)
        if argument is None:
            continue
        marker = markers[1 if window else 0].format(argument)
        yield Edit(token.start, token.start, "cast_to_type(", -2)
        yield Edit(tokens[end].end, tokens[end].end, f", {marker})", 2)


def _plain(tokens: Sequence[Token], index: int, close: int, end: int) -> bool:
    """The call at ``index`` (arguments closing at ``close``, clauses ending at ``end``) is
    a bare aggregate call of one argument: unqualified, no DISTINCT, no ORDER BY, FILTER or
    OVER, no placeholder."""
    if end != close or (index >= 1 and tokens[index - 1].text == "."):
        return False
    if tokens[index + 2].upper in ("DISTINCT", "ALL"):
        return False
    depth = 0
    for at in range(index + 2, close):
        depth += {"(": 1, ")": -1}.get(tokens[at].text, 0)
        if depth == 0 and (tokens[at].upper == "ORDER" or tokens[at].text == ","):
            return False
        if tokens[at].text.startswith("$"):
            return False  # a placeholder's type is not known when the macro's overload is
    return True


def _call_end(tokens: Sequence[Token], close: int) -> tuple[int | None, bool]:
    """The last token of the call whose argument list closes at ``close`` (past FILTER
    (...) and OVER (...) / OVER name), and whether it is a window function."""
    end = close
    if end + 2 < len(tokens) and tokens[end + 1].upper == "FILTER":
        filtered = syntax.closing(tokens, end + 2)
        if filtered is None:
            return None, False
        end = filtered
    if end + 1 < len(tokens) and tokens[end + 1].upper == "OVER":
        if end + 2 >= len(tokens):
            return None, True
        window = tokens[end + 2]
        if window.text == "(":
            return syntax.closing(tokens, end + 2), True
        return (end + 2 if syntax.is_name(window) else None), True
    return end, False


def _copied(source: Source, first: int, close: int) -> str | None:
    """The argument's text (tokens ``first`` to before ``close``) when it is a single
    expression that no other rule of the pass rewrites, with a bare numeric spelled as the
    numeric rule spells it; None otherwise."""
    tokens = source.tokens
    if first >= close:
        return None
    depth = 0
    pieces: list[str] = []
    for at in range(first, close):
        token = tokens[at]
        if token.kind == "operator":
            if token.text not in _COPIED_OPERATORS:
                return None
            if token.text == "," and depth == 0:
                return None  # several arguments
            depth += {"(": 1, ")": -1}.get(token.text, 0)
        elif token.kind == "string_const":
            # '{1,2}' (an array literal) and '\x01' (bytea) are respelled by other rules.
            if not operands.plain_string(token) or token.text.startswith("'{") or (
                "\\" in token.text
            ):
                return None
        elif (token.kind not in ("identifier", "keyword", "numeric_const")
              or token.upper in _NOT_COPIED or not _copied_name(tokens, at)):
            return None
        text = token.text
        if token.upper in _BARE_NUMERIC and token.kind == "keyword" and not (
            at + 1 < len(tokens) and tokens[at + 1].text == "("
        ):
            text = DUCKDB_TYPE
        if pieces and tokens[at - 1].end < token.start:
            pieces.append(" ")
        pieces.append(text)
    return "".join(pieces)


def _copied_name(tokens: Sequence[Token], at: int) -> bool:
    """A name the catalog rule leaves alone (no pg_ or reg* name), and, called, a function
    no rule renames or casts, not qualified (a schema of the catalog)."""
    name = syntax.name(tokens[at])
    if name.startswith(("pg_", "reg")):
        return False
    if at + 1 < len(tokens) and tokens[at + 1].text == "(":
        qualified = at >= 1 and tokens[at - 1].text == "."
        return not qualified and name not in _NOT_COPIED_CALLS and name not in _MARKERS
    return True


RULES: tuple[Rule, ...] = (
    Rule("aggregate types", _edits, lambda sql: _WANTED.search(sql) is not None),
)
