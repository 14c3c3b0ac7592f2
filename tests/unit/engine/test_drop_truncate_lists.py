"""DROP TABLE a, b and TRUNCATE a, b on a real engine session: every object or none, as
PostgreSQL does it (sql.object_lists, engine.session)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from forge_sql import errors
from forge_sql.config import Settings
from forge_sql.engine import lock_targets, locks
from forge_sql.engine.backend import Engine
from forge_sql.engine.session import EngineSession
from forge_sql.seam.backend import StartupInfo
from forge_sql.sql.statements import classify


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineSession]:
    data: Path = tmp_path_factory.mktemp("lists") / "data"
    engine = Engine(Settings(data_dir=data))
    opened = engine.open_session(StartupInfo(user="forge", database="forge"))
    try:
        yield opened
    finally:
        opened.close()
        engine.close()


def run(session: EngineSession, sql: str) -> tuple[str, list[tuple[object, ...]]]:
    tag, rows = "", []
    try:
        for statement in session.split(sql):
            result = session.execute(statement, ())
            while (batch := result.next_batch()) is not None:
                rows += [tuple(r.values()) for r in batch.to_pylist()]
            tag = result.command_tag()
            result.close()
        session.sync()
    except errors.ForgeError:
        session.error_occurred()
        raise
    finally:
        session.ready()
    return tag, rows


def tables(session: EngineSession, prefix: str) -> list[str]:
    found = run(session, f"SELECT table_name FROM duckdb_tables() WHERE table_name LIKE "
                         f"'{prefix}%' ORDER BY 1")[1]
    return [str(name) for (name,) in found]


def test_drop_table_list_drops_all_or_none(session: EngineSession) -> None:
    run(session, "CREATE TABLE dl_a (x INT); CREATE TABLE dl_b (x INT); CREATE TABLE dl_c (x INT)")
    with pytest.raises(errors.UndefinedTable):
        run(session, "DROP TABLE dl_a, dl_missing, dl_b")
    assert tables(session, "dl_") == ["dl_a", "dl_b", "dl_c"]
    assert run(session, "DROP TABLE IF EXISTS dl_a, dl_missing, dl_b")[0] == "DROP TABLE"
    assert tables(session, "dl_") == ["dl_c"]
    run(session, "BEGIN")
    run(session, "DROP TABLE IF EXISTS dl_c, dl_d")
    run(session, "ROLLBACK")
    assert tables(session, "dl_") == ["dl_c"]


def test_drop_view_list(session: EngineSession) -> None:
    run(session, "CREATE VIEW dv_a AS SELECT 1 AS one; CREATE VIEW dv_b AS SELECT 2 AS two")
    with pytest.raises(errors.UndefinedTable):
        run(session, "DROP VIEW dv_a, dv_missing")
    assert run(session, "DROP VIEW dv_a, dv_b")[0] == "DROP VIEW"
    found = run(session, "SELECT count(*) FROM duckdb_views() WHERE view_name LIKE 'dv_%'")
    assert found[1] == [(0,)]


def test_truncate_list_empties_each_table(session: EngineSession) -> None:
    run(session, "CREATE TABLE tl_a AS SELECT range AS x FROM range(3)")
    run(session, "CREATE TABLE tl_b AS SELECT range AS x FROM range(2)")
    with pytest.raises(errors.UndefinedTable):
        run(session, "TRUNCATE tl_a, tl_missing")
    assert run(session, "SELECT (SELECT count(*) FROM tl_a), (SELECT count(*) FROM tl_b)")[1] == [
        (3, 2)
    ]
    tag = run(session, "TRUNCATE TABLE tl_a, tl_b RESTART IDENTITY CASCADE")[0]
    assert tag == "TRUNCATE TABLE"
    assert run(session, "SELECT (SELECT count(*) FROM tl_a), (SELECT count(*) FROM tl_b)")[1] == [
        (0, 0)
    ]


def test_every_table_of_a_list_is_locked() -> None:
    wanted = lock_targets.targets(classify('TRUNCATE a, s."B"'))
    assert wanted == [
        (locks.relation("public", "a"), locks.ACCESS_EXCLUSIVE),
        (locks.relation("s", "B"), locks.ACCESS_EXCLUSIVE),
    ]
    wanted = lock_targets.targets(classify("DROP TABLE IF EXISTS a, b"))
    assert wanted[1:] == [
        (locks.relation("public", "a"), locks.ACCESS_EXCLUSIVE),
        (locks.relation("public", "b"), locks.ACCESS_EXCLUSIVE),
    ]
