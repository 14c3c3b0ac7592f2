"""Pipelined single-row INSERTs (psycopg executemany) are stored as one bulk insert,
with PostgreSQL's answers: each Execute completes, or the failing one gets the error."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import psycopg
import pytest


@pytest.fixture
def table(conn: psycopg.Connection, table_name: str) -> str:
    conn.execute(
        f"CREATE TABLE {table_name} (id BIGINT, name VARCHAR NOT NULL, amount DECIMAL(10,2), "
        "ts TIMESTAMP)"
    )
    return table_name


def rows(n: int) -> list[tuple[int, str, Decimal, dt.datetime]]:
    start = dt.datetime(2024, 1, 1)
    # ids past 32767 make psycopg switch int2 -> int4 -> int8 parameters mid-batch.
    return [(i * 7, f"n{i}", Decimal(i) / 100, start + dt.timedelta(seconds=i)) for i in range(n)]


def test_values_land_exactly(conn: psycopg.Connection, table: str) -> None:
    data = rows(20000)
    conn.cursor().executemany(f"INSERT INTO {table} VALUES (%s, %s, %s, %s)", data)
    stored = conn.execute(f"SELECT id, name, amount, ts FROM {table} ORDER BY id").fetchall()
    assert stored == data


def test_binary_parameters(conn: psycopg.Connection, table: str) -> None:
    data = rows(3000)
    with conn.cursor(binary=True) as cur:
        cur.executemany(f"INSERT INTO {table} (id, name, amount, ts) VALUES (%b, %b, %b, %b)", data)
    assert conn.execute(f"SELECT count(*), sum(id) FROM {table}").fetchone() == (
        3000, sum(r[0] for r in data))


@pytest.mark.parametrize(
    ("bad_row", "sqlstate"),
    [((3, "x", "not a number", None), "22P02"), ((3, None, Decimal(1), None), "23502")],
)
def test_a_bad_row_fails_the_batch_and_keeps_the_connection(
    conn: psycopg.Connection, table: str, bad_row: tuple[object, ...], sqlstate: str
) -> None:
    batch = [(1, "a", Decimal(1), None), (2, "b", Decimal(2), None), bad_row,
             (4, "d", Decimal(4), None)]
    with pytest.raises(psycopg.Error) as info:
        conn.cursor().executemany(f"INSERT INTO {table} VALUES (%s, %s, %s, %s)", batch)
    assert info.value.sqlstate == sqlstate
    assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)
    conn.cursor().executemany(f"INSERT INTO {table} VALUES (%s, %s, %s, %s)", batch[:2])
    assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (2,)


def test_inside_a_transaction_rows_are_visible_to_the_next_statement(
    server: object, table: str
) -> None:
    dsn = server.dsn()  # type: ignore[attr-defined]
    with psycopg.connect(dsn) as conn:
        conn.cursor().executemany(
            f"INSERT INTO {table} (id, name) VALUES (%s, %s)", [(i, "t") for i in range(50)]
        )
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (50,)
        conn.rollback()
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)
        conn.cursor().executemany(
            f"INSERT INTO {table} (id, name) VALUES (%s, %s)", [(i, "t") for i in range(5)]
        )
        conn.commit()
    with psycopg.connect(dsn) as other:
        assert other.execute(f"SELECT count(*) FROM {table}").fetchone() == (5,)


def test_pipeline_mixing_inserts_and_queries(conn: psycopg.Connection, table: str) -> None:
    with conn.pipeline():
        cur = conn.cursor()
        for i in range(10):
            cur.execute(f"INSERT INTO {table} (id, name) VALUES (%s, %s)", [i, "p"])
        count = conn.cursor().execute(f"SELECT count(*) FROM {table}")
        for i in range(10, 15):
            cur.execute(f"INSERT INTO {table} (id, name) VALUES (%s, %s)", [i, "p"])
    assert count.fetchone() == (10,)
    assert conn.execute(f"SELECT count(*), sum(id) FROM {table}").fetchone() == (15, sum(range(15)))
