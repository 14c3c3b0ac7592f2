"""``kill -9`` while sessions insert, transfer between accounts and swap tables at once:
after a restart every acknowledged transaction is there whole, nothing else is, and no
transaction shows in part."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable

import psycopg
import pytest
from server import RunningServer, start_server

ACCOUNTS = 20


class Worker:
    """``step(conn, n)`` run with n = 0, 1, ... on its own connection until the server
    dies; ``acknowledged`` holds the n whose step returned."""

    def __init__(self, server: RunningServer, step: Callable[[psycopg.Connection, int], None]):
        self.acknowledged: list[int] = []
        self._server = server
        self._step = step
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            with psycopg.connect(self._server.dsn(), autocommit=True) as conn:
                n = 0
                while True:
                    self._step(conn, n)
                    self.acknowledged.append(n)
                    n += 1
        except psycopg.Error:
            return  # the server was killed

    def join(self) -> None:
        self._thread.join(60)
        assert not self._thread.is_alive()


def insert_pair(session: int) -> Callable[[psycopg.Connection, int], None]:
    def step(conn: psycopg.Connection, n: int) -> None:
        with conn.transaction():
            conn.execute("INSERT INTO pairs VALUES (%s, %s, 1)", (session, n))
            conn.execute("INSERT INTO pairs VALUES (%s, %s, 2)", (session, n))
    return step


def transfer(session: int) -> Callable[[psycopg.Connection, int], None]:
    def step(conn: psycopg.Connection, n: int) -> None:
        source, target = (session + n) % ACCOUNTS, (session + 3 * n + 1) % ACCOUNTS
        with conn.transaction():
            conn.execute("UPDATE accounts SET balance = balance - 7 WHERE id = %s", (source,))
            conn.execute("UPDATE accounts SET balance = balance + 7 WHERE id = %s", (target,))
            conn.execute("INSERT INTO transfers VALUES (%s, %s)", (session, n))
    return step


def swap(session: int) -> Callable[[psycopg.Connection, int], None]:
    table = f"swapped_{session}"

    def step(conn: psycopg.Connection, n: int) -> None:
        conn.execute(f"DROP TABLE IF EXISTS {table}__bak")
        with conn.transaction():
            conn.execute(f"CREATE TABLE {table}__tmp AS SELECT {n} AS v")
            conn.execute(f"ALTER TABLE {table} RENAME TO {table}__bak")
            conn.execute(f"ALTER TABLE {table}__tmp RENAME TO {table}")
    return step


def test_kill_during_concurrent_writes(tmp_path_factory: pytest.TempPathFactory) -> None:
    data = tmp_path_factory.mktemp("killed") / "data"
    server = start_server(data)
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute("CREATE TABLE pairs (session INTEGER, seq INTEGER, part INTEGER)")
        conn.execute("CREATE TABLE accounts (id INTEGER, balance INTEGER)")
        conn.execute(f"INSERT INTO accounts SELECT i, 0 FROM range({ACCOUNTS}) t(i)")
        conn.execute("CREATE TABLE transfers (session INTEGER, seq INTEGER)")
        for session in range(2):
            conn.execute(f"CREATE TABLE swapped_{session} AS SELECT -1 AS v")
    inserters = [Worker(server, insert_pair(s)) for s in range(6)]
    movers = [Worker(server, transfer(s)) for s in range(4)]
    swappers = [Worker(server, swap(s)) for s in range(2)]
    deadline = time.monotonic() + 60
    while sum(len(w.acknowledged) for w in inserters + movers + swappers) < 40:
        assert time.monotonic() < deadline, "the workload made no progress"
        time.sleep(0.05)
    server.process.send_signal(signal.SIGKILL)
    server.process.wait()
    for worker in inserters + movers + swappers:
        worker.join()

    restarted = start_server(data)
    try:
        with psycopg.connect(restarted.dsn(), autocommit=True) as conn:
            rows = conn.execute(
                "SELECT session, seq, count(*), min(part), max(part) FROM pairs GROUP BY ALL"
            ).fetchall()
            stored = {(s, q): (n, lo, hi) for s, q, n, lo, hi in rows}
            assert all(value == (2, 1, 2) for value in stored.values()), "a partial insert"
            for session, worker in enumerate(inserters):
                acknowledged = {(session, n) for n in worker.acknowledged}
                assert acknowledged <= set(stored)
                # At most the one transaction in flight when the server died is there too.
                assert len({k for k in stored if k[0] == session} - acknowledged) <= 1
            balance = conn.execute("SELECT sum(balance), count(*) FROM accounts").fetchone()
            assert balance == (0, ACCOUNTS), "a partial transfer"
            moved = conn.execute("SELECT count(*) FROM transfers").fetchone()
            total = sum(len(w.acknowledged) for w in movers)
            assert moved is not None and total <= moved[0] <= total + len(movers)
            for session, worker in enumerate(swappers):
                row = conn.execute(f"SELECT v FROM swapped_{session}").fetchone()
                assert row is not None
                last = worker.acknowledged[-1] if worker.acknowledged else -1
                assert last <= row[0] <= last + 1
    finally:
        log = restarted.stop()
    assert "Traceback" not in log, log[-3000:]
