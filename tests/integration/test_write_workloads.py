"""Workloads PostgreSQL runs without serialization failures run without them here:
pgbench's TPC-B-like script, and many sessions of small insert transactions."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from server import RunningServer, start_server

sys.path.insert(0, str(Path(__file__).parents[2] / "bench"))

import pgbench_tables

PGBENCH = Path("/usr/lib/postgresql/15/bin/pgbench")


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("writes") / "data", "--max-connections", "250")
    yield running
    log = running.stop()
    assert "Traceback" not in log, log[-3000:]


def run_pgbench(server: RunningServer, clients: int, seconds: int) -> dict[str, float]:
    """The builtin TPC-B-like script; returns pgbench's processed and failed counts and
    tps."""
    assert PGBENCH.exists(), "pgbench comes with the postgresql-15 package"
    completed = subprocess.run(
        [str(PGBENCH), "-n", "-c", str(clients), "-j", "2", "-T", str(seconds),
         "-h", server.host, "-p", str(server.port), "-U", "forge", server.database],
        capture_output=True, text=True, timeout=seconds + 120,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    out = completed.stdout

    def number(pattern: str) -> float:
        match = re.search(pattern, out)
        assert match is not None, out
        return float(match.group(1))

    return {
        "processed": number(r"actually processed: (\d+)"),
        "failed": number(r"number of failed transactions: (\d+)"),
        "tps": number(r"tps = ([\d.]+)"),
    }


# 4 clients run in the default suite's test_pgbench.py (-M simple and -M prepared).
@pytest.mark.parametrize("clients", [pytest.param(4, marks=pytest.mark.slow), 16])
def test_pgbench_tpcb_never_fails(own: RunningServer, clients: int) -> None:
    with psycopg.connect(own.dsn(), autocommit=True) as conn:
        pgbench_tables.create(conn)
        figures = run_pgbench(own, clients, 5)
        assert figures["failed"] == 0
        assert figures["processed"] > 0
        sums = pgbench_tables.balances(conn)
        assert len(set(sums)) == 1, sums
        history = conn.execute("SELECT count(*) FROM pgbench_history").fetchone()
        assert history == (figures["processed"],)


def insert_transactions(
    server: RunningServer, table: str, sessions: int, seconds: float
) -> tuple[list[tuple[int, int]], list[float], list[BaseException]]:
    """``sessions`` sessions each committing two-row insert transactions for ``seconds``:
    the acknowledged (session, seq) pairs, each transaction's latency, the errors."""
    acknowledged: list[tuple[int, int]] = []
    latencies: list[float] = []
    failures: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(sessions + 1)
    stop = threading.Event()

    def work(session: int) -> None:
        try:
            with psycopg.connect(server.dsn(), autocommit=True) as conn:
                start.wait(timeout=120)
                seq = 0
                while not stop.is_set():
                    began = time.perf_counter()
                    with conn.transaction():
                        conn.execute(f"INSERT INTO {table} VALUES (%s, %s, 1)", (session, seq))
                        conn.execute(f"INSERT INTO {table} VALUES (%s, %s, 2)", (session, seq))
                    with lock:
                        acknowledged.append((session, seq))
                        latencies.append(time.perf_counter() - began)
                    seq += 1
        except BaseException as exc:
            with lock:
                failures.append(exc)

    threads = [threading.Thread(target=work, args=(s,), daemon=True) for s in range(sessions)]
    for thread in threads:
        thread.start()
    start.wait(timeout=120)
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(300)
    assert not any(t.is_alive() for t in threads), "a session hung"
    return acknowledged, latencies, failures


def check_inserts(
    conn: psycopg.Connection, table: str, acknowledged: list[tuple[int, int]]
) -> None:
    """Every acknowledged transaction's two rows are stored once; nothing else is."""
    rows = conn.execute(
        f"SELECT session, seq, count(*), min(part), max(part) FROM {table} GROUP BY ALL"
    ).fetchall()
    stored = {(s, q): (n, lo, hi) for s, q, n, lo, hi in rows}
    assert set(stored) == set(acknowledged)
    assert all(value == (2, 1, 2) for value in stored.values())


def _p99(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def test_many_sessions_insert(own: RunningServer, table_name: str) -> None:
    with psycopg.connect(own.dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table_name} (session INTEGER, seq INTEGER, part INTEGER)")
        acknowledged, latencies, failures = insert_transactions(own, table_name, 50, 5)
        assert failures == []
        assert acknowledged
        check_inserts(conn, table_name, acknowledged)
    print(f"50 sessions: {len(acknowledged) / 5:.1f} transactions/s, p99 {_p99(latencies):.3f} s")


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_two_hundred_sessions_insert_for_30_seconds(own: RunningServer, table_name: str) -> None:
    with psycopg.connect(own.dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table_name} (session INTEGER, seq INTEGER, part INTEGER)")
        acknowledged, latencies, failures = insert_transactions(own, table_name, 200, 30)
        assert failures == []
        check_inserts(conn, table_name, acknowledged)
    print(f"200 sessions: {len(acknowledged) / 30:.1f} transactions/s, "
          f"p99 {_p99(latencies):.3f} s")


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("clients", [4, 16])
def test_pgbench_tpcb_for_30_seconds(own: RunningServer, clients: int) -> None:
    with psycopg.connect(own.dsn(), autocommit=True) as conn:
        pgbench_tables.create(conn)
        figures = run_pgbench(own, clients, 30)
        assert figures["failed"] == 0
        sums = pgbench_tables.balances(conn)
        assert len(set(sums)) == 1, sums
