"""YAML values that become SQL expressions, checked by DuckDB's own parser: exactly one
expression (a default, a check, a partition or sort key) and nothing around it.
"""

from __future__ import annotations

import functools
import json
import secrets
import threading
from collections.abc import Iterator
from enum import Enum
from typing import Any

import duckdb

from forge_sql.sql.duckdb_errors import translate

# Longer than any real default or check; keeps the parser's work per value small.
MAX_LENGTH = 4096

# SQL value functions that PostgreSQL and DuckDB spell without parentheses; DuckDB's
# parser reports them as column references, the binder as functions.
VALUE_FUNCTIONS = frozenset({
    "current_date", "current_time", "current_timestamp", "localtime", "localtimestamp",
    "current_user", "current_role", "session_user", "user", "current_catalog",
    "current_schema",
})

_parser_lock = threading.Lock()
_parser: duckdb.DuckDBPyConnection | None = None


class Kind(Enum):
    """Where the expression goes, as PostgreSQL names the clause."""

    DEFAULT = "DEFAULT"
    CHECK = "CHECK"
    PARTITION_KEY = "PARTITION BY"
    SORT_KEY = "SORTED BY"


class InvalidExpression(ValueError):
    """The value is not one acceptable expression; ``offset`` is where in the value, and
    ``index`` which item of a list of values it is."""

    def __init__(self, message: str, offset: int | None = None,
                 index: int | None = None) -> None:
        super().__init__(message)
        self.offset = offset
        self.index = index


def check(text: str, kind: Kind) -> str:
    """``text`` stripped, if DuckDB parses it as one expression fit for ``kind``;
    InvalidExpression otherwise. Nothing is executed."""
    return _checked(text.strip(), kind)


# Planning loads every earlier declaration again for each pending file: the same values
# are checked many times, and the answer depends on the text alone.
@functools.lru_cache(maxsize=4096)
def _checked(value: str, kind: Kind) -> str:
    if not value:
        raise InvalidExpression("empty: write an SQL expression")
    if len(value) > MAX_LENGTH:
        raise InvalidExpression(f"longer than {MAX_LENGTH} characters")
    prefix = "SELECT 1 ORDER BY " if kind is Kind.SORT_KEY else "SELECT "
    items = _items(_parse(prefix, value), kind)
    if len(items) != 1:
        raise InvalidExpression(f"not one SQL expression: {len(items)} of them (a ',')")
    # Again with an item after the value, on the same line, named so the value cannot
    # know it: a `--` comment, an unclosed quote or `/*` in the value would swallow the
    # SQL written after it, and here swallows the item, which shows.
    end = f"__forge_end_{secrets.token_hex(8)}"
    tail = f", {end}" if kind is Kind.SORT_KEY else f", 0 AS {end}"
    try:
        closed = _items(_parse(prefix, value + tail), kind)
    except InvalidExpression:
        closed = []
    if len(closed) != 2 or not _is_end(closed[1], kind, end):
        raise InvalidExpression(
            "not one SQL expression: a comment (-- or /*) or an unclosed quote would swallow "
            "the SQL written after it; write the value without comments")
    first = items[0]
    expression = first["expression"] if kind is Kind.SORT_KEY else first
    if kind is not Kind.SORT_KEY and first.get("alias"):
        raise InvalidExpression("not one SQL expression: it has an alias (AS ...)")
    for found in _nodes(expression):
        _allowed(found, kind, len(prefix))
    return value


def canonical(text: str) -> str | None:
    """The expression as DuckDB writes it back (``1+2`` -> ``(1 + 2)``), the form the
    catalog reports defaults in; None if it does not parse."""
    lock, con = parser()
    with lock:
        try:
            row = con.execute("SELECT json_deserialize_sql(json_serialize_sql($1))",
                              [f"SELECT {text}"]).fetchone()
        except duckdb.Error:
            return None
    return None if row is None else str(row[0]).removeprefix("SELECT ")


def parser() -> tuple[threading.Lock, duckdb.DuckDBPyConnection]:
    """The in-memory connection that parses values (and resolves type names), with the
    lock its users hold: it runs no statement of the user's, only the parser on them."""
    global _parser
    with _parser_lock:
        if _parser is None:
            _parser = duckdb.connect(":memory:")
    return _parser_lock, _parser


