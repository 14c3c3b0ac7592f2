"""DuckDB errors become PostgreSQL SQLSTATEs with the error position."""

from __future__ import annotations

import duckdb
import pytest

from forge_sql.sql.duckdb_errors import translate


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute("CREATE TABLE t (id INTEGER NOT NULL, s VARCHAR)")
    return connection


@pytest.mark.parametrize(
    ("sql", "sqlstate", "position"),
    [
        ("SELEC 1", "42601", 1),
        ("SELECT * FROM nope", "42P01", 15),
        ("SELECT nope FROM t", "42703", 8),
        ("SELECT 1,\n  nope FROM t", "42703", 13),
        ("SELECT no_such_function(1)", "42883", 8),
        ("CREATE TABLE t (a INT)", "42P07", None),
        ("SELECT 'x'::INTEGER", "22P02", None),
        ("SELECT 2147483647::INTEGER + 1", "22003", None),
        ("INSERT INTO t VALUES (NULL, 'a')", "23502", None),
        ("SELECT ln(0)", "2201E", None),
    ],
)
def test_sqlstate(con: duckdb.DuckDBPyConnection, sql: str, sqlstate: str,
                  position: int | None) -> None:
    with pytest.raises(duckdb.Error) as info:
        con.execute(sql)
    error = translate(info.value, sql)
    assert error.sqlstate == sqlstate, error.message
    assert "Error:" not in error.message
    if position is not None:
        assert error.position == position


def test_binder_refusing_a_feature_is_feature_not_supported() -> None:
    error = translate(duckdb.BinderException(
        "Binder Error: RETURNING clause not yet supported for insertion into DuckLake table"))
    assert (error.sqlstate, error.message) == (
        "0A000", "RETURNING clause not yet supported for insertion into DuckLake table")


def test_string_vector_over_2_gib_is_a_program_limit() -> None:
    """DuckDB's Arrow export of one vector whose strings pass 2 GiB: 54000, not XX000."""
    exc = duckdb.InvalidInputException(
        "Invalid Input Error: Arrow Appender: The maximum total string size for regular "
        "string buffers is 2147483647 but the offset of 2252341248 exceeds this."
    )
    error = translate(exc)
    assert error.sqlstate == "54000"
    assert error.message.startswith("Arrow Appender: The maximum total string size")


@pytest.mark.parametrize(("sql", "sqlstate", "message"), [
    ("SELECT sqrt(-1)", "2201F", "cannot take square root of a negative number"),
    ("SELECT log(-1)", "2201E", "cannot take logarithm of a negative number"),
    ("SELECT 'x'::date", "22007", 'invalid input syntax for type date: "x"'),
    ("SELECT '2024-13-45'::date", "22008", 'date/time field value out of range: "2024-13-45"'),
    ("SELECT 'abc'::time", "22007", 'invalid input syntax for type time: "abc"'),
    ("SELECT '25:00:00'::time", "22008", 'date/time field value out of range: "25:00:00"'),
    ("SELECT s::time FROM t2", "22007", 'invalid input syntax for type time: "a, b"'),
    ("SELECT 'x'::timestamp", "22007", 'invalid input syntax for type timestamp: "x"'),
    ("SELECT '2024-02-30 00:00'::timestamp", "22008",
     'date/time field value out of range: "2024-02-30 00:00"'),
    ("SELECT 'x'::interval", "22007", 'invalid input syntax for type interval: "x"'),
    ("SELECT 100000000000::decimal(20,0)::int", "22003", "integer out of range"),
    ("SELECT 100000::decimal(20,0)::smallint", "22003", "smallint out of range"),
    ("SELECT to_timestamp(1e308)", "22008", "timestamp out of range"),
    ("SELECT 'inf'::double::decimal(20,4)", "22003", "Could not cast value inf to DECIMAL(20,4)"),
    ("SELECT 'nan'::double::decimal(38,10)", "0A000", "numeric NaN and Infinity cannot be stored"),
    ("SELECT '-inf'::double::decimal(38,10)", "0A000", "numeric NaN and Infinity cannot be stored"),
    ("SELECT 'abc'::int4", "22P02", 'invalid input syntax for type integer: "abc"'),
    ("SELECT ' 99999999999'::int4", "22003",
     'value " 99999999999" is out of range for type integer'),
    ("SELECT s::int8 FROM t2", "22P02", 'invalid input syntax for type bigint: "a, b"'),
    ("SELECT 'x'::bool", "22P02", 'invalid input syntax for type boolean: "x"'),
    ("SELECT 'x'::float8", "22P02", 'invalid input syntax for type double precision: "x"'),
])
def test_postgres_sqlstate_and_words(con: duckdb.DuckDBPyConnection, sql: str, sqlstate: str,
                                     message: str) -> None:
    """Data errors DuckDB classes otherwise get PostgreSQL's SQLSTATE and words."""
    con.execute("CREATE TABLE IF NOT EXISTS t2 AS SELECT 'a, b' AS s")
    with pytest.raises(duckdb.Error) as info:
        con.execute(sql)
    error = translate(info.value, sql)
    assert (error.sqlstate, error.message) == (sqlstate, message)
