"""After DuckDB invalidates the database (a FATAL error), sessions are told so and closed,
new ones are refused while old ones remain, and the database opens again with every
committed row once they have ended.

No SQL is known to invalidate DuckDB 1.5.5 reliably, so the test marks the database as
DuckDB's FatalException handling does (Database.invalidate), in process."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from forge_sql import errors
from forge_sql.config import Settings
from forge_sql.engine.backend import Engine
from forge_sql.engine.session import EngineSession
from forge_sql.seam.backend import StartupInfo

STARTUP = StartupInfo(user="forge", database="forge")


def _run(session: EngineSession, sql: str) -> object:
    prepared = session.prepare(sql, ())
    result = session.execute(prepared, ())
    batches = []
    next_batch = getattr(result, "next_batch", None)
    while next_batch is not None and (batch := next_batch()) is not None:
        batches.append(batch)
    session.sync()
    return [row for batch in batches for row in batch.to_pylist()]


def test_invalidated_database_reopens_with_committed_data(tmp_path: Path) -> None:
    engine = Engine(Settings(data_dir=tmp_path / "data"))
    try:
        first = engine.open_session(STARTUP)
        _run(first, "CREATE TABLE kept (v INTEGER)")
        _run(first, "INSERT INTO kept VALUES (1), (2)")
        engine.database.invalidate("Information loss on integer cast (as DuckDB reports it)")

        with pytest.raises(errors.CrashShutdown) as raised:
            _run(first, "SELECT 1")
        assert "integer cast" in (raised.value.detail or "")
        with pytest.raises(errors.CannotConnectNow):
            engine.open_session(STARTUP)

        first.close()  # the last session: the database opens again
        assert engine.database.invalidated is None
        second = engine.open_session(STARTUP)
        assert _run(second, "SELECT v FROM kept ORDER BY v") == [{"v": 1}, {"v": 2}]
        _run(second, "INSERT INTO kept VALUES (3)")
        assert _run(second, "SELECT count(*) AS n FROM kept") == [{"n": 3}]
        second.close()
    finally:
        engine.close()


def test_jobs_run_after_the_database_reopens(tmp_path: Path) -> None:
    """The job scheduler's lake connection is one of the reopened database's: a job
    scheduled after the reopening runs."""
    engine = Engine(Settings(data_dir=tmp_path / "data"))
    try:
        first = engine.open_session(STARTUP)
        _run(first, "SELECT 1")
        engine.database.invalidate("Information loss on integer cast (as DuckDB reports it)")
        first.close()
        session = engine.open_session(STARTUP)  # reopens
        _run(session, "SELECT cron.schedule('after reopening', '1 seconds', 'SELECT 1')")
        deadline = time.monotonic() + 60
        runs: object = []
        while time.monotonic() < deadline:
            runs = _run(session, "SELECT status FROM cron.job_run_details "
                                 "WHERE status = 'succeeded' LIMIT 1")
            if runs:
                break
            time.sleep(0.2)
        assert runs == [{"status": "succeeded"}]
        session.close()
    finally:
        engine.close()
