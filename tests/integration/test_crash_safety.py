"""``kill -9`` of the server in the middle of a large COPY or INSERT, then a restart: each
statement's rows are all there or none, committed rows survive, every query works and the
files the killed statements wrote are deleted by the orphan clean-up."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
from server import start_server

COPY_CHUNK = 50_000
COPY_ROWS = 2_000_000
INSERT_ROWS = 30_000_000
DEADLINE = 60.0


def copy_chunk(start: int) -> bytes:
    return "".join(f"{i}\tcopied-{i}\n" for i in range(start, start + COPY_CHUNK)).encode()


def table_files(data_dir: Path, table: str) -> list[Path]:
    return sorted((data_dir / "lake" / "public" / table).glob("*.parquet"))


def staged_files(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "lake" / "copy").glob("*.parquet"))


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Poll the data directory: the statements' progress shows there as files."""
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


class Background:
    """``body`` running on its own connection in a thread; what it raised is kept."""

    def __init__(self, dsn: str, body: Callable[[psycopg.Connection], None]) -> None:
        self.raised: list[BaseException] = []
        self._thread = threading.Thread(target=self._run, args=(dsn, body), daemon=True)
        self._thread.start()

    def _run(self, dsn: str, body: Callable[[psycopg.Connection], None]) -> None:
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                body(conn)
        except BaseException as exc:
            self.raised.append(exc)

    def join(self) -> None:
        self._thread.join(timeout=30)
        assert not self._thread.is_alive()


def test_kill_9_mid_copy_and_mid_insert_keeps_whole_statements(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = start_server(data_dir)
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (id INT, note VARCHAR)")
            for i in range(20):  # small inserts: inlined in the catalog, not yet Parquet
                conn.execute("INSERT INTO kept VALUES (%s, %s)", (i, f"kept-{i}"))
            conn.execute("CREATE TABLE copied (id BIGINT, note VARCHAR)")
            conn.execute("INSERT INTO copied VALUES (-1, 'before')")
            conn.execute("CREATE TABLE inserted (id BIGINT, note VARCHAR)")

        def copy(conn: psycopg.Connection) -> None:
            with conn.cursor().copy("COPY copied FROM STDIN") as running:
                for start in range(0, COPY_ROWS, COPY_CHUNK):
                    running.write(copy_chunk(start))

        def insert(conn: psycopg.Connection) -> None:
            conn.execute(
                f"INSERT INTO inserted SELECT i, 'inserted-' || i FROM range({INSERT_ROWS}) t(i)"
            )

        copying = Background(server.dsn(), copy)
        inserting = Background(server.dsn(), insert)
        # Kill once the COPY has staged Parquet files and the INSERT has started writing.
        wait_until(lambda: len(staged_files(data_dir)) >= 2, "the COPY to stage files")
        wait_until(lambda: bool(table_files(data_dir, "inserted")), "the INSERT to write")
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=30)
        copying.join()
        inserting.join()
        # The COPY had not finished: its client saw the connection break.
        assert len(copying.raised) == 1
        assert isinstance(copying.raised[0], psycopg.OperationalError)
    finally:
        server.stop()

    leftovers = staged_files(data_dir) + table_files(data_dir, "inserted")
    assert leftovers, "the killed statements had written files"
    server = start_server(data_dir)
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            # Committed rows, inlined ones included, survived the crash.
            assert conn.execute("SELECT count(*), min(note), max(id) FROM kept").fetchone() == (
                20, "kept-0", 19)
            # The COPY never committed: none of its rows, the row before it intact.
            assert conn.execute("SELECT count(*), min(id) FROM copied").fetchone() == (1, -1)
            # The INSERT committed entirely or not at all (it may have finished just
            # before the kill, unacknowledged).
            row = conn.execute("SELECT count(*) FROM inserted").fetchone()
            assert row is not None and row[0] in (0, INSERT_ROWS), row
            inserted = row[0]
            # Every query works, writes included.
            conn.execute("INSERT INTO copied VALUES (1, 'after')")
            with conn.cursor().copy("COPY inserted FROM STDIN") as running:
                running.write(b"-7\tseven\n")
            assert conn.execute(
                "SELECT (SELECT count(*) FROM copied), (SELECT count(*) FROM inserted), "
                "(SELECT note FROM inserted WHERE id = -7)"
            ).fetchone() == (2, inserted + 1, "seven")
            tables = conn.execute(
                "SELECT relname FROM pg_catalog.pg_class WHERE relname IN "
                "('kept', 'copied', 'inserted') ORDER BY relname"
            ).fetchall()
            assert tables == [("copied",), ("inserted",), ("kept",)]
            # Files the killed statements wrote, staged COPY files included, belong to no
            # committed snapshot: kept at start-up while younger than the retention (a
            # lost catalog looks the same), deleted by a clean-up of orphans.
            if inserted == 0:
                assert set(leftovers) <= set(staged_files(data_dir)) | set(
                    table_files(data_dir, "inserted"))
            conn.execute("CALL forge_cleanup('0s', true)")
        assert staged_files(data_dir) == []
        if inserted == 0:
            assert not set(leftovers) & set(table_files(data_dir, "inserted"))
        # The inlined rows were written out as Parquet at start-up.
        assert table_files(data_dir, "kept")
    finally:
        log = server.stop()
    assert "Traceback" not in log
