"""The views extensions declare (``@table(view=True)``): each a view of the lake over its
table function called without arguments, so that clients list it (\\dv,
information_schema.views) and read it as a relation (``SELECT * FROM ml.models``).

Created at start-up and after a reload, replaced when its text changed, left alone
otherwise (restarts add no snapshots). A view created here is granted to PUBLIC (and its
schema's USAGE, when the schema is created with it), as PostgreSQL's system views are; a
superuser may revoke it, and a later start does not grant it again. A lake table or view
of the same name that the server did not create is kept, and the extension's view is not
made (logged). Views of extensions no longer loaded stay (another server of a shared lake
may load them): reading one fails naming its function."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from functools import partial

import duckdb

from forge_sql.plugins.registry import Registry
from forge_sql.plugins.scalars import qualified_macro_schema
from forge_sql.sql.quoting import literal, quote_ident
from forge_sql.storage import acl as acls
from forge_sql.storage import conflicts, meta

log = logging.getLogger("forge_sql.plugins")

MARKER = "forge-sql extension view "
_ATTEMPTS = 5  # commit conflicts: servers of a shared lake starting at once


def create(con: duckdb.DuckDBPyConnection, lake: str, registry: Registry) -> None:
    """Create or replace ``registry``'s declared views in ``lake``."""
    wanted = [
        (schema, name, function.extension)
        for (schema, name), overloads in registry.tables.items()
        for function in overloads[:1]
        if getattr(function.spec, "view", False)
    ]
    if not wanted:
        return
    views = {
        (schema, name): comment or ""
        for schema, name, comment in con.execute(
            "SELECT schema_name, view_name, comment FROM duckdb_views() "
            "WHERE database_name = ? AND NOT internal", [lake],
        ).fetchall()
    }
    tables = {
        (schema, name) for schema, name in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ?",
            [lake],
        ).fetchall()
    }
    schemas = {
        name for (name,) in con.execute(
            "SELECT schema_name FROM duckdb_schemas() WHERE database_name = ?", [lake]
        ).fetchall()
    }
    todo: list[_View] = []
    for schema, name, extension in wanted:
        key = (schema, name)
        current = views.get(key)
        body = f"SELECT * FROM {qualified_macro_schema(schema)}.{quote_ident(name)}()"
        mark = MARKER + hashlib.sha256(body.encode()).hexdigest()[:16]
        if current == mark:
            continue
        if key in tables or (current is not None and not current.startswith(MARKER)):
            log.warning("extension %s: %s.%s is a relation of the lake's own: the extension's "
                        "view of that name is not created", extension, schema, name)
            continue
        todo.append(_View(extension, schema, name, body, mark,
                          new_schema=schema not in schemas, new_view=current is None))
        schemas.add(schema)
    if not todo:
        return
    # One transaction (one snapshot) and one INSERT of their grants (one data file) for
    # them all: a fresh lake's first start writes little.
    try:
        conflicts.retry(partial(_create, con, lake, todo), _ATTEMPTS)
    except duckdb.Error as exc:  # a read-only lake, say: the functions still work
        log.warning("extension views %s not created: %s",
                    ", ".join(f"{v.schema}.{v.name}" for v in todo), exc)
        return
    for view in todo:
        log.info("extension %s: view %s.%s", view.extension, view.schema, view.name)


@dataclass(frozen=True)
class _View:
    extension: str
    schema: str
    name: str
    body: str
    mark: str
    new_schema: bool
    new_view: bool


def _create(con: duckdb.DuckDBPyConnection, lake: str, todo: list[_View]) -> None:
    privileges = f"{quote_ident(lake)}.{meta.SCHEMA}.privileges"
    grants: list[object] = []
    for view in todo:
        if view.new_schema:
            grants += [acls.SCHEMA, view.schema, None, "U"]
        if view.new_view:
            grants += [acls.RELATION, view.schema, view.name, "r"]
    rows = ", ".join(
        f"(?, ?, ?, {literal(acls.PUBLIC)}, ?, {literal(acls.BOOTSTRAP)}, false)"
        for _ in range(len(grants) // 4)
    )
    con.execute("BEGIN TRANSACTION")
    try:
        for view in todo:
            target = f"{quote_ident(lake)}.{quote_ident(view.schema)}.{quote_ident(view.name)}"
            if view.new_schema:
                con.execute(
                    f"CREATE SCHEMA IF NOT EXISTS {quote_ident(lake)}.{quote_ident(view.schema)}")
            con.execute(f"CREATE OR REPLACE VIEW {target} AS {view.body}")
            con.execute(f"COMMENT ON VIEW {target} IS {literal(view.mark)}")
        if grants:
            con.execute(f"INSERT INTO {privileges} VALUES {rows}", grants)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
