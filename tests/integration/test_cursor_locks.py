"""Reading a SQL cursor runs its query further, which reads the lake: each read holds the
catalog shared, as a statement does, so it never runs beside a catalog change (DuckDB
1.5.5 crashed when catalog changes ran beside reads of the lake)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from forge_sql.config import Settings
from forge_sql.engine import locks
from forge_sql.engine.database import Database
from forge_sql.engine.session import EngineSession
from forge_sql.seam.backend import Result, StartupInfo

PID = 4242
CHANGE = "a catalog change of another session"


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    database = Database(Settings(data_dir=tmp_path / "data"))
    try:
        yield database
    finally:
        database.close()


@pytest.fixture
def session(database: Database) -> Iterator[EngineSession]:
    session = EngineSession(database, StartupInfo("forge", database.catalog, process_id=PID))
    try:
        yield session
    finally:
        session.close()


def _run(session: EngineSession, sql: str) -> Result:
    (statement,) = session.split(sql)
    result = session.execute(statement, ())
    session.sync()  # the end of a simple query: an implicit transaction commits
    session.ready()
    return result


def _waits_for_catalog(database: Database, done: Callable[[], bool]) -> bool:
    """Whether the session queues for the catalog before ``done()``."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if any(
            pid == PID and target == locks.CATALOG and not granted
            for target, pid, _mode, granted, _since in database.locks.rows()
        ):
            return True
        if done():
            return False
        time.sleep(0.01)
    raise AssertionError("neither waited nor finished")


def _in_background(action: Callable[[], object]) -> tuple[threading.Thread, list[object]]:
    out: list[object] = []
    thread = threading.Thread(target=lambda: out.append(action()), daemon=True)
    thread.start()
    return thread, out


def _prepare(session: EngineSession) -> None:
    _run(session, "CREATE TABLE numbers AS SELECT range AS v FROM range(200000)")
    _run(session, "BEGIN")
    _run(session, "DECLARE c CURSOR FOR SELECT v FROM numbers ORDER BY v")


def test_fetch_reads_while_holding_the_catalog(
    database: Database, session: EngineSession
) -> None:
    _prepare(session)
    fetch = _run(session, "FETCH 5 FROM c")  # its rows are read as the client takes them
    database.locks.acquire(CHANGE, 1, locks.CATALOG, locks.ACCESS_EXCLUSIVE)
    try:
        thread, out = _in_background(fetch.next_batch)
        assert _waits_for_catalog(database, lambda: not thread.is_alive()), (
            "the cursor read the lake while a catalog change held the catalog"
        )
    finally:
        database.locks.release(CHANGE, locks.CATALOG, locks.ACCESS_EXCLUSIVE)
    thread.join(30)
    batch = out[0]
    assert batch is not None and batch.column(0).to_pylist() == [0, 1, 2, 3, 4]  # type: ignore[attr-defined]
    held = [(t, mode) for t, pid, mode, *_ in database.locks.rows() if pid == PID]
    assert held == [], held  # given back


def test_spilling_a_cursor_holds_the_catalog(
    database: Database, session: EngineSession
) -> None:
    """Another statement makes the cursor's unread rows move to a file: reading them is a
    read of the lake too."""
    _prepare(session)
    database.locks.acquire(CHANGE, 1, locks.CATALOG, locks.ACCESS_EXCLUSIVE)
    try:
        thread, _ = _in_background(lambda: session.cursors.spill_live(lambda flag: None))
        assert _waits_for_catalog(database, lambda: not thread.is_alive())
    finally:
        database.locks.release(CHANGE, locks.CATALOG, locks.ACCESS_EXCLUSIVE)
    thread.join(30)
    fetch = _run(session, "FETCH 3 FROM c")
    batch = fetch.next_batch()
    assert batch is not None and batch.column(0).to_pylist() == [0, 1, 2]
    _run(session, "COMMIT")
