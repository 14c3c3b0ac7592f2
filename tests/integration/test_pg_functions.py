"""PostgreSQL built-in functions the server provides over DuckDB (forge_sql.catalog.builtins,
forge_sql.catalog.formatting): each expression is run through psycopg on forge-sql and on the
PostgreSQL fixture, and must give the same text and the same type OID."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from postgres import PostgresServer, postgres  # noqa: F401
from server import RunningServer

# DuckDB's VARCHAR is announced as varchar where PostgreSQL's function says text: the
# "text announced as varchar" class of tests/differential/known.py, not these functions'.
_SAME_TYPE = {25: 1043, 1009: 1015}

CASES = [
    # to_char of dates and times: each pattern, FM, TH, quoted text
    "to_char(timestamp '2024-01-05 13:04:05.123456', 'YYYY-MM-DD HH24:MI:SS.US')",
    "to_char(timestamp '2024-01-05 13:04:05.123456', 'YY YYY Y,YYY MS FF3 SSSS')",
    "to_char(timestamp '2024-01-05 13:04:05', 'FMDD Month YYYY, Dy HH12 am')",
    "to_char(timestamp '2024-12-31 00:30:00', 'Day DAY day Mon MON mon HH:MI PM A.M.')",
    "to_char(date '2024-03-01', 'DDth \"of\" Mon Q WW IW IYYY DDD D ID J CC')",
    "to_char(date '2024-03-02', 'FMDDth FMMMth W RM')",
    "to_char(timestamp '2021-01-03 23:59:59', 'IYYY-IW-ID YYYY-WW-D')",
    "to_char(timestamptz '2024-01-05 13:04:05+00', 'YYYY-MM-DD HH24:MI:SS TZ OF')",
    "to_char(interval '25 hours 3 min 4 sec', 'HH24:MI:SS')",
    "to_char(interval '1 year 2 months 3 days', 'YYYY MM DD')",
    "to_char(NULL::timestamp, 'YYYY')",
    "to_char(timestamp '2024-01-05', NULL)",
    # to_char of numbers
    "to_char(0, '999')", "to_char(0.5, '999D99')", "to_char(-0.5, '999D99')",
    "to_char(12345, '999')", "to_char(1234.5, '9,999.9')", "to_char(5, 'FM999,999')",
    "to_char(1234567.891, 'FM999G999G999D00')", "to_char(12.5, 'FM9990.0099')",
    "to_char(-12, 'S999')", "to_char(12, '999S')", "to_char(-3, '00')", "to_char(3.99, '9')",
    "to_char(-485, '999PR')", "to_char(485, '999MI')", "to_char(3148.5, '9G999D999')",
    "to_char(12, '9990999.9')", "to_char(-1234.567::float8, '99999.99')",
    "to_char(42::int8, 'FM0000')", "to_char(NULL::numeric, '999')",
    # Superset's time range bounds
    "TO_TIMESTAMP('2024-01-01 00:00:00.000000', 'YYYY-MM-DD HH24:MI:SS.US')",
    "TO_DATE('2024-01-01', 'YYYY-MM-DD')",
    "to_date('05 Dec 2000', 'DD Mon YYYY')",
    "to_timestamp('2024-01-02 03:04:05', 'YYYY-MM-DD HH24:MI:SS')::timestamp",
    "to_timestamp(NULL, 'YYYY')",
    # strings
    "btrim('  a b  ')", "btrim('xxaxx', 'x')", "btrim(NULL)",
    "initcap('hello wORLD 3rd-time o''neil')", "initcap('')",
    "rpad('ab', 5)", "lpad('hello', 2)", "rpad('ab', -1)", "lpad('ab', 5, '')",
    "octet_length('héllo')", "octet_length(NULL::text)",
    "to_hex(-1)", "to_hex(-1::int8)", "to_hex(255)", "to_hex(2147483647)",
    "string_to_array('', ',')", "string_to_array('a,b', ',')", "string_to_array('abc', NULL)",
    "string_to_array('a,*,b', ',', '*')", "string_to_array('ab', '')",
    "string_to_array(NULL, ',')",
    # arrays
    "array_length('{}'::int[], 1)", "array_length(ARRAY[1, 2], 1)",
    "array_length(ARRAY[1, 2], 2)", "array_cat(NULL::int[], NULL::int[])",
    "array_cat(NULL, ARRAY[1])", "array_cat(ARRAY[1], ARRAY[2, 3])",
    "array_remove(ARRAY[1, NULL, 2, 1], 1)", "array_remove(ARRAY[1, NULL], NULL)",
    "array_remove(NULL::int[], 1)", "array_replace(ARRAY[1, 2, 1], 1, 9)",
    "array_positions(ARRAY[1, 2, 1], 1)", "array_positions(ARRAY['a', NULL], NULL)",
    "cardinality(ARRAY[1, 2, 3])", "cardinality(ARRAY[[1, 2], [3, 4], [5, 6]])",
    "cardinality('{}'::int[])", "cardinality(NULL::int[])", "cardinality(ARRAY['a'])",
    # intervals
    "justify_hours(interval '27 hours')", "justify_hours(interval '1 day -27 hours')",
    "justify_days(interval '35 days')", "justify_days(interval '1 mon -35 days')",
    "justify_interval(interval '1 mon -1 hour')", "justify_interval(interval '-1 mon 50 days')",
    "justify_interval(NULL::interval)",
    "make_interval(days => 10)", "make_interval(1, 2, 3, 4, 5, 6, 7.5)",
    "make_interval(hours => 1, mins => 30)",
    # numbers
    "width_bucket(5.35, 0.024, 10.06, 5)", "width_bucket(-1, 0, 100, 5)",
    "width_bucket(100, 0, 100, 5)", "width_bucket(7, 10, 0, 4)",
    "div(9, 4)", "div(-9.5, 4)",
    # BETWEEN SYMMETRIC, array input
    "3 BETWEEN SYMMETRIC 5 AND 1", "7 NOT BETWEEN SYMMETRIC 5 AND 1",
    "3 BETWEEN SYMMETRIC NULL AND 5", "'b' BETWEEN SYMMETRIC 'c' AND 'a'",
    "2 BETWEEN ASYMMETRIC 1 AND 3", "CAST('{1,NULL,3}' AS int4[])",
    "CAST('{}' AS integer[])",
    # json, bytes
    "json_typeof('{\"a\": 1}')", "json_typeof('1.5')", "json_typeof('\"s\"')",
    "json_typeof('[1]')", "json_typeof('null')", "json_typeof(NULL::json)",
    "json_typeof(json_build_array(1, 'a'))",
    "encode('hi'::bytea, 'hex')", "encode('hi'::bytea, 'base64')",
    "convert_to('é', 'UTF8')", "convert_from(convert_to('é', 'UTF8'), 'UTF8')",
    "decode('6869', 'hex')", "decode('aGk=', 'base64')",
    "sha256('\\x0102'::bytea)", "encode(sha256('abc'::bytea), 'hex')",
    "to_char(-0.001, '999D99')", "to_char(-0.004::float8, 'FM990.00')",
    "to_char(-0.006, '999D99')",
    "substr('abc', -7, 7)", "substr('abc', -1, 3)",
    "substr('abc', -2)", "substring('hello' FROM 2)", "substr('hello', 2, 2)",
    "substr('', -2147483648, 2147483647)", "substr('abc', 2147483647, 2147483647)",
    "substr('abc', NULL::int, 2)", "substr('abc', 1, NULL::int)", "substr(NULL::text, 1, -1)",
    "substr('abc', NULL::int)",
]


@pytest.fixture(scope="module")
def both(server: RunningServer, postgres: PostgresServer,  # noqa: F811
         ) -> Iterator[tuple[psycopg.Connection, psycopg.Connection]]:
    with psycopg.connect(server.dsn(), autocommit=True) as forge, psycopg.connect(
            postgres.dsn, autocommit=True) as pg:
        for conn in (forge, pg):
            conn.execute("SET TimeZone = 'UTC'")
        yield forge, pg


@pytest.mark.parametrize("expression", CASES)
def test_same_answer_as_postgresql(
        both: tuple[psycopg.Connection, psycopg.Connection], expression: str) -> None:
    forge, pg = both
    expected = _printed(pg, expression)
    got = _printed(forge, expression)
    assert got[0] == expected[0], f"{expression}: {got[0]!r} != PostgreSQL's {expected[0]!r}"
    assert got[1] in (expected[1], _SAME_TYPE.get(expected[1])), (
        f"{expression}: type {got[1]} != PostgreSQL's {expected[1]}")


def _printed(conn: psycopg.Connection, expression: str) -> tuple[str | None, int]:
    """The value in text format, as the server sends it, and the column's type OID."""
    cursor = conn.cursor()
    cursor.execute(f"SELECT {expression}")
    assert cursor.pgresult is not None and cursor.description is not None
    raw = cursor.pgresult.get_value(0, 0)
    return (None if raw is None else bytes(raw).decode()), cursor.description[0].type_code


