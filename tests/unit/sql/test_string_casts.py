"""Explicit casts to varchar(n) and char(n) cut the value as PostgreSQL's do, whatever the
operand (constant, column, call, parenthesised, an earlier cast), and leave other casts
and statements as written."""

from __future__ import annotations

import duckdb
import pytest

from forge_sql.engine import semantic_functions
from forge_sql.engine.rules import RULES
from forge_sql.sql.statements import split


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute("CREATE SCHEMA forge_catalog")
    semantic_functions.install(connection, "forge_catalog")
    connection.execute("SET search_path = 'main,forge_catalog'")
    connection.execute("CREATE TABLE t1 (id integer, s varchar)")
    connection.execute("INSERT INTO t1 VALUES (1, 'hello')")
    return connection


def run(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[object, ...]:
    row = con.execute(split(sql, RULES)[0].for_duckdb).fetchone()
    assert row is not None
    return tuple(row)


# PostgreSQL 15's answers.
CASES = [
    ("SELECT 'abcdef'::varchar(3), CAST('xyz' AS character varying(2))", ("abc", "xy")),
    ("SELECT 'ab'::char(4), 'abc'::char, CAST('hello' AS char(2)), 'a  '::varchar(1)",
     ("ab", "a", "he", "a")),
    ("SELECT CAST('7' AS int)::character varying, 'it''s'::varchar, "
     "CAST('it''s' AS character varying), 'q'::bpchar", ("7", "it's", "it's", "q")),
    ("SELECT CAST('a%b_c' AS text)::varchar(3), (1 + 22)::varchar(1), "
     "upper('abc')::varchar(2)::char(1)", ("a%b", "2", "A")),
    ("SELECT s::varchar(2), t1.s::char(3), substr(s, 2)::varchar(2), "
     "CASE WHEN id = 1 THEN s END::varchar(1) FROM t1", ("he", "hel", "el", "h")),
    ("SELECT 'x'::text::varchar(1), pg_catalog.upper('abc')::pg_catalog.varchar(2)",
     ("x", "AB")),
]


@pytest.mark.parametrize(("sql", "expected"), CASES)
def test_casts_cut_as_postgres(con: duckdb.DuckDBPyConnection, sql: str,
                               expected: tuple[object, ...]) -> None:
    assert run(con, sql) == expected


def test_declarations_are_not_casts() -> None:
    sql = "CREATE TABLE t (a varchar(3), b char(2), c character varying(4))"
    assert split(sql, RULES)[0].for_duckdb == sql