def _parse(prefix: str, value: str) -> dict[str, Any]:
    sql = prefix + value
    lock, con = parser()
    with lock:
        try:
            statements = con.extract_statements(sql)
        except duckdb.Error as exc:
            raise _parser_error(exc, sql, len(prefix)) from None
        if len(statements) != 1:
            raise InvalidExpression(
                f"not one SQL expression: it holds {len(statements)} statements (a ';')")
        if statements[0].type != duckdb.StatementType.SELECT:
            raise InvalidExpression("not one SQL expression")
        row = con.execute("SELECT json_serialize_sql($1)", [sql]).fetchone()
    assert row is not None
    try:
        tree = json.loads(row[0])
    except RecursionError:
        raise InvalidExpression("nested too deeply") from None
    if tree.get("error") or len(tree.get("statements", [])) != 1:
        raise InvalidExpression(str(tree.get("error_message") or "not one SQL expression"))
    node = tree["statements"][0]["node"]
    if node.get("type") != "SELECT_NODE":
        raise InvalidExpression("not one SQL expression: a query (UNION, VALUES, ...)")
    clauses = ("where_clause", "having", "qualify", "sample")
    if (node["from_table"].get("type") != "EMPTY" or any(node.get(c) for c in clauses)
            or node.get("group_expressions") or node["cte_map"]["map"]):
        raise InvalidExpression("not one SQL expression: a query (FROM, WHERE, WITH, ...)")
    return dict(node)


def _items(node: dict[str, Any], kind: Kind) -> list[dict[str, Any]]:
    modifiers = node.get("modifiers") or []
    if kind is not Kind.SORT_KEY:
        if modifiers:
            raise InvalidExpression("not one SQL expression: a query (ORDER BY, LIMIT, ...)")
        return list(node["select_list"])
    if len(modifiers) != 1 or modifiers[0].get("type") != "ORDER_MODIFIER":
        raise InvalidExpression("not one sort key: a query (LIMIT, DISTINCT, ...)")
    return list(modifiers[0]["orders"])


def _is_end(item: dict[str, Any], kind: Kind, end: str) -> bool:
    if kind is Kind.SORT_KEY:
        names = item.get("expression", {}).get("column_names")
        return bool(names == [end])
    return bool(item.get("alias") == end and item.get("class") == "CONSTANT")


def _nodes(tree: object) -> Iterator[dict[str, Any]]:
    """Every expression node of the tree (iteratively: deep trees are legal input)."""
    stack = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "class" in item:
                yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _allowed(node: dict[str, Any], kind: Kind, shift: int) -> None:
    where = node.get("query_location")
    offset = where - shift if isinstance(where, int) and 0 <= where - shift < MAX_LENGTH else None
    clause = kind.value
    category = node.get("class")
    # PostgreSQL refuses these in DEFAULT and CHECK expressions ("cannot use subquery in
    # check constraint"); a subquery is also how a value would read other tables.
    if category == "SUBQUERY":
        raise InvalidExpression(f"a subquery is not allowed in {clause}", offset)
    if category == "WINDOW":
        raise InvalidExpression(f"a window function is not allowed in {clause}", offset)
    if category == "PARAMETER":
        raise InvalidExpression(f"a parameter is not allowed in {clause}", offset)
    if category == "STAR":
        raise InvalidExpression(f"* is not allowed in {clause}", offset)
    if category == "COLUMN_REF" and kind is Kind.DEFAULT:
        names = node.get("column_names") or []
        if len(names) != 1 or str(names[0]).lower() not in VALUE_FUNCTIONS:
            raise InvalidExpression(
                f"cannot use column reference {'.'.join(map(str, names))} in DEFAULT "
                "(a string is written in single quotes: \"'text'\")", offset)


def _parser_error(exc: duckdb.Error, sql: str, shift: int) -> InvalidExpression:
    """The parser's message, and where in the value it points."""
    error = translate(exc, sql)
    offset = None if error.position is None else max(error.position - 1 - shift, 0)
    return InvalidExpression(f"not an SQL expression: {error.message}", offset)
