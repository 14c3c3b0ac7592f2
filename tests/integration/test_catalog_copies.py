"""The catalog answers from copies of the lake's columns, views and schemas taken once per
lake snapshot (forge_sql.catalog.lake_objects) only where they show what DuckDB itself
would: committed changes of any session appear at the next catalog query, and a
transaction sees its own uncommitted changes."""

from __future__ import annotations

import psycopg


def _relations(conn: psycopg.Connection, name: str) -> list[tuple[str, ...]]:
    return conn.execute(
        "SELECT c.relname, n.nspname, c.relkind FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = %s",
        [name],
    ).fetchall()


def _columns(conn: psycopg.Connection, name: str) -> list[str]:
    return [
        row[0]
        for row in conn.execute(
            "SELECT a.attname FROM pg_catalog.pg_attribute a "
            "WHERE a.attrelid = %s::regclass ORDER BY a.attnum",
            [name],
        ).fetchall()
    ]


def test_committed_changes_show_at_the_next_catalog_query(
    conn: psycopg.Connection, other: psycopg.Connection, table_name: str
) -> None:
    assert _relations(conn, table_name) == []  # the copies are current before the change
    other.execute(f"CREATE TABLE {table_name} (a INTEGER, b VARCHAR)")
    assert _relations(conn, table_name) == [(table_name, "public", "r")]
    assert _columns(conn, table_name) == ["a", "b"]
    other.execute(f"ALTER TABLE {table_name} ADD COLUMN c DOUBLE")
    other.execute(f"COMMENT ON TABLE {table_name} IS 'kept'")
    assert _columns(conn, table_name) == ["a", "b", "c"]
    assert conn.execute(
        "SELECT obj_description(%s::regclass, 'pg_class')", [table_name]
    ).fetchone() == ("kept",)
    view = f"{table_name}_v"
    other.execute(f"CREATE VIEW {view} AS SELECT a FROM {table_name}")
    assert _relations(conn, view) == [(view, "public", "v")]
    assert conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_name = %s",
        [view],
    ).fetchall() == [(view, "a")]
    other.execute(f"DROP VIEW {view}")
    other.execute(f"DROP TABLE {table_name}")
    assert _relations(conn, table_name) == []
    assert _relations(conn, view) == []


def test_a_transaction_sees_its_own_uncommitted_changes(
    conn: psycopg.Connection, other: psycopg.Connection, table_name: str
) -> None:
    assert _relations(conn, table_name) == []
    conn.execute("BEGIN")
    conn.execute(f"CREATE TABLE {table_name} (a INTEGER)")
    assert _relations(conn, table_name) == [(table_name, "public", "r")]
    assert _columns(conn, table_name) == ["a"]
    assert _relations(other, table_name) == []  # not committed: others do not see it
    conn.execute("ROLLBACK")
    assert _relations(conn, table_name) == []


def test_statements_of_one_query_string_see_the_earlier_ones(
    conn: psycopg.Connection, table_name: str
) -> None:
    # Simple query protocol: both statements are planned before the first one runs.
    cursor = conn.cursor()
    cursor.execute(
        f"CREATE TABLE {table_name} (a INTEGER); "
        f"SELECT relname FROM pg_catalog.pg_class WHERE relname = '{table_name}'"
    )
    assert cursor.nextset()  # the CREATE's result first, then the SELECT's
    assert cursor.fetchall() == [(table_name,)]
    conn.execute(f"DROP TABLE {table_name}")


def test_regclass_names_relations_outside_the_search_path(
    conn: psycopg.Connection, table_name: str
) -> None:
    schema = f"s_{table_name}"
    conn.execute(f"CREATE SCHEMA {schema}")
    conn.execute(f"CREATE TABLE {schema}.{table_name} (a INTEGER)")
    conn.execute(f"CREATE TABLE {table_name} (a INTEGER)")
    rows = conn.execute(
        "SELECT c.oid::regclass::text FROM pg_catalog.pg_class c WHERE c.relname = %s "
        "ORDER BY 1",
        [table_name],
    ).fetchall()
    assert rows == [(f"{schema}.{table_name}",), (table_name,)]
    assert conn.execute(
        "SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname = %s", [schema]
    ).fetchall() == [(schema,)]
    conn.execute(f"DROP TABLE {schema}.{table_name}")
    conn.execute(f"DROP TABLE {table_name}")
    conn.execute(f"DROP SCHEMA {schema}")