def test_every_is_bool_and(both: tuple[psycopg.Connection, psycopg.Connection]) -> None:
    sql = ("SELECT k, every(v) FROM (VALUES (1, true), (1, false), (2, true), (3, NULL)) "
           "AS t(k, v) GROUP BY k ORDER BY k")
    forge, pg = both
    assert forge.execute(sql).fetchall() == pg.execute(sql).fetchall() == [
        (1, False), (2, True), (3, None)]


def test_json_agg_keeps_order_by_and_filter(
        both: tuple[psycopg.Connection, psycopg.Connection]) -> None:
    sql = ("SELECT json_agg(x ORDER BY x DESC), json_agg(x) FILTER (WHERE x > 1) "
           "FROM (VALUES (1), (3), (2)) AS t(x)")
    forge, pg = both
    assert forge.execute(sql).fetchall() == pg.execute(sql).fetchall() == [([3, 2, 1], [3, 2])]


def test_errors_have_postgresql_codes(
        both: tuple[psycopg.Connection, psycopg.Connection]) -> None:
    forge, _ = both
    with pytest.raises(psycopg.errors.DivisionByZero):
        forge.execute("SELECT div(1, 0)")
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="UTF8"):
        forge.execute("SELECT convert_to('a', 'LATIN1')")


def test_functiondef_of_a_macro(server: RunningServer) -> None:
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute("CREATE OR REPLACE MACRO add_one(x) AS x + 1")
        (text,) = conn.execute(
            "SELECT pg_get_functiondef(p.oid) FROM pg_proc AS p WHERE proname = 'add_one'"
        ).fetchone() or (None,)
        assert text == ("CREATE OR REPLACE FUNCTION public.add_one(x unknown)\n RETURNS unknown"
                        "\n LANGUAGE sql\nAS $function$SELECT (x + 1)$function$\n")
        # pgcli's \ef looks the function up by name
        (by_name,) = conn.execute(
            "SELECT pg_get_functiondef('add_one'::regproc)").fetchone() or (None,)
        assert by_name == text


