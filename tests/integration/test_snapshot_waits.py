"""Storage maintenance and writers queue on the same table locks, and a transaction never
writes a table from a snapshot older than the table's last change where that would lose
rows: READ COMMITTED begins again from what was committed, REPEATABLE READ fails with
40001 as PostgreSQL's does."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import psycopg
import pytest
from psycopg import errors as pgerrors
from server import RunningServer, start_server

WAIT_SECONDS = 30
ROWS = 7500


def _wait_until(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _small_files(conn: psycopg.Connection, table: str) -> None:
    """``table`` (id, v) with 7500 rows in five Parquet files (inserts of more than
    ``inline_rows`` rows write a file each), which compaction merges."""
    conn.execute(f"CREATE TABLE {table} (id INTEGER, v INTEGER)")
    for start in range(0, ROWS, 1500):
        conn.execute(f"INSERT INTO {table} SELECT range, 0 FROM range({start}, {start + 1500})")


def _contents(conn: psycopg.Connection, table: str) -> tuple[object, ...] | None:
    return conn.execute(f"SELECT count(*), sum(v) FROM {table}").fetchone()


class Background:
    def __init__(self, action: Callable[[], object]) -> None:
        self.error: BaseException | None = None
        self.result: object = None
        self._thread = threading.Thread(target=self._run, args=(action,), daemon=True)
        self._thread.start()

    def _run(self, action: Callable[[], object]) -> None:
        try:
            self.result = action()
        except BaseException as exc:
            self.error = exc

    def join(self) -> None:
        self._thread.join(WAIT_SECONDS)
        assert not self._thread.is_alive(), "still waiting"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A lake of this module's own: compaction, expiry and cleanup work on every table of
    a lake, and on the test session's shared server they rewrote the tables of every test
    that ran before (and expired their snapshots)."""
    running = start_server(tmp_path_factory.mktemp("snapshot-waits") / "data")
    yield running
    log = running.stop()
    assert "Traceback" not in log, log


@pytest.fixture
def third(server: RunningServer) -> Iterator[psycopg.Connection]:
    with psycopg.connect(server.dsn(), autocommit=True) as connection:
        yield connection


def test_compaction_waits_for_a_writer_of_the_table(
    conn: psycopg.Connection, other: psycopg.Connection, third: psycopg.Connection,
    table_name: str,
) -> None:
    """Before, the compaction ran beside the open UPDATE and the UPDATE's COMMIT then kept
    the old row too (one row more: DuckLake 1.5.5 loses the delete)."""
    _small_files(conn, table_name)
    conn.execute("BEGIN")
    conn.execute(f"UPDATE {table_name} SET v = v + 1 WHERE id = 5")
    call = Background(lambda: other.execute("CALL forge_compact()").fetchall())

    def compaction_waits() -> bool:
        return third.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE c.relname = %s AND l.pid = %s AND NOT l.granted AND l.mode = 'ExclusiveLock'",
            (table_name, other.info.backend_pid),
        ).fetchone() == (1,)

    _wait_until(compaction_waits)
    conn.execute("COMMIT")
    call.join()
    assert call.error is None, call.error
    assert _contents(conn, table_name) == (ROWS, 1)


@pytest.mark.parametrize("level", ["READ COMMITTED", "REPEATABLE READ"])
def test_write_after_a_compaction_the_snapshot_predates(
    conn: psycopg.Connection, other: psycopg.Connection, table_name: str, level: str
) -> None:
    """A transaction that read the table, then writes it after a compaction committed:
    READ COMMITTED works on the compacted table; REPEATABLE READ gets 40001. Before,
    both committed and the UPDATE kept the old row beside the new one."""
    _small_files(conn, table_name)
    conn.execute(f"BEGIN ISOLATION LEVEL {level}")
    assert conn.execute(f"SELECT count(*) FROM {table_name}").fetchone() == (ROWS,)
    outcomes = {o[0]: o[1] for o in other.execute("CALL forge_compact()").fetchall()}
    assert outcomes["compact"] > 0  # files were merged
    if level == "READ COMMITTED":
        conn.execute(f"UPDATE {table_name} SET v = v + 1 WHERE id = 5")
        conn.execute("COMMIT")
        assert _contents(conn, table_name) == (ROWS, 1)
    else:
        with pytest.raises(pgerrors.SerializationFailure, match="storage maintenance"):
            conn.execute(f"UPDATE {table_name} SET v = v + 1 WHERE id = 5")
        conn.execute("ROLLBACK")
        assert _contents(conn, table_name) == (ROWS, 0)


@pytest.mark.parametrize("level", ["READ COMMITTED", "REPEATABLE READ"])
def test_update_after_another_commit(
    conn: psycopg.Connection, other: psycopg.Connection, table_name: str, level: str
) -> None:
    """PostgreSQL's READ COMMITTED updates the row another transaction changed since the
    transaction's first read; REPEATABLE READ fails with 40001 (before, READ COMMITTED
    failed at COMMIT too)."""
    conn.execute(f"CREATE TABLE {table_name} (id INTEGER, v INTEGER)")
    conn.execute(f"INSERT INTO {table_name} VALUES (1, 0)")
    conn.execute(f"BEGIN ISOLATION LEVEL {level}")
    assert conn.execute(f"SELECT v FROM {table_name}").fetchone() == (0,)
    other.execute(f"UPDATE {table_name} SET v = v + 10 WHERE id = 1")
    if level == "READ COMMITTED":
        conn.execute(f"UPDATE {table_name} SET v = v + 1 WHERE id = 1")
        conn.execute("COMMIT")
        assert conn.execute(f"SELECT v FROM {table_name}").fetchone() == (11,)
    else:
        with pytest.raises(pgerrors.SerializationFailure):
            conn.execute(f"UPDATE {table_name} SET v = v + 1 WHERE id = 1")
            conn.execute("COMMIT")
        conn.rollback()
        assert conn.execute(f"SELECT v FROM {table_name}").fetchone() == (10,)


