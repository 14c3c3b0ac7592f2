"""Which string results PostgreSQL announces as varchar rather than text.

DuckDB has one string type, VARCHAR. PostgreSQL types a string expression by what it is:
a column declared varchar (every VARCHAR column of the lake, as pg_attribute reports it) and
a cast to varchar(n) are varchar (1043, with the length as typmod); functions, operators
and literals are text (25); COALESCE, CASE, UNION and subscripts take their first typed
input's type (PostgreSQL's select_common_type keeps the first of two string types, since
each converts implicitly to the other). Arrays likewise: varchar[] (1015) or text[] (1009).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from forge_sql.sql import syntax
from forge_sql.sql.tokens import Token, tokenize
from forge_sql.sql.types import TEXT_TYPMOD as TEXT

# Functions whose result has their first typed argument's type.
# (min, max and nullif are declared on text: a varchar argument gives text.)
_PASSING = {"greatest", "least", "array_agg", "list"}
_NO_LOCATION = 2**63
_VARCHAR_NAMES = ("VARCHAR", "CHARACTER VARYING", "CHAR VARYING")


def varchar_typmods(sql: str, branches: list[list[dict[str, Any]]]) -> list[int]:
    """For each column of a query whose SELECTs have the select lists ``branches``: its
    varchar typmod (-1 without a length) if PostgreSQL would type it varchar, else TEXT."""
    tokens: tuple[Token, ...] | None = None

    def cast_typmod(location: int) -> int:
        nonlocal tokens
        if tokens is None:
            tokens = tokenize(sql)
        return _cast_typmod(sql, tokens, location)

    if not branches:
        return []
    width = len(branches[0])
    if any(len(branch) != width for branch in branches):
        branches = branches[:1]
    return [_first([branch[i] for branch in branches], cast_typmod) for i in range(width)]


def _typmod(entry: dict[str, Any], cast_typmod: Any) -> int:
    kind, expression = entry.get("class"), entry.get("type")
    if kind == "COLUMN_REF":
        return -1
    if kind == "CAST":
        location = int(entry.get("query_location", _NO_LOCATION))
        if location >= _NO_LOCATION:
            # A cast the parser made itself (a literal's): typed by what it casts.
            return _typmod(entry.get("child") or {}, cast_typmod)
        return int(cast_typmod(location))
    if expression in ("OPERATOR_COALESCE", "ARRAY_CONSTRUCTOR"):
        return _first(entry.get("children") or [], cast_typmod)
    if expression == "ARRAY_EXTRACT":
        return _typmod((entry.get("children") or [{}])[0], cast_typmod)
    if kind == "CASE":
        branches = [c.get("then_expr") or {} for c in entry.get("case_checks") or []]
        return _first([*branches, entry.get("else_expr") or {}], cast_typmod)
    if kind in ("FUNCTION", "AGGREGATE") and str(entry.get("function_name", "")).lower() in (
        _PASSING
    ):
        return _first(entry.get("children") or [], cast_typmod)
    if kind == "SUBQUERY" and entry.get("subquery_type") == "SCALAR":
        node = (entry.get("subquery") or {}).get("node") or {}
        entries = select_lists(node)
        if entries and entries[0]:
            return _first([branch[0] for branch in entries], cast_typmod)
    return TEXT


def _first(children: list[dict[str, Any]], cast_typmod: Any) -> int:
    """The type of the first input that is not a constant (a literal is unknown in
    PostgreSQL and takes the others' type); text when all are constants."""
    for child in children:
        if child.get("class") == "CONSTANT":
            continue
        return _typmod(child, cast_typmod)
    return TEXT


def select_lists(node: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """The select lists of a query, one per SELECT of a UNION/INTERSECT/EXCEPT, in order."""
    if node.get("type") == "SET_OPERATION_NODE":
        return select_lists(node.get("left") or {}) + select_lists(node.get("right") or {})
    if node.get("type") != "SELECT_NODE":
        return []
    return [list(node.get("select_list") or [])]


def _cast_typmod(sql: str, tokens: tuple[Token, ...], location: int) -> int:
    """The typmod of a cast to varchar / varchar(n) at ``location`` (DuckDB's byte offset of
    ``::`` or of ``CAST``), or TEXT if the cast names another type."""
    start = cast_type_start(sql, tokens, location)
    return TEXT if start is None else _type_typmod(tokens, start)


def located(sql: str, tokens: Sequence[Token], location: int) -> int | None:
    """Index of the token at DuckDB's ``query_location`` (a byte offset) in ``sql``."""
    if not sql.isascii():
        location = len(sql.encode()[:location].decode(errors="ignore"))
    return next((i for i, t in enumerate(tokens) if t.start == location), None)


def cast_type_start(sql: str, tokens: Sequence[Token], location: int) -> int | None:
    """Index of the first token of the type of the cast at ``location`` (DuckDB's offset of
    ``::`` or of ``CAST``)."""
    index = located(sql, tokens, location)
    if index is None:
        return None
    if tokens[index].text == "::":
        return index + 1
    parts = syntax.cast_parts(tokens, index)
    return None if parts is None else parts[0] + 1


def _type_typmod(tokens: tuple[Token, ...], at: int) -> int:
    """``varchar``, ``pg_catalog.varchar``, ``character varying(n)`` at ``tokens[at]``."""
    words = [t.upper.strip('"') for t in tokens[at : at + 5]]
    if words[:2] == ["PG_CATALOG", "."]:
        at += 2
        words = words[2:]
    for name in _VARCHAR_NAMES:
        parts = name.split()
        if words[: len(parts)] == parts:
            after = at + len(parts)
            if (
                after + 2 < len(tokens)
                and tokens[after].text == "("
                and tokens[after + 1].text.isdigit()
                and tokens[after + 2].text == ")"
            ):
                return int(tokens[after + 1].text) + 4  # VARHDRSZ, as atttypmod
            return -1
    return TEXT
