"""pg8000 (pure Python): the extended protocol with the parameter type OIDs it chooses from
the Python values, through its native and DB-API interfaces."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pg8000.dbapi
import pg8000.native
import pytest
from server import RunningServer

UTC = dt.UTC


@pytest.fixture
def native(server: RunningServer) -> Iterator[pg8000.native.Connection]:
    connection = pg8000.native.Connection("forge", host=server.host, port=server.port,
                                          database=server.database, timeout=30)
    try:
        yield connection
    finally:
        connection.close()


@pytest.fixture
def dbapi(server: RunningServer) -> Iterator[pg8000.dbapi.Connection]:
    connection = pg8000.dbapi.connect("forge", host=server.host, port=server.port,
                                      database=server.database, timeout=30)
    try:
        yield connection
    finally:
        connection.close()


def _described(columns: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(c["name"], c["type_oid"]) for c in columns]


def test_native_parameters_and_types(native: pg8000.native.Connection, table_name: str) -> None:
    native.run(f"CREATE TABLE {table_name} (id INTEGER, name VARCHAR, at_time TIMESTAMP,"
               f" at_zone TIMESTAMPTZ, amount DECIMAL(10,2), flag BOOLEAN, day DATE,"
               f" score DOUBLE, raw BLOB, tags VARCHAR[])")
    insert = (f"INSERT INTO {table_name} VALUES (:id, :name, :at_time, :at_zone, :amount,"
              f" :flag, :day, :score, :raw, :tags)")
    first: dict[str, Any] = {
        "id": 1, "name": "a'b", "at_time": dt.datetime(2024, 1, 2, 3, 4, 5, 6),
        "at_zone": dt.datetime(2024, 6, 30, 12, 0, tzinfo=UTC), "amount": Decimal("-1.50"),
        "flag": True, "day": dt.date(2024, 2, 29), "score": 0.25, "raw": b"\x00\xff",
        "tags": ["x", "y z"]}
    native.run(insert, **first)
    assert native.row_count == 1
    native.run(insert, **{**dict.fromkeys(first), "id": 2})
    native.run("SET TimeZone = 'UTC'")
    rows = native.run(f"SELECT * FROM {table_name} WHERE id >= :low ORDER BY id", low=1)
    assert rows == [list(first.values()), [2, *[None] * 9]]
    assert _described(native.columns) == [
        ("id", 23), ("name", 1043), ("at_time", 1114), ("at_zone", 1184), ("amount", 1700),
        ("flag", 16), ("day", 1082), ("score", 701), ("raw", 17), ("tags", 1015)]


def test_native_prepared_statement(native: pg8000.native.Connection, table_name: str) -> None:
    native.run(f"CREATE TABLE {table_name} AS SELECT i AS id, 'n' || i AS name"
               f" FROM range(1, 6) AS r(i)")
    statement = native.prepare(f"SELECT name FROM {table_name} WHERE id = :id")
    try:
        assert [statement.run(id=i) for i in (1, 3, 5, 9)] == [[["n1"]], [["n3"]], [["n5"]], []]
    finally:
        statement.close()


def test_native_copy(native: pg8000.native.Connection, table_name: str) -> None:
    native.run(f"CREATE TABLE {table_name} (id INTEGER, name VARCHAR)")
    native.run(f"COPY {table_name} FROM STDIN WITH (FORMAT csv)",
               stream=io.BytesIO(b"1,one\n2,\n"))
    assert native.row_count == 2
    out = io.BytesIO()
    native.run(f"COPY (SELECT * FROM {table_name} ORDER BY id) TO STDOUT WITH (FORMAT csv)",
               stream=out)
    assert out.getvalue() == b"1,one\n2,\n"


def test_native_error_keeps_the_connection(native: pg8000.native.Connection) -> None:
    with pytest.raises(pg8000.native.DatabaseError) as raised:
        native.run("SELECT * FROM no_such_table_here")
    assert raised.value.args[0]["C"] == "42P01"
    assert native.run("SELECT 1 + :n", n=1) == [[2]]


def test_dbapi_executemany_and_transactions(dbapi: pg8000.dbapi.Connection,
                                            table_name: str) -> None:
    cur = dbapi.cursor()
    cur.execute(f"CREATE TABLE {table_name} (id INTEGER, name VARCHAR, amount DOUBLE)")
    dbapi.commit()
    cur.executemany(f"INSERT INTO {table_name} VALUES (%s, %s, %s)",
                    [(i, f"n{i}", i / 2) for i in range(1, 6)])
    dbapi.rollback()
    cur.execute(f"SELECT count(*) FROM {table_name}")
    assert cur.fetchone() == [0]
    cur.executemany(f"INSERT INTO {table_name} VALUES (%s, %s, %s)",
                    [(i, None if i == 2 else f"n{i}", i / 2) for i in range(1, 4)])
    dbapi.commit()
    cur.execute(f"SELECT id, name, amount FROM {table_name} WHERE amount > %s ORDER BY id",
                (0.6,))
    assert cur.fetchall() == ([2, None, 1.0], [3, "n3", 1.5])
    assert [(d[0], d[1]) for d in cur.description] == [("id", 23), ("name", 1043),
                                                       ("amount", 701)]
