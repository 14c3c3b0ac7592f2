"""DROP and TRUNCATE naming several objects: one DuckDB statement per object, classified
as PostgreSQL names the statement (sql.object_lists)."""

from __future__ import annotations

import duckdb
import pytest

from forge_sql.sql import object_lists
from forge_sql.sql.statements import classify, tokenize


def separated(sql: str) -> list[str] | None:
    found = object_lists.parse(sql, tokenize(sql))
    return None if found is None else found.statements()


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("DROP TABLE IF EXISTS a, b, c",
         ["DROP TABLE IF EXISTS a", "DROP TABLE IF EXISTS b", "DROP TABLE IF EXISTS c"]),
        ('drop table s.a, "Odd Name" cascade',
         ["DROP TABLE s.a CASCADE", 'DROP TABLE "Odd Name" CASCADE']),
        ("DROP VIEW v1, v2 RESTRICT", ["DROP VIEW v1 RESTRICT", "DROP VIEW v2 RESTRICT"]),
        ("DROP SEQUENCE q1, q2", ["DROP SEQUENCE q1", "DROP SEQUENCE q2"]),
        ("DROP SCHEMA s1, s2", ["DROP SCHEMA s1", "DROP SCHEMA s2"]),
        ("TRUNCATE a, b", ["TRUNCATE a", "TRUNCATE b"]),
        ("TRUNCATE a, b, a", ["TRUNCATE a", "TRUNCATE b"]),
        ("DROP TABLE a, a, b", ["DROP TABLE a", "DROP TABLE b"]),
        ("truncate table only a, b * restart identity cascade", ["TRUNCATE a", "TRUNCATE b"]),
        ("TRUNCATE a CONTINUE IDENTITY", ["TRUNCATE a"]),
        ("TRUNCATE lake.public.a RESTART IDENTITY RESTRICT", ["TRUNCATE lake.public.a"]),
    ],
)
def test_one_statement_per_object(sql: str, expected: list[str]) -> None:
    assert separated(sql) == expected
    for statement in expected:  # each one is DuckDB's to read
        assert len(duckdb.extract_statements(statement)) == 1


@pytest.mark.parametrize(
    "sql",
    [
        "DROP TABLE a",  # one object: DuckDB reads it as it is
        "DROP TABLE IF EXISTS a CASCADE",
        "DROP INDEX i1, i2",  # declared indexes: engine.constraints
        "TRUNCATE a",
        "TRUNCATE TABLE a CASCADE",
        "DROP TABLE a, b extra",  # not a shape read here: DuckDB's parser reports it
        "SELECT 1",
    ],
)
def test_left_to_duckdb(sql: str) -> None:
    assert separated(sql) is None


@pytest.mark.parametrize(
    ("sql", "kind", "tag"),
    [
        ("DROP TABLE IF EXISTS a, b", "DROP", "DROP TABLE"),
        ("DROP VIEW a, b", "DROP", "DROP VIEW"),
        ("TRUNCATE a, b", "DELETE", "TRUNCATE TABLE"),
        ("TRUNCATE a RESTART IDENTITY", "DELETE", "TRUNCATE TABLE"),
    ],
)
def test_classified_as_postgresql_names_them(sql: str, kind: str, tag: str) -> None:
    statement = classify(sql)
    assert (statement.kind, statement.tag(0)) == (kind, tag)