@pytest.mark.parametrize("template", ["YYYY-MM-DD HH24:MI:SS", "DD Mon YYYY HH12 PM OF",
                                      "FMDD FMMonth YYYY Q"])
def test_to_char_in_the_session_time_zone(
        server: RunningServer, postgres: PostgresServer, template: str) -> None:  # noqa: F811
    """timestamptz is laid out in the session's zone on both paths (strftime and patterns)."""
    sql = f"SELECT to_char(timestamptz '2024-07-05 01:30:00+00', '{template}')"
    answers = []
    for dsn in (server.dsn(), postgres.dsn):
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SET TimeZone = 'America/New_York'")
            answers.append(conn.execute(sql).fetchone())
    assert answers[0] == answers[1]


def test_to_char_over_many_rows(both: tuple[psycopg.Connection, psycopg.Connection]) -> None:
    """Row by row, through both layouts, as dashboards group by a formatted day."""
    sql = ("SELECT to_char(t, 'YYYY-MM-DD'), to_char(t, 'Q/YYYY'), to_char(n, 'FM999G990D00'), "
           "count(*) FROM (SELECT timestamp '2024-01-01' + i * interval '7 hours' AS t, "
           "(i * 37.5)::numeric AS n FROM generate_series(1, 2000) AS g(i)) AS s "
           "GROUP BY 1, 2, 3 ORDER BY 1, 3 LIMIT 20")
    forge, pg = both
    assert forge.execute(sql).fetchall() == pg.execute(sql).fetchall()


def test_negative_substring_length_is_22011(
        both: tuple[psycopg.Connection, psycopg.Connection]) -> None:
    for conn in both:
        with pytest.raises(psycopg.errors.SubstringError):
            conn.execute("SELECT substr('abc', 1, -1)")
        assert conn.execute("SELECT substr('abc', 2, 1)").fetchone() == ("b",)
