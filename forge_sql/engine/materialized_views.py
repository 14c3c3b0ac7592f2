"""Materialized views: a lake table of the same name holds the rows, forge_meta.matviews
says it is one (its query, whether it is populated). REFRESH replaces the rows in one lake
transaction, so readers see the old rows or the new ones, never none (snapshot isolation).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from forge_sql import errors
from forge_sql.engine.result import TagResult
from forge_sql.sql import matview_ddl
from forge_sql.sql.quoting import quote_ident
from forge_sql.sql.statements import Statement
from forge_sql.storage import meta

Key = tuple[str, str]  # (schema, name)


@dataclass(frozen=True)
class Matview:
    schema: str
    name: str
    definition: str
    populated: bool
    columns: tuple[str, ...] = ()
    refresh_schedule: str | None = None

    @property
    def query(self) -> str:
        """The query whose rows it holds, with the column names it gave."""
        return aliased(self.definition, self.columns)


def aliased(query: str, columns: tuple[str, ...] | list[str]) -> str:
    if not columns:
        return query
    names = ", ".join(quote_ident(c) for c in columns)
    return f"SELECT * FROM ({query}) AS forge_matview({names})"


class MaterializedViews:
    """The lake's materialized views as this server last read them (after each of its
    own changes commits or rolls back)."""

    def __init__(self, cursor: Callable[[], duckdb.DuckDBPyConnection], lake: str) -> None:
        self._cursor = cursor
        self._lake = lake
        self._lock = threading.Lock()
        self._views: dict[Key, Matview] = {}
        self.unpopulated: frozenset[Key] = frozenset()
        self.reload()

    def reload(self) -> None:
        cursor = self._cursor()
        try:
            rows = cursor.execute(
                "SELECT schema_name, matview_name, definition, populated, column_names, "
                "refresh_schedule "
                f"FROM {quote_ident(self._lake)}.{meta.SCHEMA}.matviews"
            ).fetchall()
        finally:
            cursor.close()
        views = {(r[0], r[1]): Matview(r[0], r[1], r[2], bool(r[3]), tuple(r[4] or ()), r[5])
                 for r in rows}
        with self._lock:
            self._views = views
            self.unpopulated = frozenset(k for k, v in views.items() if not v.populated)

    def find(self, key: Key) -> Matview | None:
        return self._views.get(key)

    def all(self) -> list[Matview]:
        return list(self._views.values())


def not_populated(name: str) -> errors.ObjectNotInPrerequisiteState:
    return errors.ObjectNotInPrerequisiteState(
        f'materialized view "{name}" has not been populated',
        hint="Use the REFRESH MATERIALIZED VIEW command.",
    )


class MatviewCommands:
    """One session's CREATE / REFRESH / DROP MATERIALIZED VIEW.

    ``run_sql(text)`` runs one statement through the session as the client's own would run
    (privileges, locks, the session's transaction); ``write_meta(sql, params)`` writes
    forge_meta in the session's DuckDB transaction, so the row commits with the table."""

    def __init__(
        self, views: MaterializedViews, lake: str,
        run_sql: Callable[[str], object],
        write_meta: Callable[[str, list[object]], None],
        relation_exists: Callable[[str, str], bool],
        owns: Callable[[Key], bool],
    ) -> None:
        self._views = views
        self._lake = lake
        self._run_sql = run_sql
        self._write_meta = write_meta
        self._relation_exists = relation_exists
        self._owns = owns
        self.refreshing = False  # the session's own writes to a materialized view

    def run(self, statement: Statement, at_end: list[Callable[[bool], None]]) -> TagResult:
        command = matview_ddl.parse(statement)
        at_end.append(lambda _committed: self._views.reload())
        if command.verb == "CREATE":
            return self._create(command)
        if command.verb == "REFRESH":
            return self._refresh(command)
        return self._drop(command)

    def _key(self, parts: tuple[str, ...]) -> Key:
        return (parts[-2] if len(parts) > 1 else "public", parts[-1])

    def _table(self, key: Key) -> str:
        return f"{quote_ident(key[0])}.{quote_ident(key[1])}"

    def _create(self, command: matview_ddl.MatviewCommand) -> TagResult:
        key = self._key(command.names[0])
        if command.if_exists and self._relation_exists(*key):
            return TagResult("CREATE MATERIALIZED VIEW", [(
                "42P07", f'relation "{key[1]}" already exists, skipping')])
        query = aliased(command.query, command.columns)
        self.refreshing = True
        try:
            result = self._run_sql(
                f"CREATE TABLE {self._table(key)} AS {query}"
                + ("" if command.with_data else " WITH NO DATA")
            )
        finally:
            self.refreshing = False
        self._write_meta(
            f"INSERT INTO {quote_ident(self._lake)}.{meta.SCHEMA}.matviews (schema_name, "
            "matview_name, definition, column_names, populated) VALUES (?, ?, ?, ?, ?)",
            [key[0], key[1], command.query, list(command.columns) or None, command.with_data],
        )
        if not command.with_data:
            return TagResult("CREATE MATERIALIZED VIEW")
        tag = result.command_tag() if isinstance(result, TagResult) else "SELECT 0"
        return TagResult(tag)

    def _existing(self, parts: tuple[str, ...], missing: str) -> tuple[Key, Matview] | None:
        key = self._key(parts)
        found = self._views.find(key)
        if found is not None:
            return key, found
        if self._relation_exists(*key):
            # PostgreSQL's REFRESH of another relation: 0A000 (matview.c, not 42809).
            raise errors.FeatureNotSupported(f'"{key[1]}" is not a materialized view')
        if missing == "skip":
            return None
        raise errors.UndefinedTable(f'relation "{key[1]}" does not exist')

    def _refresh(self, command: matview_ddl.MatviewCommand) -> TagResult:
        if command.concurrently and not command.with_data:
            raise errors.FeatureNotSupported(
                "REFRESH options CONCURRENTLY and WITH NO DATA cannot be used together")
        found = self._existing(command.names[0], "error")
        assert found is not None
        key, view = found
        if not self._owns(key):
            raise errors.InsufficientPrivilege(f"must be owner of materialized view {key[1]}")
        if command.concurrently and not view.populated:
            raise errors.FeatureNotSupported(
                "CONCURRENTLY cannot be used when the materialized view is not populated")
        self.refreshing = True
        try:
            # One transaction: readers keep the snapshot of the old rows until it commits.
            self._run_sql(f"DELETE FROM {self._table(key)}")
            if command.with_data:
                self._run_sql(
                    f"INSERT INTO {self._table(key)} SELECT * FROM ({view.query}) "
                    "AS forge_matview"
                )
        finally:
            self.refreshing = False
        if view.populated != command.with_data:
            self._write_meta(
                f"UPDATE {quote_ident(self._lake)}.{meta.SCHEMA}.matviews SET populated = ? "
                "WHERE schema_name = ? AND matview_name = ?",
                [command.with_data, key[0], key[1]],
            )
        return TagResult("REFRESH MATERIALIZED VIEW")

    def _drop(self, command: matview_ddl.MatviewCommand) -> TagResult:
        notices = []
        keys = []
        for parts in command.names:
            key = self._key(parts)
            if self._views.find(key) is None and not self._relation_exists(*key):
                if command.if_exists:
                    notices.append(("00000", f'materialized view "{key[1]}" does not exist, '
                                    "skipping"))
                    continue
                raise errors.UndefinedTable(f'materialized view "{key[1]}" does not exist')
            if self._views.find(key) is None:
                raise errors.WrongObjectType(
                    f'"{key[1]}" is not a materialized view',
                    hint="Use DROP TABLE to remove a table.",
                )
            keys.append(key)
        for key in keys:
            self.refreshing = True
            try:
                self._run_sql(f"DROP TABLE {self._table(key)}"
                              + (" CASCADE" if command.cascade else ""))
            finally:
                self.refreshing = False
            self._write_meta(
                f"DELETE FROM {quote_ident(self._lake)}.{meta.SCHEMA}.matviews "
                "WHERE schema_name = ? AND matview_name = ?", [key[0], key[1]],
            )
        return TagResult("DROP MATERIALIZED VIEW", notices)


def refused_write(statement: Statement, views: MaterializedViews,
                  targets: list[Key]) -> None:
    """INSERT, UPDATE, DELETE, TRUNCATE or DROP TABLE of a materialized view: refused
    as PostgreSQL refuses them (42809)."""
    for key in targets:
        if views.find(key) is None:
            continue
        words = statement.words
        if words[:1] == ["DROP"] or words[:1] == ["TRUNCATE"]:
            raise errors.WrongObjectType(
                f'"{key[1]}" is not a table',
                hint="Use DROP MATERIALIZED VIEW to remove a materialized view."
                if words[:1] == ["DROP"] else None,
            )
        raise errors.WrongObjectType(f'cannot change materialized view "{key[1]}"')

