"""A server process that dies by a signal (a native crash in DuckDB or an extension, or
kill -9) is started again on the same port by serve's supervisor, as PostgreSQL's
postmaster restarts after a backend crash: committed rows are there, the transaction
open at the time is gone, and the log says what happened (restart_after_crash)."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import psycopg
import pytest
from server import start_server


@pytest.mark.parametrize(
    ("signum", "words"),
    [
        (signal.SIGSEGV, "terminated by signal 11: Segmentation fault"),
        pytest.param(signal.SIGKILL, "terminated by signal 9: Killed",
                     marks=pytest.mark.slow),
    ],
    ids=["SIGSEGV", "SIGKILL"],
)
def test_a_crashed_server_process_is_started_again(
    tmp_path: Path, signum: int, words: str
) -> None:
    server = start_server(tmp_path / "data")
    in_flight = running = None
    try:
        crashed = server.pid
        assert crashed != server.process.pid  # the supervisor started it
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (i integer)")
            conn.execute("INSERT INTO kept VALUES (1), (2)")
        in_flight = psycopg.connect(server.dsn())
        in_flight.execute("INSERT INTO kept VALUES (3)")  # never committed
        running = psycopg.connect(server.dsn(), autocommit=True)
        lost: list[BaseException] = []

        def query() -> None:
            try:
                running.execute("SELECT pg_sleep(60)")
            except psycopg.Error as exc:
                lost.append(exc)

        sleeper = threading.Thread(target=query, daemon=True)
        sleeper.start()
        os.kill(crashed, signum)
        sleeper.join(60)
        assert lost and isinstance(lost[0], psycopg.OperationalError), lost
        with pytest.raises(psycopg.OperationalError):
            in_flight.execute("COMMIT")
        # Connections made meanwhile wait in the listening socket's backlog.
        with psycopg.connect(server.dsn(), autocommit=True, connect_timeout=180) as conn:
            assert conn.execute("SELECT i FROM kept ORDER BY i").fetchall() == [(1,), (2,)]
            conn.execute("INSERT INTO kept VALUES (4)")
            assert conn.execute("SELECT count(*) FROM kept").fetchone() == (3,)
        assert server.pid != crashed
        assert server.process.poll() is None
    finally:
        for conn in (in_flight, running):
            if conn is not None:
                conn.close()
        log = server.stop()
    assert server.process.returncode == 0, log[-3000:]  # SIGTERM still ends both
    assert f"server process (PID {crashed}) was {words}" in log
    assert "all server processes terminated; reinitializing" in log
    assert "forge_sql: shut down\n" in log


@pytest.mark.slow
def test_without_restart_after_crash_a_crash_ends_the_service(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", "--no-restart-after-crash")
    try:
        assert server.pid == server.process.pid  # no supervisor
        os.kill(server.pid, signal.SIGSEGV)
        assert server.process.wait(60) == -signal.SIGSEGV
    finally:
        server.stop()
