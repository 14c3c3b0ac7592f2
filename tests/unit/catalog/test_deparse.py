"""catalog.deparse: a stored view's DuckDB text in PostgreSQL's spellings."""

from __future__ import annotations

import duckdb
import pytest

from forge_sql.catalog.deparse import postgres_spelling

CASES = [
    ("SELECT count_star() AS n FROM t", "SELECT count(*) AS n FROM t"),
    ("SELECT count() OVER () AS n FROM t", "SELECT count(*) OVER () AS n FROM t"),
    ("SELECT main.date_part('year', ts), main.\"substring\"(s, 1, 2)",
     "SELECT date_part('year', ts), \"substring\"(s, 1, 2)"),
    ("WHERE regexp_full_match(s, '(?s).*(?:a''b).*')", "WHERE (s ~ 'a''b')"),
    ("WHERE (NOT regexp_full_match(s, '(?is).*(?:x).*'))", "WHERE (s !~* 'x')"),
    ("WHERE (a != 2)", "WHERE (a <> 2)"),
    ("WHERE (a = ANY(SELECT unnest((ARRAY[1, 2]))))", "WHERE (a = ANY (ARRAY[1, 2]))"),
    ("SELECT CASE  WHEN ((a > 0)) THEN ('p') END", "SELECT CASE WHEN ((a > 0)) THEN ('p') END"),
    ("SELECT CAST(t.a AS BIGINT), CAST(s AS VARCHAR), CAST(s AS VARCHAR(10))",
     "SELECT t.a::bigint, s::text, s::character varying(10)"),
    ("SELECT CAST('1 day' AS INTERVAL), CAST('2020-01-01' AS \"DATE\"), "
     "CAST(a AS DECIMAL(10, 2)), CAST(x AS TIMESTAMP WITH TIME ZONE), CAST(x AS TIMESTAMP) y",
     "SELECT '1 day'::interval, '2020-01-01'::date, a::numeric(10,2), "
     "x::timestamp with time zone, x::timestamp without time zone y"),
    # LIKE stays DuckDB's (and PostgreSQL's) operator spelling: ~~, ~~*
    ("WHERE (s ~~ 'x%')", "WHERE (s ~~ 'x%')"),
]


@pytest.mark.parametrize(("stored", "expected"), CASES)
def test_postgres_spelling(stored: str, expected: str) -> None:
    con = duckdb.connect()
    row = con.execute(f"SELECT {postgres_spelling('$1')}", [stored]).fetchone()
    assert row is not None and row[0] == expected
