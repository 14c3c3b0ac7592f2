"""CREATE TABLE's storage parameters: checked as PostgreSQL checks them, then taken out
(sql.storage_parameters)."""

from __future__ import annotations

import duckdb
import pytest

from forge_sql import errors
from forge_sql.sql import postgres
from forge_sql.sql.statements import classify


def rewritten(sql: str) -> str:
    return classify(sql, postgres.RULES).for_duckdb


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("create table t(a int not null) with (fillfactor=100)",
         "create table t(a int not null) "),
        ("CREATE UNLOGGED TABLE IF NOT EXISTS s.t (a int) WITH (fillfactor = 70, "
         "autovacuum_enabled = false, toast.autovacuum_enabled = off) WITHOUT OIDS",
         "CREATE UNLOGGED TABLE IF NOT EXISTS s.t (a int)  "),
        ("CREATE TABLE t WITH (parallel_workers = 2) AS SELECT 1 AS a",
         "CREATE TABLE t  AS SELECT 1 AS a"),
        ("CREATE TABLE t (a int) WITH (oids = false)", "CREATE TABLE t (a int) "),
    ],
)
def test_taken_out(sql: str, expected: str) -> None:
    assert rewritten(sql) == expected
    duckdb.extract_statements(expected)


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TABLE t AS WITH q AS (SELECT 1 AS a) SELECT * FROM q",  # the query's WITH
        "CREATE TABLE t (a int)",
        "CREATE VIEW v AS WITH q AS (SELECT 1 AS a) SELECT * FROM q",
    ],
)
def test_left_alone(sql: str) -> None:
    assert rewritten(sql) == sql


@pytest.mark.parametrize(
    ("sql", "error", "message"),
    [
        ("CREATE TABLE t (a int) WITH (foo = 1)", errors.InvalidParameterValue,
         'unrecognized parameter "foo"'),
        ("CREATE TABLE t (a int) WITH (toast.fillfactor = 50)", errors.InvalidParameterValue,
         'unrecognized parameter "toast.fillfactor"'),
        ("CREATE TABLE t (a int) WITH (fillfactor = 5)", errors.InvalidParameterValue,
         'value 5 out of bounds for option "fillfactor"'),
        ("CREATE TABLE t (a int) WITH (oids = true)", errors.FeatureNotSupported,
         "tables declared WITH OIDS are not supported"),
    ],
)
def test_refused_as_postgresql_refuses(
    sql: str, error: type[errors.ForgeError], message: str
) -> None:
    with pytest.raises(error) as raised:
        rewritten(sql)
    assert raised.value.message == message
