"""Each kind of statement reaches the part of the engine that answers it
(engine.session), and a DML tag counts the rows from the statement's kind."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from forge_sql import errors
from forge_sql.config import Settings
from forge_sql.engine import locks
from forge_sql.engine.backend import Engine
from forge_sql.engine.session import EngineSession
from forge_sql.seam.backend import StartupInfo


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineSession]:
    data: Path = tmp_path_factory.mktemp("kinds") / "data"
    engine = Engine(Settings(data_dir=data))
    opened = engine.open_session(StartupInfo(user="forge", database="forge"))
    try:
        yield opened
    finally:
        opened.close()
        engine.close()


def _run(session: EngineSession, sql: str) -> tuple[str, list[object]]:
    tag, rows = "", []
    for statement in session.split(sql):
        result = session.execute(statement, ())
        while (batch := result.next_batch()) is not None:
            rows += [tuple(r.values()) for r in batch.to_pylist()]
        tag = result.command_tag()
        result.close()
    session.sync()
    session.ready()
    return tag, rows


@pytest.mark.parametrize(
    ("sql", "tag"),
    [
        ("CREATE TABLE kinds AS SELECT range AS i FROM range(3)", "SELECT 3"),
        ("INSERT INTO kinds VALUES (3), (4)", "INSERT 0 2"),
        ("UPDATE kinds SET i = i + 10 WHERE i < 2", "UPDATE 2"),
        ("DELETE FROM kinds WHERE i > 10", "DELETE 1"),
        ("SELECT * FROM kinds", "SELECT 4"),
        ("CREATE VIEW kinds_view AS SELECT 1 AS one", "CREATE VIEW"),
        ("DROP VIEW kinds_view", "DROP VIEW"),
        ("SET application_name = 'kinds'", "SET"),
        ("BEGIN", "BEGIN"),
        ("SAVEPOINT s", "SAVEPOINT"),
        ("DECLARE c CURSOR FOR SELECT * FROM kinds", "DECLARE CURSOR"),
        ("FETCH 2 FROM c", "FETCH 2"),
        ("ROLLBACK TO SAVEPOINT s", "ROLLBACK"),
        ("COMMIT", "COMMIT"),
        ("DISCARD ALL", "DISCARD ALL"),
    ],
)
def test_statement_kinds_answer_with_postgresql_tags(
    session: EngineSession, sql: str, tag: str
) -> None:
    assert _run(session, sql)[0] == tag


def test_show_answers_without_duckdb(session: EngineSession) -> None:
    _run(session, "SET application_name = 'shown'")
    assert _run(session, "SHOW application_name") == ("SHOW", [("shown",)])


def test_read_only_transaction_refuses_writes_but_not_reads(session: EngineSession) -> None:
    _run(session, "BEGIN READ ONLY")
    assert _run(session, "SELECT 1")[1] == [(1,)]
    with pytest.raises(errors.ReadOnlySqlTransaction):
        _run(session, "INSERT INTO kinds VALUES (5)")
    _run(session, "ROLLBACK")


def test_a_streamed_result_holds_the_catalog_until_read(session: EngineSession) -> None:
    table, token = session._database.locks, session.backend.token
    (statement,) = session.split("SELECT range FROM range(10)")
    result = session.execute(statement, ())
    assert table.holds(token, locks.CATALOG, locks.ACCESS_SHARE)
    while result.next_batch() is not None:
        pass
    assert not table.holds(token, locks.CATALOG, locks.ACCESS_SHARE)
    session.sync()
    session.ready()
