"""Savepoint statements parsed, the journal's bookkeeping, and what cannot be replayed."""

from __future__ import annotations

import pytest

from forge_sql import errors
from forge_sql.engine import savepoints
from forge_sql.sql.statements import classify

VOLATILE = frozenset({"random", "uuid", "now", "nextval"})


@pytest.mark.parametrize(("sql", "name"), [
    ("SAVEPOINT s1", "s1"),
    ("SAVEPOINT Mixed", "mixed"),
    ('SAVEPOINT "Mixed Case"', "Mixed Case"),
    ("RELEASE SAVEPOINT _pg3_1", "_pg3_1"),
    ("RELEASE sa_savepoint_1", "sa_savepoint_1"),
    ("ROLLBACK TO SAVEPOINT x", "x"),
    ("ROLLBACK TO x", "x"),
    ("ROLLBACK WORK TO SAVEPOINT x", "x"),
    ("rollback transaction to savepoint X", "x"),
])
def test_savepoint_name(sql: str, name: str) -> None:
    assert savepoints.savepoint_name(classify(sql)) == name


@pytest.mark.parametrize("sql", ["SAVEPOINT", "ROLLBACK TO", "SAVEPOINT a b"])
def test_savepoint_name_syntax_errors(sql: str) -> None:
    with pytest.raises(errors.SyntaxError_):
        savepoints.savepoint_name(classify(sql))


@pytest.mark.parametrize(("sql", "found"), [
    ("INSERT INTO t VALUES (1, 'random')", None),
    ("INSERT INTO t VALUES (random())", "random"),
    ("INSERT INTO t SELECT uuid() FROM range(3)", "uuid"),
    ("UPDATE t SET ts = CURRENT_TIMESTAMP", "current_timestamp"),
    ('INSERT INTO t VALUES ("NOW"())', "now"),
    ("INSERT INTO t (random) VALUES (1)", None),  # a column called random
    ("DELETE FROM t WHERE a = abs(-1)", None),
])
def test_volatile_call(sql: str, found: str | None) -> None:
    assert savepoints.volatile_call(classify(sql), VOLATILE) == found


def test_find_the_latest_of_a_name() -> None:
    journal = savepoints.Journal()
    for name, mark in [("a", 0), ("b", 1), ("a", 2)]:
        journal.savepoints.append(savepoints.Savepoint(name, mark, {}, frozenset(), 0))
    assert journal.find("a") == 2
    assert journal.find("b") == 1
    savepoints.release(journal, "b")  # and the ones after it
    assert [s.name for s in journal.savepoints] == ["a"]
    with pytest.raises(errors.InvalidSavepointSpecification):
        journal.find("b")


def test_journal_bound_makes_writes_unreplayable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(savepoints, "MAX_WRITES", 2)
    journal = savepoints.Journal()
    statement = classify("INSERT INTO t VALUES ($1)")
    for value in range(3):
        journal.record(statement, statement.sql, [value])
    assert [w.reason for w in journal.writes[:2]] == [None, None]
    assert journal.writes[2].reason == "the transaction wrote too much to be replayed"
    journal.record(statement, statement.sql, None, "COPY data is not kept")
    assert journal.writes[3].reason == "COPY data is not kept"
    journal.reset()
    assert journal.writes == [] and journal.size == 0
