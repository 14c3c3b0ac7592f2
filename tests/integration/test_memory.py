"""Bounded memory per session: results batched by bytes, slow readers stall their own query
instead of the server buffering it, and rows wider than a batch are still sent."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import psycopg
import pytest
import rawclient
from process_stats import memory_kb
from server import RunningServer, start_server

WIDE = "SELECT repeat('z', 16000) AS v FROM range(60000)"  # 960 MB of text


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server whose DuckDB may use 1 GB, the figure the limits are measured against."""
    running = start_server(
        tmp_path_factory.mktemp("memory") / "data", "--memory-limit", "1GB"
    )
    yield running
    err = running.stop()
    assert "Traceback" not in err, err


class SlowReader(threading.Thread):
    """Sends a simple Query, then reads its answer at ``rate`` bytes/s through a small
    receive buffer, as a client on a slow link would."""

    def __init__(self, server: RunningServer, sql: str, rate: int, seconds: float) -> None:
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        self.sock.settimeout(rawclient.TIMEOUT)
        self.sock.connect((server.host, server.port))
        self.raw = rawclient.RawConnection(self.sock)
        self.raw.startup()
        self.sql = sql
        self.rate = rate
        self.seconds = seconds
        self.received = 0

    def run(self) -> None:
        self.raw.send(rawclient.query(self.sql))
        deadline = time.monotonic() + self.seconds
        step = self.rate // 20
        while time.monotonic() < deadline:
            chunk = self.sock.recv(step)
            if not chunk:
                return
            self.received += len(chunk)
            time.sleep(0.05)

    def close(self) -> None:
        self.sock.close()


def test_four_slow_readers_of_wide_rows_stay_under_1_5_gb(limited: RunningServer) -> None:
    pid = limited.pid
    start = memory_kb(pid)
    readers = [SlowReader(limited, WIDE, rate=2 << 20, seconds=6) for _ in range(4)]
    peak = start
    for reader in readers:
        reader.start()
    while any(r.is_alive() for r in readers):
        peak = max(peak, memory_kb(pid))
        time.sleep(0.05)
    for reader in readers:
        reader.close()
    assert all(r.received > 1 << 20 for r in readers), [r.received for r in readers]
    # VmHWM: the peak between our samples too. Before byte batches it passed 12 GB.
    peak = max(peak, memory_kb(pid, "VmHWM"))
    print(f"server RSS {start // 1024} MB before, peak {peak // 1024} MB")
    assert peak < 1.5 * (1 << 20), f"server RSS peaked at {peak // 1024} MB"
    # The abandoned queries end and the server answers others.
    with psycopg.connect(limited.dsn(), autocommit=True) as conn:
        assert conn.execute("SELECT 41 + 1").fetchone() == (42,)


def _receive_wide(server: RunningServer, rows: int) -> None:
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        cursor = conn.cursor()
        cursor.execute(f"SELECT repeat('x', 40000) AS v FROM range({rows})")
        count = 0
        while batch := cursor.fetchmany(5000):
            assert all(len(v) == 40000 for (v,) in batch)
            count += len(batch)
        assert count == rows
        assert conn.execute("SELECT 1").fetchone() == (1,)


@pytest.mark.slow
def test_wide_result_is_received_whole(limited: RunningServer) -> None:
    """40 kB x 60000 rows (2.4 GB) once made a 2 GiB Arrow batch: XX000 and a dropped
    connection. About 80 s, most of it psycopg building 60000 Python strings."""
    _receive_wide(limited, 60000)


def test_wide_rows_span_several_duckdb_vectors(limited: RunningServer) -> None:
    """The same shape, 6000 rows: three DuckDB vectors of 82 MB, each sliced to batches."""
    _receive_wide(limited, 6000)


def test_wide_single_rows_go_out_alone(limited: RunningServer) -> None:
    """Rows wider than batch_bytes (8 MB) are sent one per batch, by SELECT and by COPY."""
    with psycopg.connect(limited.dsn(), autocommit=True) as conn:
        sql = "SELECT i, repeat('w', 20000000) AS v FROM range(3) t(i)"
        rows = conn.execute(sql).fetchall()
        assert [(i, len(v)) for i, v in rows] == [(0, 20000000), (1, 20000000), (2, 20000000)]
        received = 0
        with conn.cursor().copy(f"COPY ({sql}) TO STDOUT") as copy:
            for block in copy:
                received += len(block)
        assert received == 3 * (2 + 20000000 + 1)


def test_fetch_from_cursor_of_wide_rows(limited: RunningServer) -> None:
    with psycopg.connect(limited.dsn()) as conn:
        conn.execute("DECLARE c CURSOR FOR SELECT repeat('f', 40000) AS v FROM range(3000)")
        rows = conn.execute("FETCH 2500 FROM c").fetchall()
        assert len(rows) == 2500 and all(len(v) == 40000 for (v,) in rows)
        assert len(conn.execute("FETCH ALL FROM c").fetchall()) == 500


@pytest.mark.parametrize("fmt", ["text", "csv", "binary"])
def test_copy_out_of_wide_rows(limited: RunningServer, fmt: str) -> None:
    with psycopg.connect(limited.dsn(), autocommit=True) as conn:
        received = 0
        sql = f"COPY (SELECT repeat('c', 40000) FROM range(5000)) TO STDOUT (FORMAT {fmt})"
        with conn.cursor().copy(sql) as copy:
            for block in copy:
                received += len(block)
        per_row = {"text": 40001, "csv": 40001, "binary": 2 + 4 + 40000}[fmt]
        overhead = {"text": 0, "csv": 0, "binary": 19 + 2}[fmt]
        assert received == 5000 * per_row + overhead


def test_server_log_has_no_traceback(limited: RunningServer) -> None:
    assert "Traceback" not in limited.log_file.read_text(errors="replace")


def test_error_in_the_middle_of_a_stream_keeps_its_sqlstate(limited: RunningServer) -> None:
    """DuckDB errors met while rows stream arrive through Arrow as OSError: they must still
    be the DuckDB error they were (22P02 here), not an internal error."""
    sql = (
        "SELECT CAST(CASE WHEN range < 3000000 THEN '1' ELSE 'x' END AS INTEGER) AS v "
        "FROM range(6000000)"
    )
    with psycopg.connect(limited.dsn(), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InvalidTextRepresentation):
            conn.execute(sql).fetchall()
        assert conn.execute("SELECT 1").fetchone() == (1,)
