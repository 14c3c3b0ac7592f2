"""bytea hex literals as psycopg2 and psql users write them, respelled for DuckDB."""

from __future__ import annotations

import duckdb
import pytest

from forge_sql.sql import literals
from forge_sql.sql.statements import classify


def rewritten(sql: str) -> str:
    return classify(sql, literals.RULES).for_duckdb


def unchanged(sql: str) -> bool:
    statement = classify(sql, literals.RULES)
    return statement.edits == () and statement.for_duckdb == sql


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (r"SELECT '\x0001ff27'::bytea", r"SELECT '\x00\x01\xff\x27'::bytea"),
        (r"SELECT CAST('\x41' AS BLOB), bytea '\x4243'",
         r"SELECT CAST('\x41' AS BLOB), bytea '\x42\x43'"),
        (r"INSERT INTO t VALUES ('\x'::BYTEA, 1)", r"INSERT INTO t VALUES (''::BYTEA, 1)"),
    ],
)
def test_hex_literals_cast_to_bytea(sql: str, expected: str) -> None:
    assert rewritten(sql) == expected


@pytest.mark.parametrize("sql", [
    r"SELECT '\x41'",  # not cast: text
    r"SELECT '\x41'::text",
    r"SELECT '\x4'::bytea",  # odd digit count: PostgreSQL refuses it, DuckDB may answer
    r"SELECT '\xzz'::bytea",
    r"SELECT 'a' AS blob",
])
def test_other_literals_are_left_alone(sql: str) -> None:
    assert unchanged(sql)


def test_duckdb_reads_the_rewrite_as_postgresql_reads_the_original() -> None:
    sql = rewritten(r"SELECT '\x0001ff27'::bytea, CAST('\x' AS BYTEA)")
    assert duckdb.sql(sql).fetchone() == (b"\x00\x01\xff'", b"")


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (r"SELECT relname FROM c WHERE relname LIKE 'j\_meta%'",
         r"SELECT relname FROM c WHERE relname LIKE 'j\_meta%' ESCAPE '\'"),
        (r"SELECT 1 WHERE a NOT ILIKE 'x\%' AND b LIKE 'y'",
         r"SELECT 1 WHERE a NOT ILIKE 'x\%' ESCAPE '\' AND b LIKE 'y'"),
    ],
)
def test_like_patterns_escape_with_backslash(sql: str, expected: str) -> None:
    assert rewritten(sql) == expected


def test_like_with_its_own_escape_is_left_alone() -> None:
    assert unchanged(r"SELECT 1 WHERE a LIKE 'x\_y#_' ESCAPE '#'")


def test_like_patterns_match_as_in_postgresql() -> None:
    sql = rewritten(r"SELECT 'a_b' LIKE 'a\_b', 'axb' LIKE 'a\_b', 'a%' ILIKE 'A\%'")
    assert duckdb.sql(sql).fetchone() == (True, False, True)
