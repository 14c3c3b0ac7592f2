"""pg_stat_activity lists the live sessions; pg_cancel_backend / pg_terminate_backend signal
them, for superusers and for sessions of the same role."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import psycopg
import pytest
from psycopg import errors as pgerrors
from server import RunningServer, start_server

from forge_sql.wire.auth import make_verifier

ENDLESS = "SELECT sum(i) FROM range(20000000000) t(i)"  # only a signal ends it in time
PASSWORD = "s3cret"


def _rows(connection: psycopg.Connection, where: str = "", *params: object) -> list[tuple]:
    sql = "SELECT pid, usename, application_name, state, query FROM pg_stat_activity " + where
    return connection.execute(sql, params).fetchall()


def _wait_for(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 20
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"


class Running:
    """A statement running in a thread; keeps the error it ended with."""

    def __init__(self, connection: psycopg.Connection, sql: str) -> None:
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(connection, sql), daemon=True)
        self._thread.start()

    def _run(self, connection: psycopg.Connection, sql: str) -> None:
        try:
            connection.execute(sql)
        except BaseException as exc:
            self.error = exc

    def join(self) -> None:
        self._thread.join(20)
        assert not self._thread.is_alive(), "the statement was not interrupted"


def _active(observer: psycopg.Connection, pid: int) -> bool:
    return bool(_rows(observer, "WHERE pid = %s AND state = 'active'", pid))


def test_lists_sessions_with_their_state(server: RunningServer) -> None:
    with psycopg.connect(server.dsn(application_name="watcher"), autocommit=True) as me, \
            psycopg.connect(server.dsn(application_name="worker"), autocommit=True) as other:
        other.execute("SELECT 'hello' AS greeting")
        other_pid = other.info.backend_pid
        rows = {r[0]: r for r in _rows(me)}
        mine = rows[me.info.backend_pid]
        assert mine[1:4] == ("forge", "watcher", "active")
        assert "pg_stat_activity" in mine[4]
        assert rows[other.info.backend_pid][1:] == (
            "forge", "worker", "idle", "SELECT 'hello' AS greeting")
        other.execute("BEGIN")
        other.execute("SELECT 1")
        assert _rows(me, "WHERE pid = %s", other.info.backend_pid)[0][3] == "idle in transaction"
        with pytest.raises(pgerrors.UndefinedTable):
            other.execute("SELECT * FROM no_such_table")
        state = _rows(me, "WHERE pid = %s", other.info.backend_pid)[0][3]
        assert state == "idle in transaction (aborted)"
        other.execute("ROLLBACK")
        row = me.execute(
            "SELECT datname, backend_type, client_addr, client_port, wait_event, "
            "backend_start <= now(), xact_start IS NULL, query_start <= now() "
            "FROM pg_catalog.pg_stat_activity WHERE pid = %s", (other.info.backend_pid,)
        ).fetchone()
        assert row is not None
        assert row[:3] == (server.database, "client backend", "127.0.0.1")
        assert row[3] > 0 and row[4] is None and row[5:] == (True, True, True)
        assert me.execute("SELECT pg_backend_pid()").fetchone() == (me.info.backend_pid,)
    with psycopg.connect(server.dsn(), autocommit=True) as after:
        _wait_for(lambda: other_pid not in {r[0] for r in _rows(after)}, "the session to go")


def test_cancel_backend_interrupts_the_statement(server: RunningServer) -> None:
    with psycopg.connect(server.dsn(), autocommit=True) as admin, \
            psycopg.connect(server.dsn(), autocommit=True) as victim:
        pid = victim.info.backend_pid
        running = Running(victim, ENDLESS)
        _wait_for(lambda: _active(admin, pid), "the statement to start")
        assert admin.execute("SELECT pg_cancel_backend(%s)", (pid,)).fetchone() == (True,)
        running.join()
        assert isinstance(running.error, pgerrors.QueryCanceled)
        assert victim.execute("SELECT 1").fetchone() == (1,)  # the session goes on
        assert admin.execute("SELECT pg_cancel_backend(1)").fetchone() == (False,)


def test_terminate_backend_closes_the_session(server: RunningServer) -> None:
    with psycopg.connect(server.dsn(), autocommit=True) as admin:
        victim = psycopg.connect(server.dsn(), autocommit=True)
        pid = victim.info.backend_pid
        running = Running(victim, ENDLESS)
        _wait_for(lambda: _active(admin, pid), "the statement to start")
        assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)
        running.join()
        assert running.error is not None
        # The statement is interrupted and the connection closed with FATAL 57P01.
        assert isinstance(running.error, psycopg.OperationalError | pgerrors.QueryCanceled)
        _wait_for(lambda: not _rows(admin, "WHERE pid = %s", pid), "the session to go")
        with pytest.raises(psycopg.OperationalError):
            victim.execute("SELECT 1")
        victim.close()
        idle = psycopg.connect(server.dsn(), autocommit=True)
        admin.execute("SELECT pg_terminate_backend(%s)", (idle.info.backend_pid,))
        with pytest.raises(pgerrors.AdminShutdown, match="administrator command"):
            idle.execute("SELECT 1")
        idle.close()


@pytest.fixture(scope="module")
def users_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    verifier = make_verifier(PASSWORD)
    config = (f'[users.admin]\npassword = "{verifier}"\nsuperuser = true\n\n'
              f'[users.bob]\npassword = "{verifier}"\n\n'
              f'[users.carol]\npassword = "{verifier}"\n')
    running = start_server(tmp_path_factory.mktemp("activity") / "data", config=config)
    yield running
    log = running.stop()
    assert "Traceback" not in log, log


def _connect(server: RunningServer, user: str) -> psycopg.Connection:
    return psycopg.connect(server.dsn(user=user, password=PASSWORD), autocommit=True)


def test_only_superusers_and_the_same_role_may_signal(users_server: RunningServer) -> None:
    with _connect(users_server, "admin") as admin, _connect(users_server, "bob") as bob, \
            _connect(users_server, "bob") as bob2, _connect(users_server, "carol") as carol:
        assert admin.info.parameter_status("is_superuser") == "on"
        assert bob.info.parameter_status("is_superuser") == "off"
        admin.execute("SELECT 'admin secret'")
        queries = {r[0]: r[4] for r in _rows(bob)}
        assert queries[admin.info.backend_pid] == "<insufficient privilege>"
        assert "pg_stat_activity" in queries[bob.info.backend_pid]
        assert {r[0]: r[4] for r in _rows(admin)}[bob.info.backend_pid].startswith("SELECT")
        for target in (admin, carol):
            with pytest.raises(pgerrors.InsufficientPrivilege, match="permission denied"):
                bob.execute("SELECT pg_cancel_backend(%s)", (target.info.backend_pid,))
            with pytest.raises(pgerrors.InsufficientPrivilege):
                bob.execute("SELECT pg_terminate_backend(%s)", (target.info.backend_pid,))
        pid = bob2.info.backend_pid
        running = Running(bob2, ENDLESS)
        _wait_for(lambda: _active(admin, pid), "the statement to start")
        assert bob.execute("SELECT pg_cancel_backend(%s)", (pid,)).fetchone() == (True,)
        running.join()
        assert isinstance(running.error, pgerrors.QueryCanceled)
        assert admin.execute("SELECT pg_terminate_backend(%s)", (carol.info.backend_pid,)
                             ).fetchone() == (True,)
        with pytest.raises(pgerrors.AdminShutdown):
            carol.execute("SELECT 1")
