"""DDL on relations that PostgreSQL accepts and DuckLake words otherwise: ``ALTER TABLE v
RENAME TO w`` on a view (PostgreSQL's ALTER TABLE reaches every relation kind, ALTER VIEW
only views) and ``DROP TABLE|VIEW ... CASCADE`` (DuckLake drops nothing in cascade).

DuckDB keeps no dependencies between relations: a view is its text, bound by name when it is
read. The views that depend on a relation are the ones whose query names it, found by
parsing each view's query; ``DROP ... CASCADE`` drops those first, with PostgreSQL's notices
(dependency.c, reportDependentObjects), then the relation. Everything else goes on to the
declared-constraints DDL (forge_sql.engine.constraints).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from forge_sql import errors
from forge_sql.engine import relations
from forge_sql.engine.connection import Connection
from forge_sql.engine.constraints import Declarations
from forge_sql.engine.result import TagResult
from forge_sql.sql import object_lists
from forge_sql.sql.quoting import quote_ident
from forge_sql.sql.statements import Statement, Token, classify, identifier, tokenize

_DEFAULT_SCHEMA = "public"  # first on every session's search path ("$user" has no schema)


@dataclass(frozen=True, slots=True)
class View:
    database: str
    schema: str
    name: str
    temporary: bool
    query: str

    def quoted(self) -> str:
        return ".".join(quote_ident(p) for p in (self.database, self.schema, self.name))

    def reads(self, target: tuple[str, str, str]) -> bool:
        """Whether the view's query names ``target`` (database, schema, name)."""
        names = relations.query_reads(self.query)
        if names is None:
            return False
        return any(self._resolves(name, target) for name in names)

    def _resolves(self, name: relations.Name, target: tuple[str, str, str]) -> bool:
        database, schema, relation = target
        if name.name != relation:
            return False
        if name.catalog:
            return (name.catalog, name.schema or "main") == (database, schema)
        if name.schema:
            # DuckDB reads ``x.t`` as catalog x's default schema when x is no schema.
            return name.schema == schema or (name.schema, "main") == (database, schema)
        return schema in (self.schema, _DEFAULT_SCHEMA)


