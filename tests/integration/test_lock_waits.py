"""Writers of one table wait for each other instead of failing at COMMIT; the wait obeys
cancel, lock_timeout and statement_timeout, deadlocks end with 40P01, and pg_locks and
pg_stat_activity show who waits for whom."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import psycopg
import pytest
from psycopg import errors as pgerrors
from server import RunningServer

WAIT_SECONDS = 30


class Background:
    """A statement run on another thread, whose outcome the test reads afterwards."""

    def __init__(self, action: Callable[[], object]) -> None:
        self.error: BaseException | None = None
        self.result: object = None
        self._action = action
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.result = self._action()
        except BaseException as exc:
            self.error = exc

    def join(self) -> None:
        self._thread.join(WAIT_SECONDS)
        assert not self._thread.is_alive(), "the statement is still waiting"

    @property
    def running(self) -> bool:
        return self._thread.is_alive()


def _wait_until(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _waiting(conn: psycopg.Connection, pid: int) -> bool:
    row = conn.execute(
        "SELECT wait_event_type, wait_event FROM pg_stat_activity WHERE pid = %s", (pid,)
    ).fetchone()
    return row == ("Lock", "relation")


@pytest.fixture
def third(server: RunningServer) -> Iterator[psycopg.Connection]:
    with psycopg.connect(server.dsn(), autocommit=True) as connection:
        yield connection


def test_second_writer_waits_for_commit(
    conn: psycopg.Connection, other: psycopg.Connection, third: psycopg.Connection,
    table_name: str,
) -> None:
    conn.execute(f"CREATE TABLE {table_name} (id INTEGER, v INTEGER)")
    conn.execute(f"INSERT INTO {table_name} VALUES (1, 0)")
    conn.execute("BEGIN")
    conn.execute(f"UPDATE {table_name} SET v = v + 1 WHERE id = 1")
    waiter = Background(
        lambda: other.execute(f"UPDATE {table_name} SET v = v + 10 WHERE id = 1")
    )
    _wait_until(lambda: _waiting(third, other.info.backend_pid))
    locks = third.execute(
        "SELECT l.pid, l.mode, l.granted, l.locktype FROM pg_locks l "
        "JOIN pg_class c ON c.oid = l.relation WHERE c.relname = %s ORDER BY l.granted DESC",
        (table_name,),
    ).fetchall()
    assert locks == [
        (conn.info.backend_pid, "ExclusiveLock", True, "relation"),
        (other.info.backend_pid, "ExclusiveLock", False, "relation"),
    ]
    assert waiter.running
    conn.execute("COMMIT")
    waiter.join()
    assert waiter.error is None
    assert third.execute(f"SELECT v FROM {table_name}").fetchone() == (11,)
    assert not _waiting(third, other.info.backend_pid)
    assert third.execute(
        "SELECT count(*) FROM pg_locks WHERE pid IN (%s, %s)",
        (conn.info.backend_pid, other.info.backend_pid),
    ).fetchone() == (0,)


def test_prepared_writer_waits_on_what_was_committed(
    conn: psycopg.Connection, other: psycopg.Connection, third: psycopg.Connection,
    table_name: str,
) -> None:
    """pgbench -M prepared: every statement of the script is prepared (Parse, which binds
    it in DuckDB) before the first one runs; the UPDATE that then waits for the table works
    on the rows the holder committed, and its COMMIT succeeds."""
    conn.execute(f"CREATE TABLE {table_name} (id INTEGER, v INTEGER)")
    conn.execute(f"INSERT INTO {table_name} VALUES (1, 0)")
    conn.execute("BEGIN")
    conn.execute(f"UPDATE {table_name} SET v = v + 1 WHERE id = 1")

    def prepared_update() -> object:
        with other.transaction():
            for name, sql in (("read", f"SELECT v FROM {table_name} WHERE id = $1"),
                              ("write", f"UPDATE {table_name} SET v = v + $1 WHERE id = $2")):
                prepared = other.pgconn.prepare(name.encode(), sql.encode())
                assert prepared.status == psycopg.pq.ExecStatus.COMMAND_OK, prepared
            wrote = other.pgconn.exec_prepared(b"write", [b"10", b"1"])
            assert wrote.status == psycopg.pq.ExecStatus.COMMAND_OK, wrote.error_message
            read = other.pgconn.exec_prepared(b"read", [b"1"])
            return read.get_value(0, 0)

    waiter = Background(prepared_update)
    _wait_until(lambda: _waiting(third, other.info.backend_pid))
    conn.execute("COMMIT")
    waiter.join()
    assert waiter.error is None
    assert waiter.result == b"11"
    assert third.execute(f"SELECT v FROM {table_name}").fetchone() == (11,)


def test_readers_do_not_wait_for_a_writer(
    conn: psycopg.Connection, other: psycopg.Connection, table_name: str
) -> None:
    conn.execute(f"CREATE TABLE {table_name} (v INTEGER)")
    conn.execute(f"INSERT INTO {table_name} VALUES (1)")
    conn.execute("BEGIN")
    conn.execute(f"INSERT INTO {table_name} VALUES (2)")
    assert other.execute(f"SELECT count(*) FROM {table_name}").fetchone() == (1,)
    conn.execute("ROLLBACK")


def test_lock_timeout(conn: psycopg.Connection, other: psycopg.Connection,
                      table_name: str) -> None:
    conn.execute(f"CREATE TABLE {table_name} (v INTEGER)")
    conn.execute("BEGIN")
    conn.execute(f"INSERT INTO {table_name} VALUES (1)")
    other.execute("SET lock_timeout = '200ms'")
    started = time.monotonic()
    with pytest.raises(pgerrors.LockNotAvailable, match="lock timeout"):
        other.execute(f"INSERT INTO {table_name} VALUES (2)")
    assert 0.15 < time.monotonic() - started < 5
    conn.execute("COMMIT")
    other.execute(f"INSERT INTO {table_name} VALUES (3)")  # the lock is free again
    assert other.execute(f"SELECT v FROM {table_name} ORDER BY v").fetchall() == [(1,), (3,)]


def test_statement_timeout_ends_the_wait(conn: psycopg.Connection, other: psycopg.Connection,
                                         table_name: str) -> None:
    conn.execute(f"CREATE TABLE {table_name} (v INTEGER)")
    conn.execute("BEGIN")
    conn.execute(f"DELETE FROM {table_name}")
    other.execute("SET statement_timeout = '300ms'")
    with pytest.raises(pgerrors.QueryCanceled, match="statement timeout"):
        other.execute(f"DELETE FROM {table_name}")
    conn.execute("ROLLBACK")
    other.execute("SET statement_timeout = 0")
    assert other.execute("SELECT 1").fetchone() == (1,)


def test_cancel_ends_the_wait(conn: psycopg.Connection, other: psycopg.Connection,
                              third: psycopg.Connection, table_name: str) -> None:
    conn.execute(f"CREATE TABLE {table_name} (v INTEGER)")
    conn.execute("BEGIN")
    conn.execute(f"INSERT INTO {table_name} VALUES (1)")
    waiter = Background(lambda: other.execute(f"INSERT INTO {table_name} VALUES (2)"))
    _wait_until(lambda: _waiting(third, other.info.backend_pid))
    other.cancel_safe()
    waiter.join()
    assert isinstance(waiter.error, pgerrors.QueryCanceled)
    conn.execute("COMMIT")
    # The session goes on, and its next statements are not cancelled.
    assert other.execute("SELECT 1").fetchone() == (1,)
    other.execute(f"INSERT INTO {table_name} VALUES (3)")
    assert other.execute(f"SELECT v FROM {table_name} ORDER BY v").fetchall() == [(1,), (3,)]


def test_deadlock_has_one_victim(conn: psycopg.Connection, other: psycopg.Connection,
                                 third: psycopg.Connection, table_name: str) -> None:
    first, second = f"{table_name}_a", f"{table_name}_b"
    conn.execute(f"CREATE TABLE {first} (v INTEGER)")
    conn.execute(f"CREATE TABLE {second} (v INTEGER)")
    conn.execute("BEGIN")
    other.execute("BEGIN")
    conn.execute(f"INSERT INTO {first} VALUES (1)")
    other.execute(f"INSERT INTO {second} VALUES (2)")
    waiter = Background(lambda: conn.execute(f"INSERT INTO {second} VALUES (1)"))
    _wait_until(lambda: _waiting(third, conn.info.backend_pid))
    with pytest.raises(pgerrors.DeadlockDetected) as raised:
        other.execute(f"INSERT INTO {first} VALUES (2)")
    assert raised.value.diag.message_detail is not None
    assert f"Process {other.info.backend_pid} waits for ExclusiveLock" in (
        raised.value.diag.message_detail
    )
    other.execute("ROLLBACK")
    waiter.join()
    assert waiter.error is None
    conn.execute("COMMIT")
    assert third.execute(f"SELECT v FROM {first}").fetchall() == [(1,)]
    assert third.execute(f"SELECT v FROM {second}").fetchall() == [(1,)]


def test_counter_updates_never_fail(server: RunningServer, conn: psycopg.Connection,
                                    table_name: str) -> None:
    """Read-modify-write transactions on one row, as pgbench runs them: no 40001."""
    conn.execute(f"CREATE TABLE {table_name} (id INTEGER, v INTEGER)")
    conn.execute(f"INSERT INTO {table_name} VALUES (1, 0)")
    sessions, rounds = 4, 15
    failures: list[BaseException] = []

    def work() -> None:
        try:
            with psycopg.connect(server.dsn(), autocommit=True) as own:
                for _ in range(rounds):
                    with own.transaction():
                        own.execute(f"UPDATE {table_name} SET v = v + 1 WHERE id = 1")
                        own.execute(f"SELECT v FROM {table_name} WHERE id = 1").fetchone()
                    own.execute(f"INSERT INTO {table_name} VALUES (2, 1)")
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work, daemon=True) for _ in range(sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert failures == []
    assert conn.execute(
        f"SELECT sum(v) FILTER (WHERE id = 1), count(*) FILTER (WHERE id = 2) FROM {table_name}"
    ).fetchone() == (sessions * rounds, sessions * rounds)


def test_maintenance_waits_for_a_transaction_changing_the_catalog(
    conn: psycopg.Connection, other: psycopg.Connection, table_name: str
) -> None:
    conn.execute("BEGIN")
    conn.execute(f"CREATE TABLE {table_name} (v INTEGER)")
    other.execute("SET lock_timeout = '200ms'")
    with pytest.raises(pgerrors.LockNotAvailable, match="lock timeout"):
        other.execute("CALL forge_expire()")
    other.execute("SET lock_timeout = 0")
    call = Background(lambda: other.execute("CALL forge_expire()").fetchall())
    time.sleep(0.3)
    assert call.running  # still waiting for the transaction to end
    conn.execute(f"INSERT INTO {table_name} VALUES (1)")
    conn.execute("COMMIT")
    call.join()
    assert call.error is None, call.error
    assert other.execute(f"SELECT v FROM {table_name}").fetchall() == [(1,)]
