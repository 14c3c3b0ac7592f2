"""The pg_catalog emulation through real clients: psycopg catalog queries, the ADBC driver
(its pg_type load, ``$1::regclass`` probe and binary COPY), polars and asyncpg."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import adbc_driver_postgresql.dbapi as adbc
import asyncpg
import polars as pl
import psycopg
import pyarrow as pa
import pytest
from server import RunningServer

from forge_sql.wire import oids

# The query the ADBC PostgreSQL driver runs on connect to learn type OIDs.
ADBC_TYPES = (
    "SELECT oid, typname, typreceive, typbasetype, typrelid, typarray FROM pg_catalog.pg_type "
    "WHERE (typreceive != 0 OR typsend != 0) AND typtype != 'r' "
    "AND typreceive::TEXT != 'array_recv'"
)
# ADBC's probe before an append (adbc_ingest mode="append").
ADBC_ATTRIBUTES = (
    "SELECT attr.attname, attr.atttypid FROM pg_catalog.pg_attribute AS attr "
    "WHERE attr.attrelid = $1::regclass::oid AND attr.attnum > 0 AND NOT attr.attisdropped"
)


# -- pg_type, pg_namespace, pg_range ----------------------------------------------------------

def test_pg_type_has_postgres_oids(conn: psycopg.Connection) -> None:
    rows = conn.execute(
        "SELECT typname, oid, typelem, typarray, typcategory, typreceive::TEXT "
        "FROM pg_catalog.pg_type WHERE typname IN ('int4', '_int4', 'text') ORDER BY oid"
    ).fetchall()
    assert rows == [
        ("int4", 23, 0, 1007, "N", "int4recv"),
        ("text", 25, 0, 1009, "S", "textrecv"),
        ("_int4", 1007, 23, 0, "A", "array_recv"),
    ]


def test_pg_type_covers_the_wire_types(conn: psycopg.Connection) -> None:
    found = dict(conn.execute("SELECT oid, typname FROM pg_type WHERE typtype = 'b'").fetchall())
    assert found == {oid: info.name for oid, info in oids.TYPES.items()}
    pseudo = conn.execute("SELECT typname FROM pg_type WHERE typtype = 'p' ORDER BY oid")
    assert [name for (name,) in pseudo] == ["record", "any", "anyarray", "void", "trigger",
                                            "anyelement"]


def test_adbc_type_query_returns_the_base_types(conn: psycopg.Connection) -> None:
    rows = conn.execute(ADBC_TYPES).fetchall()
    assert {row[0] for row in rows} == {oid for oid in oids.TYPES if oid not in oids.ELEMENT_OF}
    assert ("int8", "int8recv", 0, 0, 1016) in [row[1:] for row in rows]


def test_namespaces_and_empty_range(conn: psycopg.Connection) -> None:
    names = dict(conn.execute("SELECT nspname, oid FROM pg_catalog.pg_namespace").fetchall())
    assert (names["pg_catalog"], names["public"]) == (11, 2200)
    assert "information_schema" in names
    assert conn.execute("SELECT count(*) FROM pg_catalog.pg_range").fetchone() == (0,)
    assert conn.execute(
        "SELECT count(*) FROM pg_catalog.pg_type t "
        "JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname <> 'pg_catalog'"
    ).fetchone() == (0,)


def test_literals_are_left_alone(conn: psycopg.Connection) -> None:
    assert conn.execute("SELECT 'pg_catalog.pg_type', 'x::regclass'").fetchone() == (
        "pg_catalog.pg_type", "x::regclass")


# -- pg_class, pg_attribute, regclass ---------------------------------------------------------

def test_attributes_join_pg_type(conn: psycopg.Connection, table_name: str) -> None:
    conn.execute(f"CREATE TABLE {table_name} (id BIGINT NOT NULL, name VARCHAR, "
                 f"amount DECIMAL(10,2), tags VARCHAR[], ts TIMESTAMP, flag BOOLEAN)")
    rows = conn.execute(
        "SELECT a.attnum, a.attname, t.typname, a.atttypmod, a.attnotnull "
        "FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
        "WHERE c.relname = %s AND n.nspname = 'public' AND a.attnum > 0 "
        "AND NOT a.attisdropped ORDER BY a.attnum", [table_name]).fetchall()
    assert rows == [
        (1, "id", "int8", -1, True),
        (2, "name", "varchar", -1, False),
        (3, "amount", "numeric", (10 << 16 | 2) + 4, False),
        (4, "tags", "_varchar", -1, False),
        (5, "ts", "timestamp", -1, False),
        (6, "flag", "bool", -1, False),
    ]


def test_regclass(conn: psycopg.Connection, table_name: str) -> None:
    conn.execute(f"CREATE TABLE {table_name} (a INTEGER)")
    conn.execute(f"CREATE VIEW {table_name}_v AS SELECT a FROM {table_name}")
    (oid,) = conn.execute("SELECT oid FROM pg_catalog.pg_class WHERE relname = %s",
                          [table_name]).fetchone() or (None,)
    assert isinstance(oid, int) and oid >= 16384
    assert conn.execute(f"SELECT '{table_name}'::regclass::oid").fetchone() == (oid,)
    assert conn.execute(f"SELECT 'public.\"{table_name}\"'::regclass::oid").fetchone() == (oid,)
    # A reg* value the client reads is the name, as PostgreSQL prints it.
    assert conn.execute(f"SELECT 'public.\"{table_name}\"'::regclass").fetchone() == (
        table_name,)
    assert conn.execute("SELECT 'int4'::regtype, 'pg_catalog.array_in'::regproc").fetchone() == (
        "integer", "array_in")
    assert conn.execute("SELECT %s::regclass::oid", [table_name],
                        prepare=True).fetchone() == (oid,)
    assert conn.execute(f"SELECT {oid}::regclass::text").fetchone() == (table_name,)
    assert conn.execute(ADBC_ATTRIBUTES.replace("$1", "%s"), [table_name]).fetchall() == [
        ("a", oids.INT4)]
    view = conn.execute("SELECT relkind, relnatts FROM pg_class WHERE oid = %s::regclass",
                        [f"{table_name}_v"]).fetchone()
    assert view == ("v", 1)
    with pytest.raises(psycopg.Error, match="does not exist"):
        conn.execute("SELECT 'no_such_table'::regclass")


def test_oids_are_stable(server: RunningServer, conn: psycopg.Connection,
                         table_name: str) -> None:
    conn.execute(f"CREATE TABLE {table_name} (a INTEGER)")
    query = f"SELECT '{table_name}'::regclass::oid"
    first = conn.execute(query).fetchone()
    conn.execute(f"ALTER TABLE {table_name} ADD COLUMN b VARCHAR")
    with psycopg.connect(server.dsn(), autocommit=True) as other:
        assert other.execute(query).fetchone() == first


# -- clients ----------------------------------------------------------------------------------

def test_adbc_fetch_arrow_table_is_typed(server: RunningServer, conn: psycopg.Connection,
                                         table_name: str) -> None:
    conn.execute(f"CREATE TABLE {table_name} (id BIGINT, name VARCHAR, amount DOUBLE, "
                 f"ts TIMESTAMP, flag BOOLEAN)")
    conn.execute(f"INSERT INTO {table_name} VALUES (1, 'a', 1.5, TIMESTAMP '2024-01-02 03:04:05',"
                 f" true), (2, NULL, NULL, NULL, NULL)")
    with adbc.connect(server.url()) as connection, connection.cursor() as cur:
        cur.execute(f"SELECT * FROM {table_name} ORDER BY id")
        table = cur.fetch_arrow_table()
    assert table.schema.types == [pa.int64(), pa.string(), pa.float64(), pa.timestamp("us"),
                                  pa.bool_()]
    assert table.column("id").to_pylist() == [1, 2]
    assert table.column("ts").to_pylist() == [dt.datetime(2024, 1, 2, 3, 4, 5), None]


@pytest.mark.parametrize("mode", ["append", "create"])
def test_adbc_ingest(server: RunningServer, conn: psycopg.Connection, table_name: str,
                     mode: str) -> None:
    if mode == "append":
        conn.execute(f"CREATE TABLE {table_name} (id BIGINT, name VARCHAR)")
    data = pa.table({"id": pa.array([1, 2], pa.int64()), "name": pa.array(["x", None])})
    with adbc.connect(server.url()) as connection:
        with connection.cursor() as cur:
            assert cur.adbc_ingest(table_name, data, mode=mode) == 2
        connection.commit()
    assert conn.execute(f"SELECT * FROM {table_name} ORDER BY id").fetchall() == [
        (1, "x"), (2, None)]


def test_polars_round_trip(server: RunningServer, table_name: str) -> None:
    frame = pl.DataFrame({"id": [1, 2], "name": ["p", None], "amount": [1.25, None]})
    assert frame.write_database(table_name, server.url(), engine="adbc") == 2
    back = pl.read_database_uri(f"SELECT * FROM {table_name} ORDER BY id", server.url(),
                                engine="adbc")
    assert back.equals(frame)


def test_asyncpg_arrays(server: RunningServer, conn: psycopg.Connection,
                        table_name: str) -> None:
    """Array OIDs are not core codecs in asyncpg: it introspects pg_type for them."""
    conn.execute(f"CREATE TABLE {table_name} (ints INTEGER[], words VARCHAR[])")
    conn.execute(f"INSERT INTO {table_name} VALUES ([1, NULL, 3], ['a', 'b c'])")

    async def main() -> tuple[Any, ...]:
        con = await asyncpg.connect(host=server.host, port=server.port, user="forge",
                                    database=server.database, timeout=10)
        try:
            bound = await con.fetchval("SELECT $1::int[]", [1, 2])
            row = await con.fetchrow(f"SELECT ints, words FROM {table_name}")
            return bound, tuple(row or ())
        finally:
            await con.close(timeout=10)

    bound, row = asyncio.run(asyncio.wait_for(main(), timeout=60))
    assert bound == [1, 2]
    assert row == ([1, None, 3], ["a", "b c"])
