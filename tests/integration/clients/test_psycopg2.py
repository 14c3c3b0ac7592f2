"""psycopg2 (libpq, parameters interpolated client-side, simple query protocol): types both
ways, executemany, COPY through copy_expert/copy_from/copy_to, named (server-side) cursors,
transactions and errors."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from collections.abc import Iterator
from decimal import Decimal

import psycopg2
import psycopg2.errors
import psycopg2.extensions
import psycopg2.extras
import pytest
from server import RunningServer

UTC = dt.UTC


@pytest.fixture
def pg2(server: RunningServer) -> Iterator[psycopg2.extensions.connection]:
    connection = psycopg2.connect(host=server.host, port=server.port, dbname=server.database,
                                  user="forge", connect_timeout=10)
    psycopg2.extras.register_uuid(conn_or_curs=connection)
    try:
        yield connection
    finally:
        connection.close()


def test_server_and_driver(pg2: psycopg2.extensions.connection) -> None:
    assert psycopg2.__version__.startswith("2.9")
    assert pg2.server_version // 10000 == 16
    assert pg2.get_parameter_status("server_encoding") == "UTF8"
    assert pg2.get_parameter_status("DateStyle") == "ISO, MDY"


def test_parameters_and_result_types(pg2: psycopg2.extensions.connection,
                                     table_name: str) -> None:
    cur = pg2.cursor()
    cur.execute(f"CREATE TABLE {table_name} (i INTEGER, b BIGINT, f DOUBLE, n DECIMAL(12,3),"
                f" t VARCHAR, ok BOOLEAN, d DATE, ts TIMESTAMP, tz TIMESTAMPTZ, raw BLOB,"
                f" u UUID, ints INTEGER[], doc JSON)")
    row = (7, 2**40, 0.5, Decimal("-12.345"), "it's \"quoted\" \\ ✓", True,
           dt.date(2024, 2, 29), dt.datetime(2024, 1, 2, 3, 4, 5, 6),
           dt.datetime(2024, 6, 30, 23, 59, 58, 123456, tzinfo=UTC), b"\x00\x01\xff'",
           uuid.UUID("a8d1e230-300f-4f32-8210-c377328aff0d"), [1, None, 3],
           psycopg2.extras.Json({"a": [1, "x"]}))
    cur.execute(f"INSERT INTO {table_name} VALUES"
                f" (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", row)
    assert cur.rowcount == 1
    cur.execute(f"INSERT INTO {table_name} (i) VALUES (%(i)s)", {"i": None})
    pg2.commit()
    cur.execute("SET TimeZone = 'UTC'")
    cur.execute(f"SELECT * FROM {table_name} WHERE i = %s OR i IS NULL ORDER BY i", [7])
    first, second = cur.fetchall()
    assert isinstance(first[9], memoryview)  # psycopg2's bytea
    assert (*first[:9], bytes(first[9]), *first[10:]) == (*row[:12], {"a": [1, "x"]})
    assert second == (None,) * 13
    assert [(c.name, c.type_code) for c in cur.description] == [
        ("i", 23), ("b", 20), ("f", 701), ("n", 1700), ("t", 1043), ("ok", 16), ("d", 1082),
        ("ts", 1114), ("tz", 1184), ("raw", 17), ("u", 2950), ("ints", 1007), ("doc", 114)]


def test_executemany_and_transactions(pg2: psycopg2.extensions.connection,
                                      table_name: str) -> None:
    cur = pg2.cursor()
    cur.execute(f"CREATE TABLE {table_name} (id INTEGER, name VARCHAR)")
    pg2.commit()
    cur.executemany(f"INSERT INTO {table_name} VALUES (%s, %s)",
                    [(i, None if i % 3 == 0 else f"n{i}") for i in range(1, 11)])
    pg2.rollback()
    cur.execute(f"SELECT count(*) FROM {table_name}")
    assert cur.fetchone() == (0,)
    psycopg2.extras.execute_values(cur, f"INSERT INTO {table_name} VALUES %s",
                                   [(i, f"v{i}") for i in range(1, 4)])
    cur.executemany(f"UPDATE {table_name} SET name = %s WHERE id = %s", [("one", 1), ("two", 2)])
    pg2.commit()
    cur.execute(f"SELECT id, name FROM {table_name} ORDER BY id")
    assert cur.fetchall() == [(1, "one"), (2, "two"), (3, "v3")]


def test_error_then_rollback(pg2: psycopg2.extensions.connection, table_name: str) -> None:
    cur = pg2.cursor()
    with pytest.raises(psycopg2.errors.UndefinedTable) as raised:
        cur.execute(f"SELECT * FROM {table_name}")
    assert raised.value.pgcode == "42P01"
    with pytest.raises(psycopg2.errors.InFailedSqlTransaction):
        cur.execute("SELECT 1")
    pg2.rollback()
    cur.execute("SELECT 1")
    assert cur.fetchone() == (1,)


def test_copy_expert_both_ways(pg2: psycopg2.extensions.connection, table_name: str) -> None:
    cur = pg2.cursor()
    cur.execute(f"CREATE TABLE {table_name} (id INTEGER, name VARCHAR, amount DOUBLE)")
    cur.copy_expert(f"COPY {table_name} FROM STDIN WITH (FORMAT csv, HEADER)",
                    io.StringIO("id,name,amount\n1,\"a,b\",1.5\n2,,\n"))
    assert cur.rowcount == 2
    pg2.commit()
    out = io.StringIO()
    cur.copy_expert(f"COPY (SELECT * FROM {table_name} ORDER BY id) TO STDOUT WITH CSV HEADER",
                    out)
    assert out.getvalue() == "id,name,amount\n1,\"a,b\",1.5\n2,,\n"


def test_copy_from_and_copy_to(pg2: psycopg2.extensions.connection, table_name: str) -> None:
    """copy_from/copy_to write ``COPY t (cols) FROM stdin WITH DELIMITER AS ',' NULL AS ''``."""
    cur = pg2.cursor()
    cur.execute(f"CREATE TABLE {table_name} (id INTEGER, name VARCHAR)")
    cur.copy_from(io.StringIO("1,x\n2,\n"), table_name, sep=",", null="", columns=("id", "name"))
    pg2.commit()
    out = io.StringIO()
    cur.copy_to(out, table_name, sep="|", null="NULL")
    assert sorted(out.getvalue().splitlines()) == ["1|x", "2|NULL"]


def test_named_cursor(pg2: psycopg2.extensions.connection) -> None:
    """A named cursor is DECLARE "name" CURSOR WITHOUT HOLD FOR ...; FETCH FORWARD n FROM."""
    with pg2.cursor("rows") as cur:
        cur.itersize = 7
        cur.execute("SELECT i, 'row ' || i AS label FROM range(1, 21) AS r(i) ORDER BY i")
        rows = list(cur)
        assert [c.name for c in cur.description] == ["i", "label"]
    assert rows == [(i, f"row {i}") for i in range(1, 21)]
    with pg2.cursor("pages") as cur:
        cur.execute("SELECT i FROM range(10) AS r(i) ORDER BY i")
        assert cur.fetchmany(3) == [(0,), (1,), (2,)]
        assert cur.fetchone() == (3,)
        assert cur.fetchall() == [(i,) for i in range(4, 10)]
    pg2.commit()


def test_jsonb_columns(pg2: psycopg2.extensions.connection, table_name: str) -> None:
    """jsonb is DuckDB's JSON under PostgreSQL's name: accepted in DDL and casts."""
    cur = pg2.cursor()
    cur.execute(f"CREATE TABLE {table_name} (id INTEGER, doc jsonb)")
    cur.execute(f"INSERT INTO {table_name} VALUES (%s, %s)",
                (1, psycopg2.extras.Json({"tags": ["a", "b"], "n": 1.5})))
    cur.execute(f"SELECT doc, %s::jsonb FROM {table_name}", ('{"k": null}',))
    assert cur.fetchone() == ({"tags": ["a", "b"], "n": 1.5}, {"k": None})
    assert [c.type_code for c in cur.description] == [114, 114]
    pg2.commit()
