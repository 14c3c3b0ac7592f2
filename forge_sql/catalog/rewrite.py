"""Rewrite catalog SQL written for PostgreSQL into what the server.pgc emulation answers.

Works on DuckDB's tokens, so string literals and quoted identifiers are never touched:

- ``pg_catalog.X`` -> ``server.pgc.X`` for the X the emulation provides (catalog.PROVIDED);
  other pg_catalog objects stay DuckDB's own.
- ``X::regclass`` -> ``server.pgc.regclass(X)`` (the OID), ``X::regclass::text`` ->
  ``server.pgc.regclass_name(X)`` (the name); the same for regtype. DuckDB has no OID-alias
  types: a VARCHAR alias would parse ``'t'::regclass`` but could not turn into an OID.
- ``typreceive != 0`` (and the other regproc columns of pg_type, with ``=``/``<>``) ->
  ``typreceive != '-'``: those columns are text, and ``-`` is how PostgreSQL prints the
  zero regproc, so the comparison keeps its meaning while ``typreceive::text`` still works.
- asyncpg's type introspection query -> forge_sql.catalog.introspection.QUERY.
"""

from __future__ import annotations

from collections.abc import Sequence

from forge_sql.catalog import PROVIDED, SCHEMA, introspection
from forge_sql.engine.statements import Statement, Token, tokenize

_REG_TYPES = {"regclass", "regtype"}
_TEXT_TYPES = {"text", "varchar", "name"}
_REGPROC_COLUMNS = {
    "typinput",
    "typoutput",
    "typreceive",
    "typsend",
    "typmodin",
    "typmodout",
    "typanalyze",
    "typsubscript",
}
_EQUALITY = {"=", "!=", "<>"}
# Keywords that DuckDB's lexer reports for what reads as a function call.
_FUNCTION_KEYWORDS = {
    "coalesce",
    "nullif",
    "cast",
    "left",
    "right",
    "trim",
    "substring",
    "position",
    "extract",
    "overlay",
    "greatest",
    "least",
    "row",
    "array",
}
_OPEN = {"(", "["}
_CLOSE = {")": "(", "]": "["}


def needed(sql: str) -> bool:
    """Cheap pre-check for the session's hot path: only catalog SQL pays for tokenizing."""
    return "pg_catalog" in sql or "::reg" in sql or "::REG" in sql


def rewrite_statement(statement: Statement) -> Statement:
    """``statement`` with its SQL rewritten (the same object when nothing changes)."""
    sql = rewrite(statement.sql)
    if sql == statement.sql:
        return statement
    return Statement(sql, statement.kind, tokenize(sql), statement.offset)


def rewrite(sql: str) -> str:
    """``sql`` with the rewrites above applied (unchanged when none applies)."""
    tokens = [t for t in tokenize(sql) if t.kind != "comment"]
    if introspection.is_asyncpg_lookup(tokens):
        return introspection.QUERY
    edits: list[tuple[int, int, int, str]] = []  # (start, end, order, text)
    index = 0
    while index < len(tokens):
        token = tokens[index]
        cast = _reg_cast(tokens, index)
        if cast is not None:
            name, end_index, as_text = cast
            first = _operand_start(tokens, index - 1)
            if first is not None:
                function = f"{name}_name" if as_text else name
                # Nested casts open at the same place: the outer one (later ::) first.
                edits.append(
                    (tokens[first].start, tokens[first].start, -index, f"{SCHEMA}.{function}(")
                )
                edits.append((token.start, tokens[end_index].end, 0, ")"))
                index = end_index + 1
                continue
        if _is_pg_catalog_reference(tokens, index):
            edits.append((token.start, token.end, 0, SCHEMA))
        elif _is_regproc_zero(tokens, index):
            edits.append((token.start, token.end, 0, "'-'"))
        index += 1
    if not edits:
        return sql
    edits.sort(key=lambda e: (e[0], e[1] != e[0], e[2]))
    pieces: list[str] = []
    position = 0
    for start, end, _, text in edits:
        pieces.append(sql[position:start])
        pieces.append(text)
        position = end
    pieces.append(sql[position:])
    return "".join(pieces)


def _name(token: Token) -> str:
    """An identifier as PostgreSQL resolves it: quoted keeps case, unquoted folds."""
    text = token.text
    if text.startswith('"') and text.endswith('"') and len(text) > 1:
        return text[1:-1].replace('""', '"')
    return text.lower()


def _is_name(token: Token) -> bool:
    return token.kind in ("identifier", "keyword") and token.text not in ("::",)


def _is_pg_catalog_reference(tokens: Sequence[Token], index: int) -> bool:
    token = tokens[index]
    return (
        token.kind == "identifier"
        and _name(token) == "pg_catalog"
        and index + 2 < len(tokens)
        and tokens[index + 1].text == "."
        and _is_name(tokens[index + 2])
        and _name(tokens[index + 2]) in PROVIDED
        and (index == 0 or tokens[index - 1].text != ".")
    )


def _reg_cast(tokens: Sequence[Token], index: int) -> tuple[str, int, bool] | None:
    """At ``::``: (regclass|regtype, index of the cast's last token, followed by ::text)."""
    if tokens[index].text != "::" or index == 0:
        return None
    at = index + 1
    if at + 2 < len(tokens) and _name(tokens[at]) == "pg_catalog" and tokens[at + 1].text == ".":
        at += 2
    if at >= len(tokens) or not _is_name(tokens[at]) or _name(tokens[at]) not in _REG_TYPES:
        return None
    name = _name(tokens[at])
    if (
        at + 2 < len(tokens)
        and tokens[at + 1].text == "::"
        and _is_name(tokens[at + 2])
        and _name(tokens[at + 2]) in _TEXT_TYPES
    ):
        return name, at + 2, True
    return name, at, False


def _operand_start(tokens: Sequence[Token], last: int) -> int | None:
    """Index of the first token of the primary expression ending at ``last``."""
    token = tokens[last]
    if token.text in _CLOSE:
        depth = 0
        for index in range(last, -1, -1):
            text = tokens[index].text
            if text in _CLOSE:
                depth += 1
            elif text in _OPEN:
                depth -= 1
                if depth == 0:
                    # A function call: include its (possibly qualified) name.
                    before = tokens[index - 1] if index > 0 else None
                    if before is not None and before.kind == "identifier":
                        return _dotted_start(tokens, index - 1)
                    if before is not None and before.text.lower() in _FUNCTION_KEYWORDS:
                        return index - 1
                    return index
        return None
    if token.kind in ("string_const", "numeric_const"):
        return last
    if token.kind == "operator" and (token.text.startswith("$") or token.text == "?"):
        return last
    if token.kind == "identifier":
        return _dotted_start(tokens, last)
    return None


def _dotted_start(tokens: Sequence[Token], index: int) -> int:
    """Walk back over ``a.b.c``."""
    while index >= 2 and tokens[index - 1].text == "." and tokens[index - 2].kind == "identifier":
        index -= 2
    return index


def _is_regproc_zero(tokens: Sequence[Token], index: int) -> bool:
    """The ``0`` of ``typreceive != 0``."""
    return (
        index >= 2
        and tokens[index].kind == "numeric_const"
        and tokens[index].text == "0"
        and tokens[index - 1].text in _EQUALITY
        and tokens[index - 2].kind == "identifier"
        and _name(tokens[index - 2]) in _REGPROC_COLUMNS
    )
