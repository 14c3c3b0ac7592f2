"""Result column names of unaliased expressions, side by side with a real PostgreSQL: what
psql prints as headers, pandas takes as column labels and BI tools show."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from postgres import PostgresServer, postgres  # noqa: F401
from server import RunningServer

TABLE = "colname_t"
CREATE = f"CREATE TABLE {TABLE} (a integer, b integer, s text, arr integer[], ts timestamp)"
FILL = f"INSERT INTO {TABLE} VALUES (1, 2, 'x', ARRAY[1, 2], TIMESTAMP '2024-01-01 10:00:00')"

# Each statement's column names must equal PostgreSQL's.
QUERIES = [
    f"SELECT count(*) FROM {TABLE}",
    f"SELECT count(*), sum(a), avg(b), min(s), max(ts) FROM {TABLE}",
    f"SELECT a + b, a * 2, -a, s || 'y', a = b, a > 0 AND b > 0, NOT (a > 0) FROM {TABLE}",
    f"SELECT 1, 'text', 1.5, NULL, true, 1::int, '2'::bigint, s::text, a::bigint FROM {TABLE}",
    f"SELECT CASE WHEN a > 0 THEN 'p' END, coalesce(s, 'n'), nullif(a, 0) FROM {TABLE}",
    f"SELECT lower(s), upper(s), length(s), abs(a), round(a * 1.0) FROM {TABLE}",
    f"SELECT arr[1], ARRAY[a, b], a IN (1, 2), a BETWEEN 0 AND 3, s LIKE 'x%' FROM {TABLE}",
    f"SELECT (SELECT max(a) FROM {TABLE}), (SELECT 1), EXISTS (SELECT 1 FROM {TABLE})",
    f"SELECT row_number() OVER (ORDER BY a), rank() OVER (ORDER BY a) FROM {TABLE}",
    f"SELECT *, count(*) OVER () FROM {TABLE}",
    f"SELECT a AS first, count(*) AS n FROM {TABLE} GROUP BY a",
    f"SELECT a, count(*) FROM {TABLE} GROUP BY a UNION ALL SELECT 2, 3",
    f"SELECT extract(year FROM ts), position('x' IN s), substring(s FROM 1 FOR 1), trim(s), "
    f"ts::date, cast(a AS text), date_trunc('day', ts), now() IS NOT NULL FROM {TABLE}",
    f"SELECT greatest(a, b), least(a, b), s SIMILAR TO 'x', s ILIKE 'X' FROM {TABLE}",
    f"SELECT string_agg(s, ','), array_agg(a), bool_and(a > 0), count(DISTINCT a) FROM {TABLE}",
    f"SELECT x FROM (SELECT a AS x FROM {TABLE}) sub",
    "SELECT $1::int, $2::text",
    f"SELECT CASE WHEN a > 0 THEN a ELSE b END, CASE WHEN a > 0 THEN 1 ELSE abs(b) END, "
    f"CASE WHEN a > 0 THEN 'p' END::varchar, (ARRAY[a, b])[1], (array_remove(arr, 7))[1] "
    f"FROM {TABLE}",
    "SELECT 'x'::varchar, CAST('x' AS character varying(3)), '{a}'::text[], 1::double precision, "
    "DATE '2024-01-15', TIMESTAMP WITH TIME ZONE '2024-01-15 00:00:00+00', true::text",
]


@pytest.fixture(scope="module")
def both(server: RunningServer, postgres: PostgresServer  # noqa: F811
         ) -> Iterator[tuple[psycopg.Connection, psycopg.Connection]]:
    with psycopg.connect(server.dsn(), autocommit=True) as forge, \
            psycopg.connect(postgres.dsn, autocommit=True) as pg:
        for conn in (forge, pg):
            conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
            conn.execute(CREATE)
            conn.execute(FILL)
        yield forge, pg
        for conn in (forge, pg):
            conn.execute(f"DROP TABLE IF EXISTS {TABLE}")


def names(conn: psycopg.Connection, sql: str) -> list[str]:
    params = (7, "t") if "$1" in sql else None
    query = sql.replace("$1", "%s").replace("$2", "%s")
    with conn.cursor() as cur:
        cur.execute(query, params)
        assert cur.description is not None
        return [column.name for column in cur.description]


@pytest.mark.parametrize("sql", QUERIES)
def test_same_names_as_postgres(both: tuple[psycopg.Connection, psycopg.Connection],
                                sql: str) -> None:
    forge, pg = both
    assert names(forge, sql) == names(pg, sql)


def test_described_names_match_executed(server: RunningServer) -> None:
    """A prepared statement's Describe and its rows carry the same names."""
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        for _ in range(6):  # psycopg prepares server-side from the 5th run on
            cur = conn.execute("SELECT count(*), 1 + 1, 'x'::text", prepare=True)
            assert [c.name for c in cur.description or ()] == ["count", "?column?", "text"]
            assert cur.fetchone() == (1, 2, "x")


def test_copy_header_uses_the_names(server: RunningServer) -> None:
    sql = "COPY (SELECT count(*), 2 AS two, lower('A')) TO STDOUT (FORMAT csv, HEADER)"
    with psycopg.connect(server.dsn(), autocommit=True) as conn, conn.cursor() as cur, \
            cur.copy(sql) as copy:
        data = b"".join(bytes(chunk) for chunk in copy)
    assert data.decode().splitlines() == ["count,two,lower", "1,2,a"]
