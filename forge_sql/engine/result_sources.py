"""The lake's tables and views with each column's declared type, as result columns are
typed from them (forge_sql.engine.column_types): read once per change of the catalog, not
per statement, and shared by the sessions."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import duckdb

log = logging.getLogger(__name__)

# (schema, name) -> the relation's columns in order, each (name, declared type): 'TEXT',
# 'VARCHAR(10)', 'BPCHAR(3)', 'VARCHAR', with '[]' for arrays, or DuckDB's type name.
ColumnRows = Iterable[tuple[str, str, str, str]]  # schema, relation, column, type
ViewRows = Iterable[tuple[str, str, str]]  # schema, view, CREATE VIEW statement


# The schema of the pg_catalog emulation, as the rewrite names it (server.pgc): after the
# search path, as DuckDB's search path of a session ends with it.
CATALOG = "pgc"


@dataclass(frozen=True, eq=False)
class Relations:
    """One reading of the lake's relations (compared and hashed by identity: a new reading
    is a new object, so results typed from an older one are not reused)."""

    columns: dict[tuple[str, str], tuple[tuple[str, str], ...]]
    views: dict[tuple[str, str], str]
    # Output types of views worked out so far (forge_sql.engine.column_types).
    typed_views: dict[tuple[str, str], object] = field(default_factory=dict)

    def overlaid(self, tables: dict[tuple[str, str], tuple[tuple[str, str], ...]]
                 ) -> Relations:
        """These relations with ``tables`` (made by an uncommitted transaction) added."""
        columns = dict(self.columns)
        views = dict(self.views)
        for key, found in tables.items():
            columns[key] = found
            views.pop(key, None)
        return Relations(columns, views)

    def find(self, schema: str | None, name: str, path: Sequence[str]
             ) -> tuple[str, str] | None:
        """The key of the relation ``schema.name`` (or ``name`` on the search path)."""
        name = name.lower()
        for candidate in ([schema.lower()] if schema else [*path, CATALOG]):
            if candidate == "pg_catalog":
                candidate = CATALOG
            if (candidate, name) in self.columns:
                return candidate, name
        return None


@dataclass(frozen=True)
class Scope:
    """What names in a statement refer to: the relations and the session's search path."""

    relations: Relations
    path: tuple[str, ...]


class ResultSources:
    """The latest reading of the lake's relations, read again after a change of the catalog
    (``changed``: DDL committed by a session of this server)."""

    def __init__(self, read: Callable[[], tuple[ColumnRows, ViewRows]]) -> None:
        self._read = read
        self._lock = threading.Lock()
        self._generation = 0
        self._relations: Relations | None = None

    def changed(self, committed: bool = True) -> None:
        with self._lock:
            self._generation += 1
            self._relations = None

    def relations(self) -> Relations:
        found = self._relations
        if found is not None:
            return found
        with self._lock:
            generation = self._generation
        try:
            column_rows, view_rows = self._read()
        except duckdb.Error:
            # The catalog could not be read (the lake is being recovered): results are
            # typed as DuckDB gives them, and the next statement reads again.
            log.warning("result types: the lake's columns could not be read", exc_info=True)
            return Relations({}, {})
        columns: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for schema, relation, column, kind in column_rows:
            columns.setdefault((schema.lower(), relation.lower()), []).append(
                (column.lower(), kind)
            )
        relations = Relations(
            {key: tuple(found) for key, found in columns.items()},
            {(schema.lower(), view.lower()): sql for schema, view, sql in view_rows},
        )
        with self._lock:
            if generation == self._generation:  # no change while reading
                self._relations = relations
        return relations
