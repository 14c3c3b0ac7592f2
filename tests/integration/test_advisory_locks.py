"""Advisory locks across the sessions of one server (PostgreSQL docs, "Advisory Locks")."""

from __future__ import annotations

import threading
import time

import asyncpg
import psycopg
import pytest
from psycopg import errors as pgerrors
from server import RunningServer, run_asyncpg

KEY = 7_000_001  # keys of this module; other tests use none


def _try(connection: psycopg.Connection, call: str) -> object:
    row = connection.execute(f"SELECT {call}").fetchone()
    assert row is not None
    return row[0]


def test_exclusive_between_sessions(conn: psycopg.Connection, other: psycopg.Connection) -> None:
    assert _try(conn, f"pg_try_advisory_lock({KEY})") is True
    assert _try(conn, f"pg_try_advisory_lock({KEY})") is True  # reentrant
    assert _try(other, f"pg_try_advisory_lock({KEY})") is False
    assert _try(other, f"pg_try_advisory_lock_shared({KEY})") is False
    assert _try(conn, f"pg_advisory_unlock({KEY})") is True
    assert _try(other, f"pg_try_advisory_lock({KEY})") is False  # still held once
    assert _try(conn, f"pg_catalog.pg_advisory_unlock({KEY})") is True
    assert _try(conn, f"pg_advisory_unlock({KEY})") is False  # not held any more
    assert _try(other, f"pg_try_advisory_lock({KEY})") is True
    assert _try(other, "pg_advisory_unlock_all()") == ""


def test_two_key_form_is_its_own_key_space(
    conn: psycopg.Connection, other: psycopg.Connection
) -> None:
    assert _try(conn, f"pg_try_advisory_lock(1, {KEY})") is True
    assert _try(other, f"pg_try_advisory_lock({KEY})") is True
    assert _try(other, f"pg_try_advisory_lock(1, {KEY})") is False
    conn.execute("SELECT pg_advisory_unlock_all()")
    other.execute("SELECT pg_advisory_unlock_all()")


def test_shared_locks(conn: psycopg.Connection, other: psycopg.Connection) -> None:
    assert _try(conn, f"pg_try_advisory_lock_shared({KEY})") is True
    assert _try(other, f"pg_try_advisory_lock_shared({KEY})") is True
    assert _try(other, f"pg_try_advisory_lock({KEY})") is False
    assert _try(conn, f"pg_advisory_unlock_shared({KEY})") is True
    assert _try(other, f"pg_try_advisory_lock({KEY})") is True  # only its own shared hold left
    other.execute("SELECT pg_advisory_unlock_all()")


def test_waiting_lock_is_granted_on_unlock(
    conn: psycopg.Connection, other: psycopg.Connection
) -> None:
    conn.execute(f"SELECT pg_advisory_lock({KEY})")
    acquired: list[float] = []

    def wait() -> None:
        other.execute(f"SELECT pg_advisory_lock({KEY})")
        acquired.append(time.monotonic())

    waiter = threading.Thread(target=wait)
    waiter.start()
    waiter.join(0.5)
    assert waiter.is_alive(), "the lock was granted while another session held it"
    released = time.monotonic()
    conn.execute(f"SELECT pg_advisory_unlock({KEY})")
    waiter.join(10)
    assert acquired and acquired[0] >= released
    assert _try(conn, f"pg_try_advisory_lock({KEY})") is False
    other.execute("SELECT pg_advisory_unlock_all()")


def test_released_when_the_session_ends(server: RunningServer, other: psycopg.Connection) -> None:
    with psycopg.connect(server.dsn(), autocommit=True) as short:
        short.execute(f"SELECT pg_advisory_lock({KEY})")
        assert _try(other, f"pg_try_advisory_lock({KEY})") is False
    deadline = time.monotonic() + 10
    while not _try(other, f"pg_try_advisory_lock({KEY})"):
        assert time.monotonic() < deadline, "the lock outlived its session"
    other.execute("SELECT pg_advisory_unlock_all()")


def test_xact_locks_end_with_the_transaction(
    conn: psycopg.Connection, other: psycopg.Connection
) -> None:
    conn.execute("BEGIN")
    assert _try(conn, f"pg_try_advisory_xact_lock({KEY})") is True
    conn.execute(f"SELECT pg_advisory_xact_lock_shared({KEY} + 1)")
    assert _try(other, f"pg_try_advisory_lock({KEY})") is False
    assert _try(conn, "pg_advisory_unlock_all()") == ""  # session-level only
    assert _try(other, f"pg_try_advisory_lock({KEY})") is False
    conn.execute("COMMIT")
    assert _try(other, f"pg_try_advisory_lock({KEY})") is True
    assert _try(other, f"pg_try_advisory_lock({KEY} + 1)") is True
    other.execute("SELECT pg_advisory_unlock_all()")
    # Outside a block the statement is the transaction.
    assert _try(conn, f"pg_try_advisory_xact_lock({KEY})") is True
    assert _try(other, f"pg_try_advisory_lock({KEY})") is True
    other.execute("SELECT pg_advisory_unlock_all()")


def test_rollback_to_savepoint_releases_xact_locks_taken_since(
    conn: psycopg.Connection, other: psycopg.Connection
) -> None:
    conn.execute("BEGIN")
    conn.execute(f"SELECT pg_advisory_xact_lock({KEY})")
    conn.execute("SAVEPOINT s")
    conn.execute(f"SELECT pg_advisory_xact_lock({KEY} + 1)")
    conn.execute(f"SELECT pg_advisory_xact_lock({KEY})")  # again: only this hold goes
    assert _try(other, f"pg_try_advisory_lock({KEY} + 1)") is False
    conn.execute("ROLLBACK TO s")
    assert _try(other, f"pg_try_advisory_lock({KEY} + 1)") is True
    assert _try(other, f"pg_try_advisory_lock({KEY})") is False  # taken before the savepoint
    conn.execute("COMMIT")
    assert _try(other, f"pg_try_advisory_lock({KEY})") is True
    other.execute("SELECT pg_advisory_unlock_all()")


def test_lock_timeout_and_cancel_end_the_wait(
    conn: psycopg.Connection, other: psycopg.Connection
) -> None:
    conn.execute(f"SELECT pg_advisory_lock({KEY})")
    other.execute("SET lock_timeout = '200ms'")
    started = time.monotonic()
    with pytest.raises(pgerrors.LockNotAvailable, match="lock timeout"):
        other.execute(f"SELECT pg_advisory_lock({KEY})")
    assert time.monotonic() - started < 5
    other.execute("RESET lock_timeout")
    canceller = threading.Timer(0.3, other.cancel)
    canceller.start()
    with pytest.raises(pgerrors.QueryCanceled):
        other.execute(f"SELECT pg_advisory_lock({KEY})")
    canceller.join()
    conn.execute("SELECT pg_advisory_unlock_all()")


def test_asyncpg_pool_reset(server: RunningServer) -> None:
    """asyncpg's connection reset sends pg_advisory_unlock_all() among others."""

    async def body(con: asyncpg.Connection) -> None:
        assert await con.fetchval(f"SELECT pg_try_advisory_lock({KEY})") is True
        await con.reset()
        other = await asyncpg.connect(host=server.host, port=server.port, user="forge",
                                      database=server.database, timeout=10)
        try:
            assert await other.fetchval(f"SELECT pg_try_advisory_lock({KEY})") is True
            await other.execute("SELECT pg_advisory_unlock_all()")
        finally:
            await other.close()

    run_asyncpg(server, body)
