"""Result column names as PostgreSQL gives them to select-list expressions without an alias.

DuckDB names such a column after the expression's text (``count_star()``, ``(a + b)``,
``CAST(x AS INTEGER)``); PostgreSQL after the function, column or type (``count``,
``?column?``, ``x``), and clients show those names or look columns up by them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from typing import Any

from forge_sql.engine import column_types
from forge_sql.seam.backend import Column
from forge_sql.sql import parse_tree, type_names
from forge_sql.sql.tokens import Token, tokenize
from forge_sql.sql.types import TEXT_TYPMOD, column, is_string

UNNAMED = "?column?"
# Names DuckDB gives plain columns and aliases: nothing to rename.
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
# PostgreSQL's name (typname) of the types a cast can name a column after.
_TYPE_NAMES = {
    "BOOLEAN": "bool", "TINYINT": "int2", "SMALLINT": "int2", "INTEGER": "int4",
    "BIGINT": "int8", "HUGEINT": "numeric", "UTINYINT": "int2", "USMALLINT": "int4",
    "UINTEGER": "int8", "UBIGINT": "numeric", "FLOAT": "float4", "DOUBLE": "float8",
    "DECIMAL": "numeric", "VARCHAR": "text", "BLOB": "bytea", "DATE": "date",
    "TIME": "time", "TIMESTAMP": "timestamp", "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "TIMESTAMP_TZ": "timestamptz", "INTERVAL": "interval", "UUID": "uuid", "JSON": "json",
}
# DuckDB's names for functions PostgreSQL names otherwise: in general, and where DuckDB's
# parser wrote the call for special syntax (it qualifies those with schema "main").
# between_symmetric is how forge_sql.sql.between spells x BETWEEN SYMMETRIC a AND b.
_FUNCTION_NAMES = {"count_star": "count", "regexp_full_match": UNNAMED,
                   "between_symmetric": UNNAMED}
_SYNTAX_NAMES = {"date_part": "extract", "trim": "btrim", "printf": "format"}  # sql.semantics
_TYPED_AS = "cast_to_type"
# The catalog rewrite's spelling of casts to OID alias types (forge_sql.catalog.regtypes),
# with the type a cast of a constant is named after.
_OID_ALIAS_CASTS = {
    **{kind: kind for kind in ("regclass", "regtype", "regnamespace", "regproc")},
    **{f"{kind}_name": "text" for kind in ("regclass", "regtype", "regnamespace")},
    **{f"{kind}_name_of": "text" for kind in ("regclass", "regtype", "regnamespace")},
    "regproc_name": "regproc", "regtype_names": "text",
}
# Expressions PostgreSQL names after a keyword.
_KEYWORD_NAMES = {
    "OPERATOR_COALESCE": "coalesce", "ARRAY_CONSTRUCTOR": "array",
    "OPERATOR_NULLIF": "nullif",
}

# A select list of constants only (``SELECT 1``, ``SELECT 'a', 2.5``): each is ?column?, no
# parse needed (the most common statement a pool or a health check sends).
_CONSTANTS = re.compile(
    r"\s*SELECT\s+(?:\d+(?:\.\d*)?|'[^'\\]*')(?:\s*,\s*(?:\d+(?:\.\d*)?|'[^'\\]*'))*\s*;?\s*",
    re.IGNORECASE,
)
_NO_LOCATION = 2**63  # DuckDB's query_location of nodes without a place in the text


def needed(names: Sequence[str]) -> bool:
    """Whether any name looks derived from an expression (so the statement is parsed)."""
    return any(not _PLAIN.match(name) for name in names)


def postgres_names(sql: str, names: Sequence[str]) -> list[str]:
    """``names`` (DuckDB's, one per result column of ``sql``) with each unaliased
    expression renamed as PostgreSQL names it; unchanged when the select list cannot be
    matched to the columns (several ``*``, not a SELECT)."""
    if not needed(names):
        return list(names)
    return _described(sql, names, False)[0]


def _described(sql: str, names: Sequence[str], strings: bool) -> tuple[list[str], list[int]]:
    """PostgreSQL's names and (``strings``) each column's varchar typmod or TEXT_TYPMOD
    (forge_sql.engine.column_types); -1 each where the select list cannot be matched."""
    plain = [-1] * len(names)
    if _CONSTANTS.fullmatch(sql):
        return [UNNAMED] * len(names) if needed(names) else list(names), [TEXT_TYPMOD] * len(
            names
        )
    select_list = _select_list(sql)
    if select_list is None:
        return list(names), plain
    stars = [i for i, e in enumerate(select_list) if e.get("class") == "STAR"]
    if len(stars) > 1:
        return list(names), plain
    widths = [1] * len(select_list)
    if stars:
        widths[stars[0]] = len(names) - (len(select_list) - 1)
    if min(widths, default=1) < 0 or sum(widths) != len(names):
        return list(names), plain
    typmods: list[int] = []
    values = _values_rows(sql) if strings and stars else None
    if values and len(select_list) == 1 and all(len(row) == len(names) for row in values):
        # VALUES (...), (...): each column typed as a UNION of the rows types it.
        typmods = column_types.varchar_typmods(sql, values)
    elif strings:
        computed = column_types.varchar_typmods(sql, _branches(sql))
        for entry, typmod, width in zip(select_list, computed, widths, strict=True):
            # A star's columns are the tables' (varchar, as pg_attribute says).
            typmods.extend([-1 if entry.get("class") == "STAR" else typmod] * width)
    renamed: list[str] = []
    text = _Text(sql)
    for entry, width in zip(select_list, widths, strict=True):
        start = len(renamed)
        if width == 1 and not entry.get("alias") and entry.get("class") != "STAR":
            renamed.append(_name(entry, text) or names[start])
        else:
            renamed.extend(names[start : start + width])
    if not needed(names):
        renamed = list(names)
    return renamed, typmods or plain


def result_columns(sql: str, described: Iterable[Sequence[Any]]) -> tuple[Column, ...]:
    """The columns of ``sql``'s result from DuckDB's description (name, type, ...), named as
    PostgreSQL names them and typed text or varchar as PostgreSQL types them."""
    return _columns(sql, tuple((str(d[0]), str(d[1])) for d in described))


@functools.lru_cache(maxsize=512)  # the same statements come again and again
def _columns(sql: str, pairs: tuple[tuple[str, str], ...]) -> tuple[Column, ...]:
    names = [name for name, _ in pairs]
    strings = any(is_string(kind) for _, kind in pairs)
    if not needed(names) and not strings:
        return tuple(column(name, kind) for name, kind in pairs)
    renamed, typmods = _described(sql, names, strings)
    return tuple(
        column(name, kind, typmod)
        for name, (_, kind), typmod in zip(renamed, pairs, typmods, strict=True)
    )


def _values_rows(sql: str) -> list[list[dict[str, Any]]] | None:
    """The rows of a VALUES list (DuckDB parses it as SELECT * FROM its rows), or None."""
    tree = _parse(sql) or {}
    source = tree.get("from_table") or {}
    if tree.get("type") != "SELECT_NODE" or source.get("type") != "EXPRESSION_LIST":
        return None
    return [list(row) for row in source.get("values") or []] or None


def _branches(sql: str) -> list[list[dict[str, Any]]]:
    """The select lists of each SELECT of a set operation (one for a plain SELECT)."""
    tree = _parse(sql)
    return column_types.select_lists(tree) if tree is not None else []


def _select_list(sql: str) -> list[dict[str, Any]] | None:
    tree = _parse(sql)
    if tree is None:
        return None
    select_list = _select_list_of(tree)
    return select_list or None


def _parse(sql: str) -> dict[str, Any] | None:
    """DuckDB's parse tree of a single SELECT (no binding, so no catalog), or None."""
    found = parse_tree.statements(sql)
    if not found or len(found) != 1:
        return None
    node: dict[str, Any] = found[0].get("node") or {}
    return node


class _Text:
    """The statement's tokens, made when a cast's type has to be read from them."""

    def __init__(self, sql: str) -> None:
        self.sql = sql
        self._tokens: tuple[Token, ...] | None = None

    @property
    def tokens(self) -> tuple[Token, ...]:
        if self._tokens is None:
            self._tokens = tokenize(self.sql)
        return self._tokens

    def cast_type(self, location: int) -> str | None:
        """PostgreSQL's name of the type of the cast DuckDB located at ``location``."""
        start = column_types.cast_type_start(self.sql, self.tokens, location)
        found = type_names.written(self.tokens, start) if start is not None else None
        return found[0] if found else None

    def literal_type(self, location: int) -> str | None:
        """The type written before the string constant at ``location`` (``DATE '...'``)."""
        index = column_types.located(self.sql, self.tokens, location)
        if index is None or self.tokens[index].kind != "string_const":
            return None
        return type_names.before_literal(self.tokens, index)


def _name(entry: dict[str, Any], text: _Text) -> str | None:
    """PostgreSQL's name for an unaliased expression; None keeps DuckDB's (a column)."""
    if entry.get("class") == "COLUMN_REF":
        return None
    return _figure(entry, text)[0] or UNNAMED


def _figure(entry: dict[str, Any], text: _Text) -> tuple[str | None, bool]:
    """(name, strong) as PostgreSQL's FigureColname works it out: a column, function or
    keyword gives a strong name, which a cast keeps; otherwise the cast's type names it."""
    kind, expression = entry.get("class"), entry.get("type")
    if entry.get("alias"):
        return str(entry["alias"]), True
    if kind == "COLUMN_REF":
        return str((entry.get("column_names") or [UNNAMED])[-1]), True
    if kind == "FUNCTION" and entry.get("function_name") == _TYPED_AS:
        # The result type of an aggregate made PostgreSQL's (forge_sql.sql.aggregate_types).
        return _figure((entry.get("children") or [{}])[0], text)
    if kind == "FUNCTION" and entry.get("function_name") in _OID_ALIAS_CASTS:
        # X::regtype(::text), which the catalog rewrite spells regtype_name(X): a cast.
        named, strong = _figure((entry.get("children") or [{}])[0], text)
        return (named, True) if strong else (_OID_ALIAS_CASTS[entry["function_name"]], False)
    if kind in ("FUNCTION", "WINDOW"):
        function = str(entry.get("function_name", "")).lower()
        if entry.get("schema") == "main":
            function = _SYNTAX_NAMES.get(function, function)
        function = _FUNCTION_NAMES.get(function, function)
        return (function, True) if _IDENTIFIER.match(function) else (UNNAMED, False)
    if kind == "CASE":
        # A CASE is named after its ELSE when that names itself (a column, a function),
        # else "case", which a cast around it overrides.
        named, strong = _figure(entry.get("else_expr") or {}, text)
        return (named, True) if strong else ("case", False)
    if expression in _KEYWORD_NAMES:
        return _KEYWORD_NAMES[expression], True
    if expression == "ARRAY_EXTRACT":
        # A subscript takes the name of what it subscripts: f(x)[1] is f.
        return _figure((entry.get("children") or [{}])[0], text)
    if kind == "CAST":
        child = entry.get("child") or {}
        inner, strong = _figure(child, text)
        if strong:
            return inner, True
        if entry.get("query_location", 0) >= _NO_LOCATION:
            # A cast the parser made up: a typed literal (DATE '...') is named after its
            # type, ``true`` ('t'::BOOLEAN) is not named.
            if child.get("class") == "CONSTANT" and child.get("query_location", _NO_LOCATION) < (
                _NO_LOCATION
            ):
                named = text.literal_type(int(child["query_location"]))
                if named is not None:
                    return named, False
            return inner, False
        named = text.cast_type(int(entry["query_location"]))
        if named is not None:
            return named, False
        cast_type = (entry.get("cast_type") or {}).get("id", "")
        return _TYPE_NAMES.get(str(cast_type), str(cast_type).lower() or UNNAMED), False
    if kind == "SUBQUERY":
        subquery = entry.get("subquery_type")
        if subquery == "EXISTS":
            return "exists", True
        if subquery == "SCALAR":
            inner_list = _select_list_of((entry.get("subquery") or {}).get("node") or {})
            if inner_list:
                return _figure(inner_list[0], text)[0] or UNNAMED, True
    return UNNAMED, False


def _select_list_of(node: dict[str, Any]) -> list[dict[str, Any]]:
    """The select list naming a query's columns: a UNION's is its first SELECT's."""
    while node.get("type") == "SET_OPERATION_NODE":
        node = node.get("left") or {}
    if node.get("type") != "SELECT_NODE":
        return []
    return list(node.get("select_list") or [])
