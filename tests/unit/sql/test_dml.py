"""The clauses of INSERT, UPDATE and DELETE as forge_sql.sql.dml cuts them."""

from __future__ import annotations

import pytest

from forge_sql import errors
from forge_sql.sql import dml
from forge_sql.sql.statements import split


def test_insert_with_columns_conflict_and_returning() -> None:
    parsed = dml.parse(
        'INSERT INTO s."T" AS z (a, "B") SELECT x, y FROM u JOIN v ON u.k = v.k '
        "ON CONFLICT (a) WHERE a > 0 DO UPDATE SET b = excluded.b WHERE z.b < 3 "
        "RETURNING *, a * 2 AS x;"
    )
    assert parsed is not None
    assert (parsed.verb, parsed.target, parsed.alias, parsed.columns) == (
        "INSERT", 's."T"', "z", ("a", "B"))
    assert parsed.source == "SELECT x, y FROM u JOIN v ON u.k = v.k"
    assert parsed.conflict == dml.Conflict(("a",), None, "a > 0", True, "b = excluded.b",
                                           "z.b < 3")
    assert parsed.returning == "*, a * 2 AS x"
    assert parsed.name == "z"


def test_on_constraint_do_nothing() -> None:
    parsed = dml.parse("INSERT INTO t VALUES ($1) ON CONFLICT ON CONSTRAINT t_pkey DO NOTHING")
    assert parsed is not None and parsed.returning is None
    assert parsed.conflict == dml.Conflict((), "t_pkey", "", False, "", "")


def test_update_and_delete_clauses() -> None:
    update = dml.parse(
        "UPDATE ONLY t q SET a = (SELECT 1 FROM x WHERE y), b = substring(c FROM 2) "
        "FROM o WHERE o.id = q.id RETURNING q.*"
    )
    assert update is not None
    assert (update.target, update.alias, update.from_, update.where, update.returning) == (
        "t", "q", "o", "o.id = q.id", "q.*")
    assert update.assignments == "a = (SELECT 1 FROM x WHERE y), b = substring(c FROM 2)"
    delete = dml.parse("WITH w AS (SELECT 1) DELETE FROM t USING u WHERE t.id = u.id "
                       "RETURNING t.id")
    assert delete is not None
    assert (delete.with_, delete.from_, delete.where, delete.returning) == (
        "WITH w AS (SELECT 1)", "u", "t.id = u.id", "t.id")


@pytest.mark.parametrize("sql", [
    "INSERT OR REPLACE INTO t VALUES (1)",
    "SELECT 1",
    "TRUNCATE t",
])
def test_not_plain_dml(sql: str) -> None:
    assert dml.parse(sql) is None


def test_assignments() -> None:
    assert dml.assigned_columns('a = 1, "B" = excluded.b, (c, d) = (1, f(2, 3))') == [
        ("a", "1"), ("B", "excluded.b"), ("c", "1"), ("d", "f(2, 3)")]
    with pytest.raises(errors.SyntaxError_):
        dml.assigned_columns("a")


def test_bad_conflict_action() -> None:
    with pytest.raises(errors.SyntaxError_):
        dml.parse("INSERT INTO t VALUES (1) ON CONFLICT (a) DO SOMETHING")


@pytest.mark.parametrize("sql", [
    "INSERT INTO t VALUES (1) ON CONFLICT ON CONSTRAINT c DO NOTHING RETURNING * FROM s "
    "UNION SELECT 1",
    "INSERT INTO t VALUES (1) ON CONFLICT ON CONSTRAINT c DO UPDATE SET a = 1 WHERE true "
    "UNION SELECT * FROM s",
])
def test_on_constraint_text_must_parse_as_an_insert(sql: str) -> None:
    """DuckDB's parser refuses ON CONSTRAINT, so the statement is checked with the arbiter
    written as columns: nothing else can ride along in its clauses."""
    with pytest.raises(errors.SyntaxError_):
        split(sql)
    assert split(sql.partition(" RETURNING")[0].partition(" WHERE true")[0])[0].kind == "INSERT"
