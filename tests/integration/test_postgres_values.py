"""Values computed as PostgreSQL computes them, side by side with a real PostgreSQL: each
statement's columns (name, OID, typmod) and the bytes of every value, in text and in binary
format, through the extended protocol (classes of the differential test removed)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from postgres import PostgresServer, postgres  # noqa: F401
from psycopg import pq
from server import RunningServer

SETUP = [
    "DROP TABLE IF EXISTS pv_t",
    "CREATE TABLE pv_t (id integer, iv interval, i smallint, n numeric(10,2))",
    "INSERT INTO pv_t VALUES (1, '1 year 2 mons', 1, 1.5), (2, '1 day 06:42:06', 2, NULL), "
    "(3, NULL, 3, 2.25), (4, '-3 days -00:00:01.5', NULL, -1)",
    "DROP TABLE IF EXISTS pv_j",
    "CREATE TABLE pv_j (id integer, s text, i integer, ai integer[], j json)",
    "INSERT INTO pv_j VALUES (1, 'alpha', 10, ARRAY[1, 2], '{\"a\": [1, 2]}'), "
    "(2, NULL, NULL, NULL, NULL), (3, 'it''s \"q\"', -7, ARRAY[]::integer[], '[1,  2]')",
]
TEARDOWN = ["DROP TABLE IF EXISTS pv_t", "DROP TABLE IF EXISTS pv_j"]

# sum(interval): the three fields added apart, NULLs skipped, NULL for no rows.
SUMS = [
    "SELECT sum(iv) FROM pv_t",
    "SELECT sum(iv), sum(i), sum(id) AS s, sum(n) FROM pv_t",
    "SELECT id % 2, sum(iv), sum(iv * 2) FROM pv_t GROUP BY 1 ORDER BY 1",
    "SELECT sum(justify_interval(iv)), avg(iv) FROM pv_t",
    "SELECT sum(iv) FROM pv_t WHERE false",
    "SELECT sum(iv) FROM pv_t GROUP BY id HAVING sum(iv) > interval '1 day' ORDER BY 1",
    "SELECT sum(0), sum(1), sum(2::int2), sum(3::int8) FROM pv_t",
    "SELECT sum(1.5), sum(2.5::float8), sum(i::numeric(10,2)), sum(DISTINCT i), "
    "sum(i) FILTER (WHERE id > 1) FROM pv_t",
    "SELECT id, sum(i) OVER (ORDER BY id) FROM pv_t ORDER BY id",
    "SELECT sum(x) FROM (VALUES (interval '2147483647 days'), (interval '1 mon')) v(x)",
]

# json's text as PostgreSQL's json.c writes it: "k" : v pairs, ", " between elements, a new
# line before each structured element of json_agg after the first, json values as written.
JSON = [
    "SELECT json_build_object('k', s, 'n', greatest(2, i)), json_build_array(2, s, i, ai) "
    "FROM pv_j ORDER BY id",
    "SELECT json_agg(i ORDER BY i), json_agg(s), json_agg(ai ORDER BY id), "
    "json_agg(j ORDER BY id) FROM pv_j",
    "SELECT json_agg(i) FILTER (WHERE id > 5), json_agg(DISTINCT i ORDER BY i) FROM pv_j",
    "SELECT json_build_object(), json_build_array(), json_build_object(1, 2, true, NULL)",
    "SELECT pg_catalog.json_build_array(1, 'a'), pg_catalog.json_build_object('a', 1)",
    "SELECT json_build_array(json_build_array(1, 2), json_build_object('a', 'b')) AS c0",
    "SELECT id, json_agg(id) OVER (ORDER BY id) FROM pv_j ORDER BY id",
    "SELECT json_build_object('k', 1.5::numeric(3,1), 'd', DATE '2024-01-15')",
    # arguments other rules rewrite too (position is int4, / divides integers)
    "SELECT json_build_object('n', position('a' IN s), 'd', i / 3), "
    "json_build_array(position('a' IN s), sum(i) OVER ()) FROM pv_j ORDER BY id",
    "SELECT json_build_array(j, '{\"x\":  1}'::json), json_build_object('j', j) "
    "FROM pv_j ORDER BY id",
    "SELECT json_agg(t ORDER BY t.id) FROM (SELECT id, s FROM pv_j) t",
    "SELECT 'x', json_agg(id ORDER BY id) FROM pv_j GROUP BY 1 HAVING count(*) > 0",
    "WITH c AS (SELECT id, json_build_array(i, s) AS x FROM pv_j) SELECT id, x FROM c "
    "ORDER BY id",
]
# extract of a whole-number field is numeric, date_part float8 (DuckDB: bigint).
EXTRACT = [
    "SELECT extract(year FROM DATE '2024-01-15'), EXTRACT(DOW FROM DATE '2024-01-15'), "
    "date_part('year', DATE '2024-01-15'), extract(microseconds FROM TIME '10:00:01.5')",
    "SELECT id, extract(day FROM DATE '2024-03-01' + id), date_part('month', DATE '2024-03-01' "
    "+ i) FROM pv_t ORDER BY id",
    "SELECT x.e FROM (SELECT extract(quarter FROM DATE '2024-05-01') AS e) x",
]
JSON_ERRORS = ["SELECT json_build_object(NULL, 1)", "SELECT json_build_object('a', 1, 'b')"]


@pytest.fixture(scope="module")
def both(server: RunningServer, postgres: PostgresServer  # noqa: F811
         ) -> Iterator[tuple[psycopg.Connection[Any], psycopg.Connection[Any]]]:
    with psycopg.connect(server.dsn(), autocommit=True) as forge, \
            psycopg.connect(postgres.dsn, autocommit=True) as pg:
        for conn in (forge, pg):
            conn.execute("SET TimeZone = 'UTC'")
            for sql in SETUP:
                conn.execute(sql)
        yield forge, pg
        for conn in (forge, pg):
            for sql in TEARDOWN:
                conn.execute(sql)


def answer(conn: psycopg.Connection[Any], sql: str, binary: bool) -> tuple[Any, ...]:
    """Columns and raw values (or the error's SQLSTATE) through Parse/Bind/Execute."""
    result = conn.pgconn.exec_params(sql.encode(), [], result_format=1 if binary else 0)
    if result.status != pq.ExecStatus.TUPLES_OK:
        state = result.error_field(pq.DiagnosticField.SQLSTATE)
        return ("error", state, (result.error_message or b"").decode().splitlines()[:1])
    columns = [((result.fname(i) or b"").decode(), result.ftype(i), result.fmod(i))
               for i in range(result.nfields)]
    rows = [tuple(result.get_value(r, c) for c in range(result.nfields))
            for r in range(result.ntuples)]
    return columns, rows


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
@pytest.mark.parametrize("sql", SUMS + JSON + EXTRACT)
def test_same_values_as_postgres(both: tuple[psycopg.Connection[Any], psycopg.Connection[Any]],
                                 sql: str, binary: bool) -> None:
    forge, pg = both
    expected = answer(pg, sql, binary)
    assert expected[0] != "error", expected
    assert answer(forge, sql, binary) == expected


def test_sum_of_intervals_where_duckdb_has_no_macro(
        both: tuple[psycopg.Connection[Any], psycopg.Connection[Any]]) -> None:
    """sum(DISTINCT interval) and sum(interval) OVER (...) are refused (DuckDB refuses
    DISTINCT and OVER on the macro that adds intervals), not answered otherwise."""
    forge, _ = both
    for sql in ("SELECT sum(DISTINCT iv) FROM pv_t",
                "SELECT sum(iv) OVER (ORDER BY id) FROM pv_t"):
        assert answer(forge, sql, False)[:2] == ("error", b"42883"), sql


@pytest.mark.parametrize("sql", JSON_ERRORS)
def test_same_errors_as_postgres(both: tuple[psycopg.Connection[Any], psycopg.Connection[Any]],
                                 sql: str) -> None:
    forge, pg = both
    expected = answer(pg, sql, False)
    assert expected[0] == "error"
    assert answer(forge, sql, False) == expected


# String constants cast to a type are converted while PostgreSQL analyses the statement:
# malformed input fails at Parse, also where no row needs the value.
CONSTANTS = [
    "SELECT 'abc'::int4", "SELECT CAST('abc' AS integer)", "SELECT DATE 'Hello'",
    "SELECT '2024-13-45'::date", "SELECT 'a%b_c'::uuid", "SELECT 'it''s'::json",
    "SELECT CASE WHEN false THEN 'abc'::int END", "SELECT 'x'::timestamp with time zone",
    "SELECT '99999'::int2", "SELECT 'abc'::int4 FROM pv_t WHERE false",
    "SELECT 'abc'::pg_catalog.int4", "SELECT CAST('x,y,z' AS interval) FROM pv_t",
    "INSERT INTO pv_t (id, iv) VALUES (9, 'bad'::interval)",
    "UPDATE pv_t SET id = 'x'::int8 WHERE false",
    "SELECT id FROM pv_t ORDER BY 'abc'::time", "SELECT CAST(' pad ' AS numeric)",
    # valid constants pass Parse
    "SELECT '1'::int4, '2024-01-01'::date, DATE '2024-01-01', '{\"a\": 1}'::json, "
    "'true'::bool, INTERVAL '1' DAY, '1 day'::interval, '12'::float8, '12:00'::time, "
    "'1.5'::numeric, CAST('-2' AS decimal)",
]


def phase(conn: psycopg.Connection[Any], sql: str) -> tuple[str, bytes | None]:
    """Where the statement fails (parse, execute) with which SQLSTATE, or ok."""
    result = conn.pgconn.prepare(b"", sql.encode())
    if result.status != pq.ExecStatus.COMMAND_OK:
        return "parse", result.error_field(pq.DiagnosticField.SQLSTATE)
    result = conn.pgconn.exec_prepared(b"", [])
    if result.status not in (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK):
        return "execute", result.error_field(pq.DiagnosticField.SQLSTATE)
    return "ok", None


@pytest.mark.parametrize("sql", CONSTANTS)
def test_constant_input_fails_at_parse(
        both: tuple[psycopg.Connection[Any], psycopg.Connection[Any]], sql: str) -> None:
    forge, pg = both
    assert phase(forge, sql) == phase(pg, sql)


def test_constant_input_error_in_a_transaction_block(server: RunningServer) -> None:
    """A bad constant aborts the block at Parse, as any error does; a good one leaves it
    usable, and the table is intact."""
    with psycopg.connect(server.dsn()) as conn:
        conn.execute("SELECT count(*) FROM pv_t")
        assert phase(conn, "SELECT '1'::int4, DATE '2024-01-01'") == ("ok", None)
        assert phase(conn, "SELECT 'abc'::int4") == ("parse", b"22P02")
        assert phase(conn, "SELECT 1") == ("parse", b"25P02")
        conn.rollback()
        assert conn.execute("SELECT count(*) FROM pv_t").fetchone() == (4,)


def test_json_built_from_an_outer_querys_columns(
        both: tuple[psycopg.Connection[Any], psycopg.Connection[Any]]) -> None:
    """json_build_object in a correlated subquery (SQLAlchemy's get_columns sends one)."""
    sql = ("SELECT id, (SELECT json_build_object('s', pv_j.s, 'n', count(*)) FROM pv_t "
           "WHERE pv_t.id = pv_j.id) FROM pv_j ORDER BY id")
    forge, pg = both
    assert answer(forge, sql, False) == answer(pg, sql, False)


@pytest.mark.parametrize("sql", [
    "SELECT CAST('NaN'::float8 AS numeric)", "SELECT '-Infinity'::float8::numeric",
    "SELECT x::numeric FROM (VALUES ('NaN'::float8), (1.5)) v(x)", "SELECT 'NaN'::numeric",
])
def test_numeric_nan_is_refused_clearly(
        both: tuple[psycopg.Connection[Any], psycopg.Connection[Any]], sql: str) -> None:
    """PostgreSQL's numeric holds NaN and infinities, DuckDB's DECIMAL cannot: refused with
    one error, never answered with another value; the connection stays usable."""
    forge, pg = both
    assert answer(pg, sql, False)[0] != "error"
    refused = answer(forge, sql, False)
    assert refused[:2] == ("error", b"0A000"), refused
    assert "numeric NaN and Infinity cannot be stored" in refused[2][0]
    assert answer(forge, "SELECT 1", False)[1] == [(b"1",)]
