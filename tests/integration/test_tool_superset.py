"""Apache Superset's PostgreSQL engine spec (superset/db_engine_specs/postgres.py), replayed:
apache-superset needs SQLAlchemy 1.4 and cannot share this virtualenv, so the SQL its
PostgresEngineSpec generates for charts (time grains, TO_TIMESTAMP / TO_DATE time range
bounds, epoch columns) and its connection-time queries run on forge-sql and on PostgreSQL
with the same data, and must answer alike: column names, types and rows. Its SQLAlchemy
reflection (get_columns, get_indexes, ...) is tests/integration/test_tool_sqlalchemy.py's."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from postgres import PostgresServer, postgres  # noqa: F401
from server import RunningServer

SCHEMA = f"superset_{uuid.uuid4().hex[:8]}"

DDL = [
    f"CREATE SCHEMA {SCHEMA}",
    f"CREATE TABLE {SCHEMA}.sales (id integer, sold timestamp, day date, epoch bigint, "
    "region varchar(10), amount numeric(10,2))",
    f"INSERT INTO {SCHEMA}.sales VALUES "
    "(1, '2024-01-01 00:00:00', '2024-01-01', 1704067200, 'north', 10.50), "
    "(2, '2024-01-01 13:45:12.5', '2024-01-01', 1704116712, 'south', 3.25), "
    "(3, '2024-02-15 08:00:59', '2024-02-15', 1707984059, 'north', 7.00), "
    "(4, '2024-03-31 23:59:59.999999', '2024-03-31', 1711929599, 'east', 1.10), "
    "(5, '2024-07-04 12:00:00', '2024-07-04', 1720094400, 'north', 99.99), "
    "(6, '2023-12-31 23:00:00', '2023-12-31', 1704063600, NULL, NULL)",
]

# PostgresBaseEngineSpec._time_grain_expressions
GRAINS = ["{col}", "DATE_TRUNC('second', {col})", "DATE_TRUNC('minute', {col})",
          "DATE_TRUNC('hour', {col})", "DATE_TRUNC('day', {col})", "DATE_TRUNC('week', {col})",
          "DATE_TRUNC('month', {col})", "DATE_TRUNC('quarter', {col})",
          "DATE_TRUNC('year', {col})"]
# epoch_to_dttm
EPOCH = "(timestamp 'epoch' + {col} * interval '1 second')"
# convert_dttm: the bounds of a chart's time range
START = "TO_TIMESTAMP('2024-01-01 00:00:00.000000', 'YYYY-MM-DD HH24:MI:SS.US')"
END = "TO_TIMESTAMP('2024-04-01 00:00:00.000000', 'YYYY-MM-DD HH24:MI:SS.US')"
DAY_START, DAY_END = "TO_DATE('2024-01-01', 'YYYY-MM-DD')", "TO_DATE('2024-04-01', 'YYYY-MM-DD')"


# Known differences. date_trunc of a date is DuckDB's TIMESTAMP; PostgreSQL casts the date to
# timestamptz first (the same instants at UTC, announced as 1184 with the zone).
ANNOUNCED = {("__timestamp", 1184): ("__timestamp", 1114)}


def chart(column: str, grain: str, start: str, end: str) -> str:
    """A time series chart's query as Superset writes it (a metric per time bucket)."""
    bucket = grain.format(col=column)
    return (f"SELECT {bucket} AS __timestamp, sum(amount) AS \"SUM(amount)\", "
            f"count(*) AS count FROM {SCHEMA}.sales "
            f"WHERE {column} >= {start} AND {column} < {end} "
            f"GROUP BY {bucket} ORDER BY \"SUM(amount)\" DESC LIMIT 10000")


QUERIES = [
    *(chart("sold", grain, START, END) for grain in GRAINS),
    *(chart("day", grain, DAY_START, DAY_END) for grain in GRAINS),
    *(chart(EPOCH.format(col="epoch"), grain, START, END) for grain in GRAINS[4:]),
    f"SELECT region, count(*) AS count FROM {SCHEMA}.sales GROUP BY region "
    "ORDER BY count DESC, region LIMIT 100",
    "SELECT datname FROM pg_database WHERE datistemplate = false",
    f"SELECT {START}, {DAY_START}, {EPOCH.format(col='1704067200')}",
]


@pytest.fixture(scope="module")
def both(server: RunningServer, postgres: PostgresServer,  # noqa: F811
         ) -> Iterator[tuple[psycopg.Connection, psycopg.Connection]]:
    with psycopg.connect(server.dsn(), autocommit=True) as forge, psycopg.connect(
            postgres.dsn, autocommit=True) as pg:
        for conn in (forge, pg):
            conn.execute("SET TimeZone = 'UTC'")
            for statement in DDL:
                conn.execute(statement)
        yield forge, pg
        for conn in (forge, pg):
            conn.execute(f"DROP SCHEMA {SCHEMA} CASCADE")


def answer(conn: psycopg.Connection, sql: str) -> tuple[list[tuple[str, int]], list[Any]]:
    cur = conn.execute(sql)
    assert cur.description is not None
    return [(c.name, c.type_code) for c in cur.description], cur.fetchall()


@pytest.mark.parametrize("sql", QUERIES)
def test_engine_spec_query_as_on_postgres(
        both: tuple[psycopg.Connection, psycopg.Connection], sql: str) -> None:
    forge, pg = both
    forge_columns, forge_rows = answer(forge, sql)
    pg_columns, pg_rows = answer(pg, sql)
    assert forge_columns == [ANNOUNCED.get(c, c) if ("DATE_TRUNC('" in sql and ", day)" in sql)
                             else c for c in pg_columns]
    if forge_columns != pg_columns and "DATE_TRUNC('" in sql:
        pg_rows = [(row[0].replace(tzinfo=None), *row[1:]) for row in pg_rows]
    if "pg_database" in sql:  # PostgreSQL's cluster holds its own databases too
        assert set(forge_rows) <= set(pg_rows) | {("forge",)} and forge_rows
    else:
        assert forge_rows == pg_rows


def test_cancel_by_backend_pid(both: tuple[psycopg.Connection, psycopg.Connection]) -> None:
    """SQL Lab keeps the PID of the session it may cancel (get_cancel_query_id)."""
    forge, _ = both
    row = forge.execute("SELECT pg_backend_pid()").fetchone()
    assert row is not None and row[0] == forge.info.backend_pid
