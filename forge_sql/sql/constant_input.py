"""String constants cast to a type: ``'abc'::int4``, ``CAST('x' AS date)``, ``DATE 'x'``.

PostgreSQL converts such a constant while it analyses the statement (coerce_type of an
unknown literal, parser/parse_coerce.c), so malformed input is an error of Parse; DuckDB
converts it when the statement runs. ``check_queries`` gathers the constants of a statement
into a ``SELECT`` the engine runs while it plans (forge_sql.engine.plans), so that the
error arrives at Parse as in PostgreSQL. Only types whose input DuckDB reads as PostgreSQL
does (the casts the rewrite leaves to DuckDB) are taken, and no typmod.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from forge_sql.sql import operands, syntax
from forge_sql.sql.tokens import Token

# PostgreSQL's names of the types taken, one word each.
_TYPES = frozenset({
    "int2", "int4", "int8", "smallint", "integer", "int", "bigint", "bool", "boolean",
    "uuid", "date", "timestamp", "timestamptz", "float4", "float8", "real", "json", "interval",
    "time", "numeric", "decimal",
})
# Multi-word names: (first word, the words after it).
_LONG_TYPES = {
    "double": ("precision",),
    "timestamp": ("with", "time", "zone"),
}
# ``TYPE 'literal'`` (a typed constant) for these only: other words before a string are
# not types (INTERVAL '1' DAY has a field after it, and is left alone).
_TYPED_CONSTANTS = frozenset({"date", "timestamp", "timestamptz", "bool", "boolean", "uuid",
                              "int2", "int4", "int8", "integer", "bigint", "smallint", "json"})
WANTED = re.compile(r"'\s*(::|\)|AS\b)|\b(DATE|TIMESTAMP|TIMESTAMPTZ|BOOL|BOOLEAN|UUID|INT\w*|"
                    r"BIGINT|SMALLINT|JSON)\s+'", re.IGNORECASE)


def check_queries(tokens: Sequence[Token]) -> tuple[str, str] | None:
    """For the statement's cast string constants: a query answering whether any of them
    fails to convert, without raising (``TRY_CAST``: an error would abort the client's
    transaction block), and the query that raises the conversion error; None when the
    statement has none."""
    found = constants(tokens)
    if not found:
        return None
    tried = " OR ".join(f"TRY_CAST({literal} AS {kind}) IS NULL" for literal, kind in found)
    casts = ", ".join(f"CAST({literal} AS {kind})" for literal, kind in found)
    return f"SELECT {tried}", f"SELECT {casts}"


def constants(tokens: Sequence[Token]) -> list[tuple[str, str]]:
    """(string constant, type name) of each cast of a string constant to a taken type."""
    found: list[tuple[str, str]] = []
    for index, token in enumerate(tokens):
        if not operands.plain_string(token):
            continue
        before = tokens[index - 1] if index >= 1 else None
        after = tokens[index + 1] if index + 1 < len(tokens) else None
        kind: str | None = None
        if after is not None and after.text == "::":
            kind = _type_at(tokens, index + 2, ("::", ",", ")", ";"))
        elif (after is not None and after.upper == "AS" and before is not None
              and before.text == "(" and index >= 2 and tokens[index - 2].upper == "CAST"):
            kind = _type_at(tokens, index + 2, (")",))
        elif (before is not None and syntax.is_name(before)
              and syntax.name(before) in _TYPED_CONSTANTS
              and (index < 2 or tokens[index - 2].text not in (".", "::"))
              and not (after is not None and syntax.is_name(after)
                       and after.upper not in _CLAUSE_WORDS)):
            kind = syntax.name(before)
        if kind is not None:
            found.append((token.text, kind))
    return found


# Words that may follow an expression (a typed constant is not followed by a field name).
_CLAUSE_WORDS = frozenset({
    "FROM", "WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "OFFSET", "UNION", "INTERSECT",
    "EXCEPT", "AND", "OR", "AS", "THEN", "ELSE", "END", "WHEN", "IS", "NOT", "IN", "BETWEEN",
    "LIKE", "ILIKE", "ASC", "DESC", "NULLS", "RETURNING", "ON", "JOIN", "USING", "WINDOW",
    "FETCH", "FOR", "INTO", "SET", "VALUES",
})


def _type_at(tokens: Sequence[Token], at: int, ends: tuple[str, ...]) -> str | None:
    """The taken type name at ``at`` (maybe ``pg_catalog.``-qualified, maybe of several
    words) when the expression's text ends after it (a token of ``ends``, an operator, a
    clause word or the end), else None (a typmod, an array, another type)."""
    if at + 2 < len(tokens) and tokens[at + 1].text == "." and syntax.name(
            tokens[at]) == "pg_catalog":
        at += 2
    if at >= len(tokens) or not syntax.is_name(tokens[at]):
        return None
    name = syntax.name(tokens[at])
    last = at
    words = _LONG_TYPES.get(name)
    if words is not None and [syntax.name(t) for t in tokens[at + 1: at + 1 + len(words)]] == [
            *words]:
        name = " ".join((name, *words))
        last = at + len(words)
    elif name not in _TYPES:
        return None
    following = tokens[last + 1] if last + 1 < len(tokens) else None
    if following is None or following.text in ends or following.upper in _CLAUSE_WORDS:
        return name
    if following.kind == "operator" and following.text not in ("(", "[", "."):
        return name
    return None
