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
from forge_sql.engine.column_types import ResultType
from forge_sql.engine.result_sources import Scope
from forge_sql.seam import oids
from forge_sql.seam.backend import Column
from forge_sql.sql import aggregate_types, parse_tree, string_casts, type_names
from forge_sql.sql.tokens import Token, tokenize
from forge_sql.sql.types import column, is_string

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
                   "between_symmetric": UNNAMED, aggregate_types.SUM_FIELDS: "sum"}
_SYNTAX_NAMES = {"date_part": "extract", "trim": "btrim", "printf": "format"}  # sql.semantics
_TYPED_AS = "cast_to_type"
_CATALOG_TYPES = frozenset(column_types.CATALOG_KINDS.values())
# BIGINT results PostgreSQL types otherwise: date - date (int4), extract and date_part.
_BIGINT_TYPED = re.compile(r"-|extract|date_part", re.IGNORECASE)
# Calls the rewrite wraps around an expression, named after it: an aggregate typed as
# PostgreSQL types it (forge_sql.sql.aggregate_types), a cast cutting to a length.
_SEEN_THROUGH = {_TYPED_AS, *string_casts.CUTS}
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
    return _described(sql, names, False, None)[0]


def _described(
    sql: str, names: Sequence[str], strings: bool, scope: Scope | None
) -> tuple[list[str], list[ResultType | None]]:
    """PostgreSQL's names and (``strings``) each column's string type
    (forge_sql.engine.column_types); None each where the select list cannot be matched."""
    plain: list[ResultType | None] = [None] * len(names)
    if _CONSTANTS.fullmatch(sql):
        return [UNNAMED] * len(names) if needed(names) else list(names), [
            column_types.TEXT
        ] * len(names)
    select_list = _select_list(sql)
    if select_list is None:
        return list(names), plain
    stars = [i for i, e in enumerate(select_list) if e.get("class") == "STAR"]
    if len(stars) > 1 and not strings:
        return list(names), plain
    widths = [1] * len(select_list)
    if stars:
        widths[stars[0]] = len(names) - (len(select_list) - 1)
    matched = len(stars) <= 1 and min(widths, default=1) >= 0 and sum(widths) == len(names)
    kinds: list[ResultType | None] = []
    if strings:
        tree = _parse(sql) or {}
        typing = column_types.Typing(sql, scope, _parse)
        expanded = typing.columns(tree) if stars else None
        if expanded is not None and len(expanded) == len(names):
            kinds = [kind for _, kind in expanded]
        elif matched:
            for kind, width in zip(typing.entries(tree), widths, strict=True):
                kinds.extend([kind] * width)
    if not matched:
        return list(names), kinds or plain
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
    return renamed, kinds or plain


def result_columns(
    sql: str, described: Iterable[Sequence[Any]], scope: Scope | None = None
) -> tuple[Column, ...]:
    """The columns of ``sql``'s result from DuckDB's description (name, type, ...), named as
    PostgreSQL names them and typed text, varchar or bpchar as PostgreSQL types them
    (``scope``: the relations the statement's names refer to, for declared types)."""
    return _columns(sql, tuple((str(d[0]), str(d[1])) for d in described), scope)


@functools.lru_cache(maxsize=512)  # the same statements come again and again
def _columns(
    sql: str, pairs: tuple[tuple[str, str], ...], scope: Scope | None
) -> tuple[Column, ...]:
    names = [name for name, _ in pairs]
    strings = any(
        is_string(kind) or _typed_numeric(kind) or (
            kind == "BIGINT" and _BIGINT_TYPED.search(sql) is not None)
        for _, kind in pairs
    ) or "pg_" in sql  # an oid column of pg_catalog (forge_sql.catalog.column_types)
    if not needed(names) and not strings:
        return tuple(column(name, kind) for name, kind in pairs)
    renamed, kinds = _described(sql, names, strings, scope)
    return tuple(
        _column(name, kind, typed)
        for name, (_, kind), typed in zip(renamed, pairs, kinds, strict=True)
    )


def _column(name: str, kind: str, typed: ResultType | None) -> Column:
    """A result column; a string one announced as ``typed`` (text, varchar, bpchar), a
    numeric one with its typmod only where PostgreSQL keeps one (a column, a cast)."""
    if typed == column_types.INT4 and kind == "BIGINT":
        return column(name, "INTEGER")
    if typed in (column_types.EXTRACT, column_types.DATE_PART) and kind == "BIGINT":
        return Column(name, typed[0], oids.type_size(typed[0]), -1)
    if typed in _CATALOG_TYPES and not kind.endswith("]") and (
            is_string(kind) == (typed[0] != oids.OID)):
        return Column(name, typed[0], oids.type_size(typed[0]), -1)
    if typed is None or not is_string(kind):
        found = column(name, kind)
        if typed is not None and typed[1] != column_types.OWN and _typed_numeric(kind):
            return Column(name, found.type_oid, found.type_size, -1)
        return found
    oid, typmod = typed
    typmod = -1 if typmod == column_types.OWN else typmod
    if kind.endswith("[]"):
        oid = oids.ARRAY_OF.get(oid, oids.TEXT_ARRAY)
    return Column(name, oid, oids.type_size(oid), typmod)


def _typed_numeric(kind: str) -> bool:
    """A DECIMAL(p,s): announced with typmod (p,s) only for a column or a cast."""
    return kind.startswith("DECIMAL(")


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
    if kind == "FUNCTION" and entry.get("function_name") in _SEEN_THROUGH:
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
