"""The privilege check reads the statement's tokens as split made them: the statement
EXPLAIN or PREPARE holds is checked without lexing its text again."""

from __future__ import annotations

import pytest

from forge_sql import errors
from forge_sql.engine import sandbox
from forge_sql.engine.rules import RULES
from forge_sql.sql import tokens
from forge_sql.sql.statements import classify


@pytest.mark.parametrize("sql", [
    "EXPLAIN SELECT * FROM postgres_query('db', 'SELECT 1')",
    "PREPARE p AS SELECT * FROM postgres_query('db', 'SELECT 1')",
    "EXPLAIN ANALYZE PREPARE p AS SELECT * FROM postgres_scan('db', 's', 't')",
])
def test_nested_statements_are_checked_from_the_tokens(
    sql: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    statement = classify(sql, RULES)
    calls: list[str] = []
    monkeypatch.setattr(tokens.duckdb, "tokenize", lambda text: calls.append(text) or [])
    with pytest.raises(errors.InsufficientPrivilege, match="not allowed"):
        sandbox.check_allowed(statement)
    assert calls == []


@pytest.mark.parametrize("sql", [
    "EXPLAIN SELECT 1",
    "EXPLAIN (FORMAT JSON) SELECT * FROM pg_catalog.pg_class WHERE relname ~ 'x'",
    "PREPARE p AS SELECT $1::int",
    "EXPLAIN ANALYZE PREPARE p AS SELECT 1",
])
def test_allowed_nested_statements_are_not_lexed_again(
    sql: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    statement = classify(sql, RULES)
    calls: list[str] = []
    monkeypatch.setattr(tokens.duckdb, "tokenize", lambda text: calls.append(text) or [])
    sandbox.check_allowed(statement)
    assert calls == []
