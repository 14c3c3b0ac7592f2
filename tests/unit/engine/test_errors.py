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
        ("SELECT ln(0)", "22003", None),
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
