"""Risk of SQL statements, from DuckDB's lexer."""

from __future__ import annotations

import pytest

from forge_sql.migrate.diff import Risk
from forge_sql.migrate.errors import MigrationError
from forge_sql.migrate.lint import check_sql, judge, statements


def _risk(sql: str, types: dict[tuple[str, str], str] | None = None) -> Risk:
    (statement,) = statements(sql, "x.sql")
    lookup = (lambda table, column: types.get((table, column))) if types is not None else None
    return judge(statement, lookup)[0]


@pytest.mark.parametrize("sql", [
    "DROP TABLE t", "drop table if exists s.t", "DROP SCHEMA s CASCADE", "TRUNCATE t",
    "DELETE FROM t", "ALTER TABLE t DROP COLUMN a", "ALTER TABLE t DROP a",
    "CREATE OR REPLACE TABLE t AS SELECT 1",
])
def test_destructive(sql: str) -> None:
    assert _risk(sql) is Risk.DESTRUCTIVE


@pytest.mark.parametrize("sql", [
    "UPDATE t SET a = 1", "DELETE FROM t WHERE a < 0", "ALTER TABLE t ALTER a SET NOT NULL",
    "ALTER TABLE t ALTER COLUMN a TYPE BIGINT",
])
def test_data_dependent(sql: str) -> None:
    assert _risk(sql) is Risk.DATA


@pytest.mark.parametrize("sql", [
    "CREATE TABLE t (a INT)", "ALTER TABLE t ADD COLUMN b INT", "INSERT INTO t VALUES (1)",
    "ALTER TABLE t ALTER a DROP NOT NULL", "ALTER TABLE t ALTER a DROP DEFAULT",
    "CREATE OR REPLACE VIEW v AS SELECT 1", "DROP VIEW v", "ALTER TABLE t RENAME a TO b",
    "SELECT 'DROP TABLE t'",
])
def test_safe(sql: str) -> None:
    assert _risk(sql) is Risk.SAFE


def test_type_changes_judged_with_the_catalog() -> None:
    types = {("t", "a"): "INTEGER", ('s."T"', "b"): "BIGINT"}
    assert _risk("ALTER TABLE t ALTER COLUMN a SET DATA TYPE BIGINT", types) is Risk.SAFE
    assert _risk('ALTER TABLE s."T" ALTER b TYPE INTEGER', types) is Risk.DESTRUCTIVE
    assert _risk("ALTER TABLE t ALTER COLUMN a TYPE VARCHAR", types) is Risk.DESTRUCTIVE
    assert _risk("ALTER TABLE t ALTER COLUMN new_col TYPE VARCHAR", types) is Risk.SAFE


def test_findings_have_lines() -> None:
    text = "CREATE TABLE t (a INT);\n\n-- cleanup\nDELETE FROM t;\nUPDATE t SET a = 1;\n"
    found = check_sql(text, "V1__x.sql")
    assert [(f.risk, f.line) for f in found] == [(Risk.DESTRUCTIVE, 4), (Risk.DATA, 5)]
    assert found[0].summary == "deletes every row: DELETE FROM t"


def test_syntax_error_names_the_file_and_line() -> None:
    with pytest.raises(MigrationError, match=r"^V1__x.sql:2: "):
        statements("SELECT 1;\nSELEC 'oops' FROM;\n", "V1__x.sql")
