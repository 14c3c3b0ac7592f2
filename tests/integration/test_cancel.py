"""CancelRequest ("55.2.8 Canceling Requests in Progress"): it interrupts the running statement
of the session whose process id and secret key it names, and nothing else."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import asyncpg
import psycopg
import pytest
import rawclient
from process_stats import wait_busy, wait_idle, wait_until
from psycopg import errors as pgerrors
from server import RunningServer

# Tens of seconds of CPU: only a cancel ends it within the test's deadlines.
ENDLESS = "SELECT sum(i) FROM range(20000000000) t(i)"
CANCEL_DEADLINE = 5.0  # seconds from CancelRequest to ErrorResponse


def sum_query(n: int) -> tuple[str, int]:
    return f"SELECT sum(i) FROM range({n}) t(i)", n * (n - 1) // 2


class Background:
    """Run ``fn`` in a thread; keep its result or exception."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.result: Any = None
        self.error: BaseException | None = None
        self.finished_at = 0.0
        self._thread = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self._thread.start()

    def _run(self, fn: Callable[[], Any]) -> None:
        try:
            self.result = fn()
        except BaseException as exc:
            self.error = exc
        finally:
            self.finished_at = time.monotonic()

    def running(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the statement did not end in time"


@pytest.fixture(autouse=True)
def server_settles(server: RunningServer) -> Any:
    """Each test starts and ends with the server idle, so CPU-based waits mean something."""
    assert wait_idle(server.pid)
    yield
    assert wait_idle(server.pid), "a canceled statement kept running"


@pytest.mark.parametrize("method", ["cancel_safe", "cancel"])
def test_cancel_running_query(server: RunningServer, conn: psycopg.Connection,
                              method: str) -> None:
    query = Background(lambda: conn.execute(ENDLESS).fetchone())
    assert wait_busy(server.pid)
    canceled_at = time.monotonic()
    getattr(conn, method)()
    query.join(CANCEL_DEADLINE + 5)
    assert isinstance(query.error, pgerrors.QueryCanceled), query.error
    assert query.error.sqlstate == "57014"
    assert query.finished_at - canceled_at < CANCEL_DEADLINE
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert conn.execute("SELECT 'after cancel'").fetchone() == ("after cancel",)


def test_cancel_extended_protocol_binary(server: RunningServer, conn: psycopg.Connection) -> None:
    cur = conn.cursor(binary=True)
    query = Background(lambda: cur.execute(
        "SELECT sum(i) FROM range(%s) t(i)", (20_000_000_000,), prepare=True).fetchone())
    assert wait_busy(server.pid)
    conn.cancel_safe()
    query.join(CANCEL_DEADLINE + 5)
    assert isinstance(query.error, pgerrors.QueryCanceled), query.error
    assert cur.execute("SELECT %s::INTEGER", (7,)).fetchone() == (7,)


def test_cancel_inside_transaction_block(server: RunningServer, conn: psycopg.Connection,
                                         table_name: str) -> None:
    conn.execute(f"CREATE TABLE {table_name} (a INTEGER)")
    conn.execute("BEGIN")
    conn.execute(f"INSERT INTO {table_name} VALUES (1)")
    query = Background(lambda: conn.execute(ENDLESS).fetchone())
    assert wait_busy(server.pid)
    conn.cancel_safe()
    query.join(CANCEL_DEADLINE + 5)
    assert isinstance(query.error, pgerrors.QueryCanceled), query.error
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
    with pytest.raises(pgerrors.InFailedSqlTransaction):
        conn.execute("SELECT 1")
    conn.execute("ROLLBACK")
    assert conn.execute(f"SELECT count(*) FROM {table_name}").fetchone() == (0,)


def test_cancel_when_idle_does_nothing(conn: psycopg.Connection) -> None:
    conn.cancel_safe()
    assert conn.execute("SELECT 'idle'").fetchone() == ("idle",)
    assert conn.execute("SELECT 'again'").fetchone() == ("again",)


def test_cancel_with_wrong_key_is_ignored(server: RunningServer) -> None:
    sql, expected = sum_query(1_500_000_000)
    with rawclient.connect(server.host, server.port, timeout=60) as raw:
        raw.startup()
        raw.send(rawclient.query(sql))
        assert wait_busy(server.pid)
        wrong_key = bytes(b ^ 0xFF for b in raw.secret_key)
        answered = threading.Event()

        def forge_cancels() -> None:
            # Keep sending forged cancels while the query runs.
            while not answered.is_set():
                for pid, key in ((raw.process_id, wrong_key), (raw.process_id + 1, raw.secret_key)):
                    with rawclient.connect(server.host, server.port) as forger:
                        forger.send(rawclient.cancel_request(pid, key))
                        assert forger.read_to_close() == []  # the server answers nothing
                time.sleep(0.02)

        forger = Background(forge_cancels)
        messages = raw.read_until_ready()
        answered.set()
        forger.join(10)
        assert forger.error is None, forger.error
    assert rawclient.errors_in(messages) == []
    assert rawclient.data_rows(messages) == [[str(expected)]]


def test_cancel_interrupts_only_that_session(server: RunningServer) -> None:
    other_sql, expected = sum_query(3_000_000_000)
    with psycopg.connect(server.dsn(), autocommit=True) as victim, \
            psycopg.connect(server.dsn(), autocommit=True) as bystander:
        other = Background(lambda: bystander.execute(other_sql).fetchone())
        query = Background(lambda: victim.execute(ENDLESS).fetchone())
        assert wait_busy(server.pid, cpu=0.5)
        assert other.running(), "the bystander's query ended too soon to show anything"
        victim.cancel_safe()
        query.join(CANCEL_DEADLINE + 5)
        assert isinstance(query.error, pgerrors.QueryCanceled), query.error
        other.join(60)
        assert other.error is None, other.error
        assert other.result == (expected,)
        assert query.finished_at < other.finished_at
        assert victim.execute("SELECT 1").fetchone() == (1,)


def test_raw_cancel_request(server: RunningServer) -> None:
    with rawclient.connect(server.host, server.port) as raw:
        raw.startup()
        raw.send(rawclient.query(ENDLESS))
        assert wait_busy(server.pid)
        with rawclient.connect(server.host, server.port) as canceller:
            canceller.send(rawclient.cancel_request(raw.process_id, raw.secret_key))
            assert canceller.read_to_close() == []
        messages = raw.read_until_ready()
        errors = rawclient.errors_in(messages)
        assert [(e["S"], e["C"]) for e in errors] == [("ERROR", "57014")]
        assert messages[-1] == (b"Z", b"I")
        raw.send(rawclient.query("SELECT 5"))
        assert rawclient.data_rows(raw.read_until_ready()) == [["5"]]


def test_asyncpg_timeout_cancels(server: RunningServer) -> None:
    """asyncpg sends a CancelRequest when a statement times out; the connection goes on."""
    async def main() -> tuple[float, int]:
        con = await asyncpg.connect(host=server.host, port=server.port, user="forge",
                                    database="forge", timeout=10)
        try:
            started = time.monotonic()
            with pytest.raises(asyncio.TimeoutError):
                await con.fetchval(ENDLESS, timeout=1.0)
            elapsed = time.monotonic() - started
            return elapsed, int(await con.fetchval("SELECT $1::INTEGER", 9, timeout=10))
        finally:
            await con.close(timeout=10)

    elapsed, value = asyncio.run(main())
    assert value == 9
    assert elapsed < 1.0 + CANCEL_DEADLINE


def test_client_gone_cancels_its_statement(server: RunningServer) -> None:
    """A client that closes its connection while its statement runs: the server notices
    (it watches the connection while a statement runs) and cancels the statement, which
    would otherwise run on for minutes, and the session ends."""
    raw = rawclient.connect(server.host, server.port)
    raw.startup()
    raw.send(rawclient.query(ENDLESS))
    assert wait_busy(server.pid)
    with psycopg.connect(server.dsn(), autocommit=True) as other:
        def sessions() -> set[int]:
            rows = other.execute("SELECT pid FROM pg_stat_activity").fetchall()
            return {pid for (pid,) in rows}

        assert raw.process_id in sessions()
        raw.close()
        assert wait_until(lambda: raw.process_id not in sessions(), CANCEL_DEADLINE * 2), (
            "the statement of a closed connection kept running"
        )
        assert other.execute("SELECT 6").fetchone() == (6,)
