"""Create the pg_catalog emulation in the server's own database, once per server start."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import duckdb

from forge_sql.catalog import (
    SCHEMA,
    absent,
    arrays,
    builtins,
    cluster,
    declared,
    deparse,
    identifiers,
    information_schema,
    lake_objects,
    lake_tables,
    listings,
    pg_attrdef,
    pg_attribute,
    pg_class,
    pg_constraint,
    pg_description,
    pg_index,
    pg_locks,
    pg_matviews,
    pg_namespace,
    pg_proc,
    pg_range,
    pg_sequence,
    pg_settings,
    pg_stat_activity,
    pg_type,
    privileges,
    regtypes,
    roles,
    session_functions,
    sizes,
    sync_views,
    type_names,
    type_oids,
)


def statements(
    duckdb_type_names: list[str],
    lake: str,
    users: Sequence[str] = (),
    keywords: Sequence[tuple[str, str]] = (),
    has_metadata: bool = True,
) -> Iterator[str]:
    """The DDL, in dependency order: views bind the macros they call when created."""
    # A clean slate, so objects an older forge-sql created do not linger.
    yield f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"
    yield f"CREATE SCHEMA {SCHEMA}"
    yield from type_names.definitions()
    yield from type_oids.definitions(duckdb_type_names)
    yield from pg_type.definitions()
    yield from pg_range.definitions()
    yield from roles.acl_tables()
    yield from lake_objects.definitions(lake)
    yield from pg_proc.tables()
    yield from pg_namespace.definitions()
    yield from pg_class.macros()
    yield from lake_tables.definitions(lake, has_metadata)
    yield from declared.definitions(lake)
    yield from pg_sequence.tables()
    yield from pg_sequence.macros()
    yield from pg_matviews.tables()
    yield from pg_class.definitions()
    yield from pg_attribute.definitions()
    yield from pg_index.definitions()
    yield from pg_constraint.definitions()
    yield from cluster.definitions()
    yield from roles.definitions(users)
    yield from pg_proc.definitions()
    yield from regtypes.definitions()
    yield from pg_attrdef.definitions()  # its defaults are printed with regtype names
    yield from pg_description.definitions()
    yield from identifiers.definitions(keywords)
    yield from deparse.definitions()
    yield from listings.definitions()
    yield from pg_settings.definitions()
    yield from absent.definitions()
    yield from pg_matviews.definitions()
    yield from pg_sequence.definitions()  # after deparse's stand-ins
    yield from privileges.definitions()
    yield from sizes.definitions(lake)
    yield from information_schema.definitions()
    yield from pg_sequence.information_schema()
    yield from arrays.definitions()
    yield from session_functions.definitions()
    yield from pg_stat_activity.definitions()
    yield from pg_locks.definitions()
    yield from builtins.definitions()
    yield from sync_views.definitions(lake)


def install(con: duckdb.DuckDBPyConnection, lake: str, users: Sequence[str] = ()) -> None:
    """Run the DDL in one transaction on the server's connection."""
    names = [
        name
        for (name,) in con.execute("SELECT DISTINCT logical_type FROM duckdb_types()").fetchall()
    ]
    keywords = [
        (str(word), str(category))
        for word, category in con.execute(
            "SELECT keyword_name, keyword_category FROM duckdb_keywords()"
        ).fetchall()
    ]
    has_metadata = lake_tables.has_metadata(con, lake)
    con.execute("BEGIN TRANSACTION")
    try:
        for sql in statements(names, lake, users, keywords, has_metadata):
            con.execute(sql)
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


