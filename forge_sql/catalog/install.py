"""Create the pg_catalog emulation in the server's own database, once per server start."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb

from forge_sql.catalog import (
    SCHEMA,
    pg_attribute,
    pg_class,
    pg_namespace,
    pg_range,
    pg_type,
    regtypes,
    type_names,
    type_oids,
)


def statements(duckdb_type_names: list[str]) -> Iterator[str]:
    """The DDL, in dependency order: views bind the macros they call when created."""
    # A clean slate, so objects an older forge-sql created do not linger.
    yield f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"
    yield f"CREATE SCHEMA {SCHEMA}"
    yield from type_names.definitions()
    yield from type_oids.definitions(duckdb_type_names)
    yield from pg_type.definitions()
    yield from pg_range.definitions()
    yield from pg_namespace.definitions()
    yield from pg_class.definitions()
    yield from pg_attribute.definitions()
    yield from regtypes.definitions()


def install(con: duckdb.DuckDBPyConnection) -> None:
    """Run the DDL in one transaction on the server's connection."""
    names = [
        name
        for (name,) in con.execute("SELECT DISTINCT logical_type FROM duckdb_types()").fetchall()
    ]
    con.execute("BEGIN TRANSACTION")
    try:
        for sql in statements(names):
            con.execute(sql)
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