def test_cleanup_keeps_the_files_of_an_open_writer(
    conn: psycopg.Connection, other: psycopg.Connection, table_name: str
) -> None:
    """An INSERT of more than ``inline_rows`` rows writes its Parquet file before COMMIT:
    the orphan sweep must not take it for garbage, even with no retention and forced."""
    conn.autocommit = True
    conn.execute(f"CREATE TABLE {table_name} (id INTEGER, v INTEGER)")
    with conn.transaction():
        conn.execute(f"INSERT INTO {table_name} SELECT range, 1 FROM range({ROWS})")
        cleanup = Background(
            lambda: other.execute("CALL forge_cleanup('0 seconds', true)").fetchall()
        )
        time.sleep(1)  # the cleanup runs, or waits for this transaction
    cleanup.join()
    assert cleanup.error is None, cleanup.error
    assert _contents(conn, table_name) == (ROWS, ROWS)
    conn.execute(f"DROP TABLE {table_name}")


def _two_tables(conn: psycopg.Connection, table_name: str) -> tuple[str, str]:
    first, second = f"{table_name}_a", f"{table_name}_b"
    for name in (first, second):
        conn.execute(f"CREATE TABLE {name} (id INTEGER, v INTEGER)")
        conn.execute(f"INSERT INTO {name} VALUES (1, 0)")
    return first, second


def test_read_committed_after_writing_another_table(
    conn: psycopg.Connection, other: psycopg.Connection, table_name: str
) -> None:
    """A READ COMMITTED transaction that has written one table, then updates a row of
    another that a transaction changed and committed after its snapshot: as PostgreSQL,
    it updates the newer row. Before, it got 40001 at COMMIT; now its DuckDB transaction
    begins again and its earlier writes are repeated (they read only its own tables)."""
    first, second = _two_tables(conn, table_name)
    conn.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
    conn.execute(f"UPDATE {first} SET v = v + 1 WHERE id = 1")
    conn.execute(f"INSERT INTO {first} SELECT id + 1, v FROM {first}")
    other.execute(f"UPDATE {second} SET v = v + 10 WHERE id = 1")
    conn.execute(f"UPDATE {second} SET v = v + 1 WHERE id = 1")
    assert conn.execute(f"SELECT v FROM {second}").fetchone() == (11,)
    conn.execute("COMMIT")
    assert conn.execute(f"SELECT id, v FROM {first} ORDER BY id").fetchall() == [(1, 1), (2, 1)]
    assert conn.execute(f"SELECT v FROM {second}").fetchone() == (11,)


def test_read_committed_after_a_write_that_read_another_table(
    conn: psycopg.Connection, other: psycopg.Connection, table_name: str
) -> None:
    """What still differs from PostgreSQL: when an earlier write read a table the
    transaction does not hold (here the one the other transaction changed), repeating
    it would not be exact, so the transaction keeps its snapshot and gets 40001 at
    COMMIT; it ends rolled back, with nothing of it kept."""
    first, second = _two_tables(conn, table_name)
    conn.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
    conn.execute(f"INSERT INTO {first} SELECT id + 1, v FROM {second}")
    other.execute(f"UPDATE {second} SET v = v + 10 WHERE id = 1")
    with pytest.raises(pgerrors.SerializationFailure):
        conn.execute(f"UPDATE {second} SET v = v + 1 WHERE id = 1")
        conn.execute("COMMIT")
    conn.rollback()
    assert conn.execute(f"SELECT count(*) FROM {first}").fetchone() == (1,)
    assert conn.execute(f"SELECT v FROM {second}").fetchone() == (10,)


def test_expire_and_cleanup_keep_what_an_open_transaction_reads(
    conn: psycopg.Connection, other: psycopg.Connection, table_name: str
) -> None:
    """A transaction reads a table, compaction replaces its files, and expire and
    cleanup run with no retention: the transaction's snapshot and its files stay until it
    ends. Before, its next read failed (the files it reads were deleted)."""
    _small_files(conn, table_name)
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
    assert _contents(conn, table_name) == (ROWS, 0)
    outcomes = {o[0]: o[1] for o in other.execute("CALL forge_compact()").fetchall()}
    assert outcomes["compact"] > 0
    other.execute("CALL forge_expire('0 seconds')").fetchall()
    other.execute("CALL forge_cleanup('0 seconds', true)").fetchall()
    assert conn.execute(f"SELECT count(*), sum(id) FROM {table_name}").fetchone() == (
        ROWS,
        ROWS * (ROWS - 1) // 2,
    )
    conn.execute("COMMIT")
    other.execute("CALL forge_expire('0 seconds')").fetchall()
    cleaned = {o[0]: o[1] for o in other.execute("CALL forge_cleanup('0 seconds', true)")}
    assert cleaned["cleanup"] > 0  # once it ended, the replaced files go
    assert _contents(conn, table_name) == (ROWS, 0)
