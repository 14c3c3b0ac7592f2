"""Which string type PostgreSQL announces for each result column: text, varchar or bpchar.

DuckDB has one string type, VARCHAR. PostgreSQL types a string expression by what it is:
a column is of the type it was declared with (text, varchar(n), char(n): recorded by
forge_sql.engine.declared_types, read through forge_sql.engine.result_sources; a VARCHAR
column with no record is varchar, as pg_attribute reports it); a cast to varchar(n) or
char(n) has that type and length; functions, operators and literals are text (25);
COALESCE, CASE, UNION and subscripts take their first typed input's type (PostgreSQL's
select_common_type keeps the first of two string types, since each converts implicitly to
the other), and keep a length only when every input has the same. Arrays likewise.
Columns are traced through the FROM list: tables, views, subqueries, CTEs and joins. The
same reading keeps a numeric typmod only for a numeric(p,s) column or cast (PostgreSQL's -1
for computed values) and announces date - date as integer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from forge_sql.engine.result_sources import Relations, Scope
from forge_sql.seam import oids
from forge_sql.sql import string_casts, syntax
from forge_sql.sql.tokens import Token, tokenize

# (OID, typmod): text, varchar or bpchar with a length; OWN for a column's own type; date,
# and int4 for date - date.
ResultType = tuple[int, int]
TEXT: ResultType = (oids.TEXT, -1)
VARCHAR: ResultType = (oids.VARCHAR, -1)
OWN = -3  # typmod: the column's own, as its DuckDB type says (numeric(p,s)'s (p,s))
COLUMN: ResultType = (oids.VARCHAR, OWN)  # a column: varchar, or its own type's typmod
DATE: ResultType = (oids.DATE, OWN)
INT4: ResultType = (oids.INT4, OWN)  # date - date: integer, where DuckDB's is BIGINT
_UNKNOWN: ResultType = (oids.UNKNOWN, -1)  # a literal: takes the type of the others
# extract(field FROM x) is numeric in PostgreSQL, date_part('field', x) float8; DuckDB's is
# BIGINT for the fields whose value is a whole number, as DuckDB's parser spells them
# (microseconds is microsecond); second, milliseconds, epoch and julian have fractions in
# PostgreSQL, and stay as DuckDB gives them.
EXTRACT: ResultType = (oids.NUMERIC, -1)
DATE_PART: ResultType = (oids.FLOAT8, -1)
_WHOLE_FIELDS = frozenset({
    "century", "day", "decade", "dow", "doy", "hour", "isodow", "isoyear", "microsecond",
    "millennium", "minute", "month", "quarter", "week", "year",
})
# pg_catalog's oid, name and "char" columns (forge_sql.catalog.column_types).
CATALOG_KINDS: dict[str, ResultType] = {
    "PG_OID": (oids.OID, -1), "PG_NAME": (oids.NAME, -1), "PG_CHAR": (oids.CHAR, -1)}
_NO_LOCATION = 2**63
_DEPTH = 16  # views over views, nested subqueries: beyond this, typed as DuckDB says
_VARCHAR_NAMES = ("VARCHAR", "CHARACTER VARYING", "CHAR VARYING")
_BPCHAR_NAMES = ("BPCHAR", "CHARACTER", "CHAR")
# Functions whose result has their inputs' common type (min and max are declared on text,
# so a varchar argument gives text; min and max of bpchar are bpchar).
_AGREEING = {"greatest", "least"}
_ARRAYS_OF = {"array_agg", "list"}
_BPCHAR_KEPT = {"min", "max"}
Columns = list[tuple[str, "ResultType | None"]]  # a relation's output: (name, type or unknown)
Parse = Callable[[str], "dict[str, Any] | None"]


def declared(kind: str) -> ResultType:
    """The string type of a column recorded as ``kind`` ('TEXT', 'VARCHAR(10)',
    'BPCHAR(3)', with '[]' for arrays; any other: its DuckDB type, varchar for VARCHAR)."""
    kind = kind.removesuffix("[]")
    if kind == "TEXT":
        return TEXT
    if kind in CATALOG_KINDS:
        return CATALOG_KINDS[kind]
    for name, oid in (("VARCHAR(", oids.VARCHAR), ("BPCHAR(", oids.BPCHAR)):
        if kind.startswith(name) and kind.endswith(")") and kind[len(name):-1].isdigit():
            return oid, int(kind[len(name):-1]) + 4  # VARHDRSZ, as atttypmod
    return DATE if kind == "DATE" else COLUMN


def agree(types: Sequence[ResultType]) -> ResultType:
    """The common type of inputs: the first typed one's, with a length only when all have
    the same (PostgreSQL's exprTypmod of CASE, COALESCE, UNION)."""
    known = [t for t in types if t != _UNKNOWN]
    if not known:
        return TEXT
    typmods = {typmod for _, typmod in types}
    return known[0][0], typmods.pop() if len(typmods) == 1 else -1


@dataclass
class _Level:
    """One SELECT's FROM list: (name, columns or None when not known) per item."""

    bindings: list[tuple[str, Columns | None]] = field(default_factory=list)
    merged: bool = False  # a USING or NATURAL join: a star's columns are not in order
    outer: _Level | None = None
    ctes: dict[str, Columns | None] = field(default_factory=dict)


_MISSING = object()


class Typing:
    """Types the result columns of one statement's parse tree (``sql``: its text, where
    casts' types are read)."""

    def __init__(self, sql: str, scope: Scope | None, parse: Parse, depth: int = 0,
                 viewing: frozenset[tuple[str, str]] = frozenset()) -> None:
        self._sql = sql
        self._tokens: tuple[Token, ...] | None = None
        self._scope = scope
        self._parse = parse
        self._depth = depth
        self._viewing = viewing  # the views being typed, around this query

    def columns(self, node: dict[str, Any]) -> Columns | None:
        """The query's columns with their types; None where a star cannot be expanded."""
        columns = self._query(node, None, {})
        return None if columns is None else [(name, _known(kind)) for name, kind in columns]

    def entries(self, node: dict[str, Any]) -> list[ResultType | None]:
        """The type of each entry of the query's select list, None for a star."""
        return [_known(kind) for kind in self._entries(node, {})]

    def _entries(self, node: dict[str, Any], ctes: dict[str, Columns | None]
                 ) -> list[ResultType | None]:
        ctes = self._ctes(node, None, ctes)
        if node.get("type") == "SET_OPERATION_NODE":
            left = self._entries(node.get("left") or {}, ctes)
            right = self._entries(node.get("right") or {}, ctes)
            if len(left) != len(right):
                return left
            return [None if a is None or b is None else agree([a, b])
                    for a, b in zip(left, right, strict=True)]
        if node.get("type") != "SELECT_NODE":
            return []
        level = self._level(node, None, ctes)
        return [None if entry.get("class") == "STAR" else self._entry(entry, level)
                for entry in node.get("select_list") or []]

    # -- queries and FROM lists --------------------------------------------------------
    def _query(self, node: dict[str, Any], outer: _Level | None,
               ctes: dict[str, Columns | None]) -> Columns | None:
        if self._depth > _DEPTH:
            return None
        ctes = self._ctes(node, outer, ctes)
        if node.get("type") == "SET_OPERATION_NODE":
            left = self._query(node.get("left") or {}, outer, ctes)
            right = self._query(node.get("right") or {}, outer, ctes)
            if left is None or right is None or len(left) != len(right):
                return None
            return [
                (name, None if a is None or b is None else agree([a, b]))
                for (name, a), (_, b) in zip(left, right, strict=True)
            ]
        if node.get("type") != "SELECT_NODE":
            return None
        level = self._level(node, outer, ctes)
        found: Columns = []
        for entry in node.get("select_list") or []:
            if entry.get("class") == "STAR":
                star = self._star(entry, level)
                if star is None:
                    return None
                found.extend(star)
            else:
                found.append((_entry_name(entry), self._entry(entry, level)))
        return found

    def _ctes(self, node: dict[str, Any], outer: _Level | None,
              ctes: dict[str, Columns | None]) -> dict[str, Columns | None]:
        entries = (node.get("cte_map") or {}).get("map") or []
        if not entries:
            return ctes
        ctes = dict(ctes)
        for item in entries:
            name = str(item.get("key", "")).lower()
            value = item.get("value") or {}
            ctes[name] = None  # a recursive CTE's reference to itself is not typed
            columns = self._query((value.get("query") or {}).get("node") or {}, outer, ctes)
            ctes[name] = _renamed(columns, value.get("aliases") or [])
        return ctes

    def _level(self, node: dict[str, Any], outer: _Level | None,
               ctes: dict[str, Columns | None]) -> _Level:
        level = _Level(outer=outer, ctes=ctes)
        self._bind(node.get("from_table") or {}, level)
        return level

    def _bind(self, table: dict[str, Any], level: _Level) -> None:
        kind = table.get("type")
        alias = str(table.get("alias") or "").lower()
        renames = table.get("column_name_alias") or []
        if kind == "JOIN":
            self._bind(table.get("left") or {}, level)
            self._bind(table.get("right") or {}, level)
            if table.get("using_columns") or table.get("ref_type") == "NATURAL":
                level.merged = True
            return
        if kind == "EMPTY":
            return
        columns: Columns | None = None
        if kind == "BASE_TABLE":
            name = str(table.get("table_name", "")).lower()
            schema = str(table.get("schema_name") or "")
            alias = alias or name
            if not schema and name in level.ctes:
                columns = level.ctes[name]
            else:
                columns = self._relation(schema or None, name)
        elif kind == "SUBQUERY":
            node = (table.get("subquery") or {}).get("node") or {}
            columns = self._query(node, level.outer, level.ctes)
        elif kind == "EXPRESSION_LIST":
            rows = [list(row) for row in table.get("values") or []]
            if rows and all(len(row) == len(rows[0]) for row in rows):
                inner = _Level(outer=level.outer, ctes=level.ctes)
                columns = [
                    (f"col{i}", agree([self._entry(row[i], inner) for row in rows]))
                    for i in range(len(rows[0]))
                ]
        level.bindings.append((alias, _renamed(columns, renames)))

    def _relation(self, schema: str | None, name: str) -> Columns | None:
        if self._scope is None:
            return None
        relations = self._scope.relations
        key = relations.find(schema, name, self._scope.path)
        if key is None:
            return None
        if key in relations.views:
            return self._view(relations, key)
        return [(column, declared(kind)) for column, kind in relations.columns[key]]

    def _view(self, relations: Relations, key: tuple[str, str]) -> Columns | None:
        if key in relations.typed_views:
            found = relations.typed_views[key]
            return list(found) if isinstance(found, list) else None
        if key in self._viewing:
            return None  # a view over itself is not typed
        names = [column for column, _ in relations.columns[key]]
        query = _view_query(relations.views[key])
        tree = self._parse(query) if query is not None else None
        typed = None
        if tree is not None:
            typed = Typing(query or "", self._scope, self._parse, self._depth + 1,
                           self._viewing | {key}).columns(tree)
        columns: Columns | None = None
        if typed is not None and len(typed) == len(names):
            columns = [(name, kind) for name, (_, kind) in zip(names, typed, strict=True)]
        relations.typed_views[key] = columns
        return columns

    def _star(self, entry: dict[str, Any], level: _Level) -> Columns | None:
        if any(entry.get(key) for key in (
            "exclude_list", "replace_list", "columns", "expr", "qualified_exclude_list",
            "rename_list",
        )):
            return None
        relation = str(entry.get("relation_name") or "").lower()
        if relation:
            found = [columns for name, columns in level.bindings if name == relation]
            return list(found[0]) if len(found) == 1 and found[0] is not None else None
        if level.merged:
            return None
        expanded: Columns = []
        for _, columns in level.bindings:
            if columns is None:
                return None
            expanded.extend(columns)
        return expanded

    def _column(self, names: list[str], level: _Level) -> ResultType:
        names = [name.lower() for name in names]
        at: _Level | None = level
        while at is not None:
            found = _in_level(names, at)
            if found is not _MISSING:
                return found if isinstance(found, tuple) else COLUMN
            at = at.outer
        return DATE if names == ["current_date"] else COLUMN

    # -- expressions -------------------------------------------------------------------
    def _entry(self, entry: dict[str, Any], level: _Level) -> ResultType:
        kind, expression = entry.get("class"), entry.get("type")
        if kind == "CONSTANT":
            return _UNKNOWN
        if kind == "COLUMN_REF":
            return self._column(list(entry.get("column_names") or []), level)
        if kind == "CAST" and (entry.get("cast_type") or {}).get("id") == "DATE":
            return DATE
        if kind == "CAST":
            location = int(entry.get("query_location", _NO_LOCATION))
            if location >= _NO_LOCATION:
                # A cast the parser made itself (a literal's): typed by what it casts.
                child = self._entry(entry.get("child") or {}, level)
                return TEXT if child == _UNKNOWN else child
            return self._cast(location)
        if expression in ("OPERATOR_COALESCE", "ARRAY_CONSTRUCTOR"):
            return agree([self._entry(c, level) for c in entry.get("children") or []])
        if expression == "ARRAY_EXTRACT":
            inner = self._entry((entry.get("children") or [{}])[0], level)
            return TEXT if inner == _UNKNOWN else inner
        if kind == "CASE":
            branches = [c.get("then_expr") or {} for c in entry.get("case_checks") or []]
            return agree([self._entry(b, level) for b in [*branches, entry.get("else_expr") or {}]])
        if kind in ("FUNCTION", "AGGREGATE"):
            function = str(entry.get("function_name", "")).lower()
            children = entry.get("children") or []
            if function in string_casts.CUTS and children:
                return self._entry(children[0], level)  # the cast it cuts to length
            if function == "-" and len(children) == 2 and all(
                self._entry(child, level) == DATE for child in children
            ):
                return INT4
            if function == "date_part" and children and _field(children[0]) in _WHOLE_FIELDS:
                return EXTRACT if entry.get("schema") == "main" else DATE_PART
            if function == "nullif" and children:
                # The first argument's type as = takes it: text for a string, a numeric
                # column's typmod kept.
                first = self._entry(children[0], level)
                return oids.TEXT, OWN if first[1] == OWN else -1
            if function in _AGREEING:
                return agree([self._entry(c, level) for c in children])
            if function in _ARRAYS_OF:
                return agree([self._entry(c, level) for c in children])[0], -1
            if function in _BPCHAR_KEPT and len(children) == 1 and (
                self._entry(children[0], level)[0] == oids.BPCHAR
            ):
                return oids.BPCHAR, -1
        if kind == "SUBQUERY" and entry.get("subquery_type") == "SCALAR":
            node = (entry.get("subquery") or {}).get("node") or {}
            columns = self._query(node, level, level.ctes)
            if columns and columns[0][1] is not None:
                inner = columns[0][1]
                return TEXT if inner == _UNKNOWN else inner
            lists = select_lists(node)
            if lists and lists[0]:
                return agree([self._entry(branch[0], _Level(outer=level, ctes=level.ctes))
                              for branch in lists if branch])
        return TEXT

    def _cast(self, location: int) -> ResultType:
        if self._tokens is None:
            self._tokens = tokenize(self._sql)
        start = cast_type_start(self._sql, self._tokens, location)
        # A cast to another type: text if it is a string (::name), else that type's typmod
        # (numeric(p,s)).
        return (oids.TEXT, OWN) if start is None else (
            written_type(self._tokens, start) or (oids.TEXT, OWN))


def _field(entry: dict[str, Any]) -> str | None:
    """The field a date_part call names (a constant: ``{'value': {'value': 'year'}}``)."""
    if entry.get("class") != "CONSTANT":
        return None
    value = (entry.get("value") or {}).get("value")
    return value.lower() if isinstance(value, str) else None


def _known(kind: ResultType | None) -> ResultType | None:
    """A literal's unknown type resolved as PostgreSQL resolves it in a result: text."""
    return TEXT if kind == _UNKNOWN else kind


def _in_level(names: list[str], level: _Level) -> object:
    """The type of the column ``names`` in this FROM list, None when its relation is not
    known, _MISSING when no item of it has the name (an outer query's column)."""
    if len(names) == 1:
        column = names[0]
        unknown = False
        found: list[ResultType | None] = []
        for _, columns in level.bindings:
            if columns is None:
                unknown = True
                continue
            found.extend(kind for name, kind in columns if name == column)
        if found:
            return found[0] if all(kind == found[0] for kind in found) else None
        return None if unknown else _MISSING
    relation, column = names[-2], names[-1]
    matched = [columns for name, columns in level.bindings if name == relation]
    if not matched:
        return _MISSING
    if len(matched) > 1 or matched[0] is None:
        return None
    return next((kind for name, kind in matched[0] if name == column), None)


def _renamed(columns: Columns | None, names: Sequence[object]) -> Columns | None:
    """A relation's columns renamed by a column alias list (``AS x(a, b)``)."""
    if columns is None or not names:
        return columns
    renamed = [str(name).lower() for name in names]
    return [
        (renamed[i] if i < len(renamed) else name, kind)
        for i, (name, kind) in enumerate(columns)
    ]


def _entry_name(entry: dict[str, Any]) -> str:
    if entry.get("alias"):
        return str(entry["alias"]).lower()
    if entry.get("class") == "COLUMN_REF":
        return str((entry.get("column_names") or [""])[-1]).lower()
    return ""


def _view_query(sql: str) -> str | None:
    """The query of a CREATE VIEW statement as duckdb_views() gives it."""
    tokens = [t for t in tokenize(sql) if t.kind != "comment"]
    depth = 0
    for token in tokens:
        depth += token.text == "("
        depth -= token.text == ")"
        if depth == 0 and token.upper == "AS":
            return sql[token.end:].strip().rstrip(";")
    return None


def select_lists(node: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """The select lists of a query, one per SELECT of a UNION/INTERSECT/EXCEPT, in order."""
    if node.get("type") == "SET_OPERATION_NODE":
        return select_lists(node.get("left") or {}) + select_lists(node.get("right") or {})
    if node.get("type") != "SELECT_NODE":
        return []
    return [list(node.get("select_list") or [])]


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


def written_type(tokens: Sequence[Token], at: int) -> ResultType | None:
    """The string type named at ``tokens[at]`` (``text``, ``pg_catalog.varchar``,
    ``character varying(n)``, ``char(n)``, ``bpchar``), or None for another type."""
    words = [t.upper.strip('"') for t in tokens[at : at + 5]]
    if words[:2] == ["PG_CATALOG", "."]:
        at += 2
        words = words[2:]
    if not words or (tokens[at].text.startswith('"') and words[0] == "CHAR"):
        return None  # "char": PostgreSQL's one-byte internal type
    if words[0] == "TEXT":
        return TEXT
    for names, oid, default in ((_VARCHAR_NAMES, oids.VARCHAR, -1),
                                (_BPCHAR_NAMES, oids.BPCHAR, 5)):
        for name in names:
            parts = name.split()
            if words[: len(parts)] != parts:
                continue
            after = at + len(parts)
            if (
                after + 2 < len(tokens)
                and tokens[after].text == "("
                and tokens[after + 1].text.isdigit()
                and tokens[after + 2].text == ")"
            ):
                return oid, int(tokens[after + 1].text) + 4  # VARHDRSZ, as atttypmod
            return oid, -1 if name == "BPCHAR" else default
    return None
