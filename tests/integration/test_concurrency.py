"""Sessions do not wait for each other, and clients that vanish cost the server nothing."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator

import psycopg
import pytest
import rawclient
from process_stats import memory_kb, wait_busy, wait_idle
from psycopg import errors as pgerrors
from server import RunningServer, start_server

ENDLESS = "SELECT sum(i) FROM range(20000000000) t(i)"
MEMORY_CEILING_KB = 1_500_000  # ~1.5 GB


@pytest.fixture(autouse=True)
def server_settles(server: RunningServer) -> Iterator[None]:
    assert wait_idle(server.pid)
    yield
    assert wait_idle(server.pid), "a statement kept running after its client left"


def _round_trips(conn: psycopg.Connection, count: int = 20) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        assert conn.execute("SELECT 1").fetchone() == (1,)
        times.append(time.perf_counter() - started)
    return times


def test_long_query_does_not_delay_other_sessions(server: RunningServer) -> None:
    with psycopg.connect(server.dsn(), autocommit=True) as busy, \
            psycopg.connect(server.dsn(), autocommit=True) as probe:
        _round_trips(probe, 5)  # warm up
        baseline = statistics.median(_round_trips(probe))
        errors: list[BaseException] = []

        def long_query() -> None:
            try:
                busy.execute(ENDLESS)
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=long_query, daemon=True)
        thread.start()
        try:
            assert wait_busy(server.pid)
            loaded = statistics.median(_round_trips(probe))
            assert thread.is_alive(), "the long query ended before the measurement did"
        finally:
            busy.cancel_safe()
            thread.join(15)
        assert not thread.is_alive()
        assert len(errors) == 1 and isinstance(errors[0], pgerrors.QueryCanceled)
    assert loaded - baseline < 0.050, f"median SELECT 1: {baseline:.4f}s idle, {loaded:.4f}s busy"


def test_ten_sessions_insert_and_select(server: RunningServer, conn: psycopg.Connection,
                                        table_name: str) -> None:
    conn.execute(f"CREATE TABLE {table_name} (worker INTEGER, n INTEGER, label VARCHAR)")
    workers, rows_each = 10, 25
    failures: list[BaseException] = []
    barrier = threading.Barrier(workers)

    def work(worker: int) -> None:
        try:
            with psycopg.connect(server.dsn(), autocommit=True) as own:
                barrier.wait(timeout=30)
                for n in range(rows_each):
                    own.execute(f"INSERT INTO {table_name} VALUES (%s, %s, %s)",
                                (worker, n, f"w{worker}-{n}"))
                    row = own.execute(f"SELECT count(*), sum(n) FROM {table_name}"
                                      " WHERE worker = %s", (worker,)).fetchone()
                    assert row == (n + 1, n * (n + 1) // 2)
                with own.transaction():
                    own.execute(f"INSERT INTO {table_name} VALUES (%s, -1, 'tx'), (%s, -2, 'tx')",
                                (worker, worker))
                labels = own.execute(f"SELECT label FROM {table_name} WHERE worker = %s"
                                     " ORDER BY n", (worker,)).fetchall()
                assert labels == [("tx",), ("tx",)] + [(f"w{worker}-{n}",)
                                                       for n in range(rows_each)]
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(w,), daemon=True) for w in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(t.is_alive() for t in threads)
    assert failures == []
    assert conn.execute(f"SELECT count(*), count(DISTINCT worker) FROM {table_name}").fetchone() \
        == (workers * (rows_each + 2), workers)


def test_many_short_connections(server: RunningServer) -> None:
    for index in range(30):
        with psycopg.connect(server.dsn(), autocommit=True) as short:
            assert short.execute("SELECT %s::INTEGER", (index,)).fetchone() == (index,)


def test_client_leaves_during_large_result(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Runs on a server of its own: a failure must not bloat the shared one."""
    own = start_server(tmp_path_factory.mktemp("leaving") / "data")
    try:
        pid = own.pid
        for _ in range(3):
            before = memory_kb(pid)
            with rawclient.connect(own.host, own.port) as raw:
                raw.startup()
                raw.send(rawclient.query("SELECT * FROM range(100000000)"))
                received = 0
                while received < 64 * 1024:
                    chunk = raw.sock.recv(65536)
                    assert chunk, "the server closed the connection"
                    received += len(chunk)
            assert wait_idle(pid)
            assert memory_kb(pid) - before < 300_000
        assert memory_kb(pid) < MEMORY_CEILING_KB
        assert memory_kb(pid, "VmHWM") < MEMORY_CEILING_KB
        with psycopg.connect(own.dsn(), autocommit=True) as conn:
            assert conn.execute("SELECT count(*) FROM range(1000)").fetchone() == (1000,)
    finally:
        log = own.stop()
    assert "Traceback" not in log


def test_client_leaves_during_long_computation(server: RunningServer) -> None:
    """The server notices the closed socket and interrupts the statement."""
    with rawclient.connect(server.host, server.port) as raw:
        raw.startup()
        raw.send(rawclient.query(ENDLESS))
        assert wait_busy(server.pid)
    assert wait_idle(server.pid, timeout=10)
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        assert conn.execute("SELECT 'still here'").fetchone() == ("still here",)


def test_slow_reader_gets_everything(server: RunningServer) -> None:
    """Backpressure: a client that reads slowly still receives every row, in order."""
    with rawclient.connect(server.host, server.port) as raw:
        raw.startup()
        raw.send(rawclient.query("SELECT range FROM range(300000)"))
        expected = 0
        while True:
            message = raw.read_message()
            assert message is not None
            if message[0] == b"D":
                assert message[1][6:] == str(expected).encode()
                expected += 1
                if expected % 50000 == 0:
                    time.sleep(0.05)  # let the server's send buffer fill up
            elif message[0] == b"Z":
                break
        assert expected == 300000