class RelationDdl:
    """Runs the relation DDL DuckLake lacks on one session's cursor, before handing the
    rest to the declared-constraints DDL."""

    def __init__(self, connection: Connection, declarations: Declarations, lake: str,
                 dropped: Callable[[Statement], None]) -> None:
        """``dropped`` is told of each DROP VIEW a cascade ran (the owner records go)."""
        self._connection = connection
        self._declarations = declarations
        self._lake = lake
        self._dropped = dropped

    def execute(self, statement: Statement) -> TagResult | None:
        """The statement's result, or None when DuckDB runs it as it is."""
        words = statement.words
        if statement.kind == "ALTER" and words[:2] == ["ALTER", "TABLE"]:
            renamed = self._rename_view(statement)
            if renamed is not None:
                return renamed
        if statement.kind == "DROP" and words[1:2] in (["TABLE"], ["VIEW"]):
            return self._drop(statement)
        return self._declarations.execute(statement)

    # -- ALTER TABLE view RENAME TO ... --------------------------------------------------
    def _rename_view(self, statement: Statement) -> TagResult | None:
        tokens = _words(statement)
        start = 4 if [t.upper for t in tokens[2:4]] == ["IF", "EXISTS"] else 2
        parts, after = _name(statement, tokens, start)
        if [t.upper for t in tokens[after : after + 2]] != ["RENAME", "TO"]:
            return None
        if not parts or self._view(parts) is None:
            return None
        table = tokens[1]
        sql = statement.sql
        self._connection.execute(f"{sql[: table.start]}VIEW{sql[table.end :]}")
        return TagResult("ALTER TABLE")

    def _view(self, parts: Sequence[str]) -> tuple[str, str, str] | None:
        """(database, schema, name) of the view ``parts`` reaches, or None."""
        for database, schema, name in self._candidates(parts):
            found = self._connection.execute(
                "SELECT 1 FROM duckdb_views() WHERE database_name = ? AND schema_name = ? "
                "AND view_name = ? AND NOT internal",
                [database, schema, name],
            ).fetchone()
            if found is not None:
                return (database, schema, name)
        return None

    def _candidates(self, parts: Sequence[str]) -> list[tuple[str, str, str]]:
        """Where a name may lie, in the order DuckDB's binder looks: temporary objects
        first, then the search path; ``x.t`` is schema x, else catalog x."""
        if len(parts) == 1:
            return [("temp", "main", parts[0]), (self._lake, _DEFAULT_SCHEMA, parts[0])]
        if len(parts) == 2:
            return [(self._lake, parts[0], parts[1]), (parts[0], "main", parts[1])]
        return [(parts[-3], parts[-2], parts[-1])]

    # -- DROP TABLE|VIEW ... CASCADE -----------------------------------------------------
    def _drop(self, statement: Statement) -> TagResult:
        """DROP TABLE|VIEW [IF EXISTS] names [CASCADE | RESTRICT], as PostgreSQL's
        RemoveRelations: CASCADE drops the views reading them first, RESTRICT (the
        default) refuses while there are some; IF EXISTS notes each missing name."""
        targets, missing = self._targets(statement)
        kind = statement.words[1].lower()
        cascade = _cascade_token(statement)
        if cascade is None:
            dependents = [v for v in self._dependents(targets, nearest=True)
                          if (v.database, v.schema, v.name) not in targets]
            if dependents:
                raise errors.DependentObjectsStillExist(
                    f"cannot drop {kind} {targets[0][2]} because other objects depend on it",
                    detail="\n".join(
                        f"view {_described(v)} depends on {kind} {targets[0][2]}"
                        for v in dependents
                    ),
                    hint="Use DROP ... CASCADE to drop the dependent objects too.",
                )
            restricted = statement
        else:
            dependents = self._dependents(targets)
            for view in dependents:
                drop = classify(f"DROP VIEW IF EXISTS {view.quoted()}")
                self._connection.execute(drop.sql)
                self._dropped(drop)
            sql = statement.sql
            restricted = classify(f"{sql[: cascade.start]}{sql[cascade.end :]}".rstrip())
        result = self._declarations.execute(restricted)
        if result is None:
            several = object_lists.parse(restricted.sql, restricted.tokens)
            # DROP VIEW a, b: DuckDB drops one object a statement.
            self._connection.execute(restricted.sql if several is None else several.duckdb_sql())
            result = TagResult(statement.tag(0))
        skipped = [("00000", f'{kind} "{name}" does not exist, skipping') for name in missing]
        return TagResult(
            result.command_tag(), [*_notices(dependents), *skipped, *result.notices]
        )

    def _targets(
        self, statement: Statement
    ) -> tuple[list[tuple[str, str, str]], list[str]]:
        """The relations a DROP names that exist, and the names IF EXISTS skips."""
        tokens = _words(statement)
        if_exists = [t.upper for t in tokens[2:4]] == ["IF", "EXISTS"]
        index = 4 if if_exists else 2
        found: list[tuple[str, str, str]] = []
        missing: list[str] = []
        while index < len(tokens):
            parts, index = _name(statement, tokens, index)
            if not parts:
                break
            existing = self._existing(parts)
            found.extend(existing)
            if not existing and if_exists:
                missing.append(parts[-1])
            if index < len(tokens) and tokens[index].text == ",":
                index += 1
            else:
                break
        return found, missing

    def _existing(self, parts: Sequence[str]) -> list[tuple[str, str, str]]:
        for database, schema, name in self._candidates(parts):
            # duckdb_columns() lists the columns of tables and views alike, without
            # duckdb_tables()'s statistics of every table of the lake.
            row = self._connection.execute(
                "SELECT 1 FROM duckdb_columns() WHERE database_name = ? AND schema_name = ? "
                "AND table_name = ? LIMIT 1",
                [database, schema, name],
            ).fetchone()
            if row is not None:
                return [(database, schema, name)]
        return []

    def _dependents(
        self, targets: list[tuple[str, str, str]], nearest: bool = False
    ) -> list[View]:
        """Views reading the targets, and the views reading those, nearest first
        (``nearest``: only the views reading the targets themselves)."""
        if not targets:
            return []
        views = [
            View(database, schema, name, temporary, _query(sql))
            for database, schema, name, temporary, sql in self._connection.execute(
                "SELECT database_name, schema_name, view_name, temporary, sql "
                "FROM duckdb_views() WHERE NOT internal AND database_name IN (?, 'temp') "
                "ORDER BY database_name, schema_name, view_name",
                [self._lake],
            ).fetchall()
        ]
        found: list[View] = []
        pending = list(targets)
        seen = set(targets)
        while pending:
            target = pending.pop(0)
            for view in views:
                key = (view.database, view.schema, view.name)
                if key not in seen and view.reads(target):
                    seen.add(key)
                    found.append(view)
                    if not nearest:
                        pending.append(key)
        return found


def _words(statement: Statement) -> list[Token]:
    return [t for t in statement.tokens if t.kind != "comment"]


def _name(statement: Statement, tokens: Sequence[Token], index: int) -> tuple[list[str], int]:
    """The dotted name starting at ``tokens[index]``, folded, and the index after it."""
    parts: list[str] = []
    while index < len(tokens) and tokens[index].kind in ("identifier", "keyword"):
        parts.append(identifier(statement, tokens[index]))
        index += 1
        if index < len(tokens) and tokens[index].text == ".":
            index += 1
        else:
            break
    return parts, index


def _cascade_token(statement: Statement) -> Token | None:
    tokens = _words(statement)
    if tokens and tokens[-1].text == ";":
        tokens = tokens[:-1]
    # DROP TABLE name CASCADE: at least a name before it (``DROP TABLE cascade`` names one).
    if len(tokens) >= 4 and tokens[-1].kind == "keyword" and tokens[-1].upper == "CASCADE":
        return tokens[-1]
    return None


def _query(sql: str) -> str:
    """The query of a view's CREATE VIEW text (DuckDB's duckdb_views().sql)."""
    tokens = [t for t in tokenize(sql) if t.kind != "comment"]
    depth = 0
    for token in tokens:
        if token.text == "(":
            depth += 1
        elif token.text == ")":
            depth -= 1
        elif depth == 0 and token.upper == "AS" and token.kind == "keyword":
            return sql[token.end :].strip().rstrip(";")
    return sql


def _notices(dependents: Sequence[View]) -> list[tuple[str, str]]:
    """PostgreSQL's NOTICE for what a cascade removed (one line each when several)."""
    described = [f"drop cascades to view {_described(v)}" for v in dependents]
    if not described:
        return []
    if len(described) == 1:
        return [("00000", described[0])]
    return [("00000", f"drop cascades to {len(described)} other objects")]


def _described(view: View) -> str:
    # getObjectDescription qualifies a relation that is not visible on the search path.
    if view.temporary or view.schema == _DEFAULT_SCHEMA:
        return view.name
    return f"{view.schema}.{view.name}"
