"""External datasets declared in YAML: the view and its row in forge_meta.external_datasets.

The row is what lets the server read the dataset's directory when it starts; it also holds
the view's definition, so an undo puts back exactly what was there before.
"""

from __future__ import annotations

import glob
import re
from dataclasses import dataclass
from pathlib import Path

from forge_sql.migrate import declaration, files
from forge_sql.migrate.connection import Connection
from forge_sql.migrate.declaration import ExternalDecl
from forge_sql.migrate.diff import Risk, TableDiff
from forge_sql.migrate.errors import MigrationError
from forge_sql.sql.quoting import literal, quote_ident
from forge_sql.storage.external import RECORD, readable_directory, view_sql


@dataclass(frozen=True, slots=True)
class DatasetState:
    """A view as it is: its catalog definition and, when a migration declared it, its row."""

    schema: str
    name: str
    view: str | None  # the catalog's CREATE VIEW text; None: no view of that name
    path: str | None = None  # from the record; None: not declared by a migration
    definition: str | None = None
    declared_in: str | None = None


def declared(decl: ExternalDecl, script: str) -> DatasetState | None:
    """The state a declaration asks for (None for ``drop: true``)."""
    if decl.drop or decl.path is None:
        return None
    sql = definition(decl)
    return DatasetState(decl.schema_, decl.name, sql, decl.path, sql, script)


def definition(decl: ExternalDecl) -> str:
    assert decl.path is not None
    return view_sql(decl.name, decl.path, decl.format, hive_partitioning=decl.hive_partitioning,
                    options=decl.options, schema=decl.schema_)


def live(conn: Connection, schema: str, name: str) -> DatasetState | None:
    """The view and its record as the catalog has them now, or None if neither exists."""
    views = conn.execute(
        "SELECT sql FROM duckdb_views() WHERE database_name = current_database() "
        "AND schema_name = $1 AND view_name = $2",
        [schema, name],
    )
    rows = conn.execute(
        f"SELECT path, definition, declared_in FROM {RECORD} "
        "WHERE schema_name = $1 AND view_name = $2",
        [schema, name],
    )
    if not views and not rows:
        return None
    view = str(views[0][0]).strip().rstrip(";") if views else None
    path, text, script = rows[0] if rows else (None, None, None)
    return DatasetState(schema, name, view, path, text, script)


def diff(before: DatasetState | None, decl: ExternalDecl, script: str) -> TableDiff:
    """The statements that turn ``before`` into the declared dataset, with their undo."""
    target = f"{decl.schema_}.{decl.name}"
    result = TableDiff(target)
    name = f"{quote_ident(decl.schema_)}.{quote_ident(decl.name)}"
    exists = before is not None and before.view is not None
    if decl.drop:
        if before is not None:
            drop = [f"DROP VIEW {name}"] if exists else []
            result.add(f"drop external dataset {target}", [*drop, _forget(decl)],
                       _restore(before, name))
        return result
    after = declared(decl, script)
    assert after is not None and after.definition is not None and after.path is not None
    if exists and before is not None and (before.definition, before.path) == (
        after.definition, after.path
    ):
        return result
    summary = f"{'replace' if exists else 'create'} external dataset {target} over {decl.path}"
    result.add(
        summary,
        [
            f"CREATE SCHEMA IF NOT EXISTS {quote_ident(decl.schema_)}",
            _forget(decl),
            _record(decl.schema_, decl.name, after.path, after.definition, script),
            after.definition,
        ],
        _restore(before, name) if before is not None else [f"DROP VIEW {name}", _forget(decl)],
    )
    return result


def findings(decl: ExternalDecl) -> list[tuple[Risk, str]]:
    """What is worth a warning before applying: no file matches the path here."""
    if decl.drop or decl.path is None:
        return []
    if not glob.glob(decl.path, recursive=True):
        directory = readable_directory(decl.path)
        return [(Risk.DATA, f"external dataset {decl.schema_}.{decl.name}: no file matches "
                 f"{decl.path} here (directory {directory}); the view cannot be created "
                 "until one does")]
    return []


def directories(directory: Path) -> list[Path]:
    """The directories of the datasets the YAML migrations of ``directory`` declare: an
    offline run opens the sandbox to them, so that their views can be created. Files that
    do not load are left for the run itself to report."""
    found: set[Path] = set()
    try:
        migrations = files.discover(directory)
    except MigrationError:
        return []
    for file in migrations:
        if file.kind != "yaml":
            continue
        try:
            loaded = declaration.load_file(file.path)
        except MigrationError:
            continue
        found.update(Path(readable_directory(d.path)) for d in loaded.external if d.path)
    return sorted(found)


def _forget(decl: ExternalDecl) -> str:
    return (f"DELETE FROM {RECORD} WHERE schema_name = {literal(decl.schema_)} "
            f"AND view_name = {literal(decl.name)}")


def _record(schema: str, name: str, path: str, text: str, script: str) -> str:
    return (
        f"INSERT INTO {RECORD} (schema_name, view_name, path, definition, declared_in) "
        f"VALUES ({literal(schema)}, {literal(name)}, {literal(path)}, {literal(text)}, "
        f"{literal(script)})"
    )


def _restore(before: DatasetState, name: str) -> list[str]:
    """Undo: the view and record as they were (a view no migration declared keeps the
    catalog's own definition and gets no record)."""
    undo = [f"DROP VIEW IF EXISTS {name}",
            f"DELETE FROM {RECORD} WHERE schema_name = {literal(before.schema)} "
            f"AND view_name = {literal(before.name)}"]
    if before.path is not None and before.definition is not None:
        undo.append(_record(before.schema, before.name, before.path, before.definition,
                            before.declared_in or "migrate down"))
        if before.view is not None:
            undo.append(before.definition)
    elif before.view is not None:
        undo.append(_qualified(before.view, name))
    return undo


def _qualified(view: str, name: str) -> str:
    """The catalog's ``CREATE VIEW v AS ...`` (DuckLake keeps the name unqualified) with
    the view's schema-qualified name, so that it is created where it was."""
    match = re.match(r'\s*CREATE\s+VIEW\s+(?:"(?:[^"]|"")*"|[^\s"]+)\s+AS\s', view,
                     re.IGNORECASE)
    if match is None:
        raise MigrationError(f"cannot read the definition of view {name} to undo: {view}")
    return f"CREATE VIEW {name} AS {view[match.end():]}"
