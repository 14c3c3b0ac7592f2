"""``forge-sql storage backup|restore``: online through a running server while clients
write, offline on a stopped data directory; a restore brings back one consistent snapshot
and the server starts on it."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner, Result
from lake_files import lake_files
from server import start_server

from forge_sql.cli import main

QUIET = "inline_rows = 0\n[maintenance]\ninterval = 0\nat_startup = false\n"
# Small inserts kept in the catalog (data inlining): a backup must carry them too.
INLINED = "[maintenance]\ninterval = 0\nat_startup = false\n"


def run_cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


class Writer:
    """Commits, until stopped, transactions that each add the same rows to two tables;
    a consistent snapshot therefore has as many rows in one as in the other."""

    def __init__(self, dsn: str) -> None:
        self.commits = 0
        self.raised: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(dsn,), daemon=True)
        self._thread.start()

    def _run(self, dsn: str) -> None:
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                while not self._stop.is_set():
                    with conn.transaction():
                        n = self.commits
                        conn.execute(f"INSERT INTO orders SELECT {n}, range FROM range(50)")
                        conn.execute(f"INSERT INTO lines SELECT {n}, range FROM range(50)")
                    self.commits += 1
        except BaseException as exc:
            self.raised.append(exc)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)
        assert not self._thread.is_alive()
        assert not self.raised, self.raised


def counts(conn: psycopg.Connection) -> tuple[int, int]:
    row = conn.execute(
        "SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM lines)"
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def test_online_backup_while_writing_then_restore(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    backup = tmp_path / "backup"
    server = start_server(data_dir, config=INLINED)
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute("CREATE TABLE orders (batch INTEGER, n INTEGER)")
            conn.execute("CREATE TABLE lines (batch INTEGER, n INTEGER)")
            conn.execute("CREATE VIEW totals AS SELECT batch, count(*) AS c FROM lines GROUP BY 1")
        writer = Writer(server.dsn())
        while writer.commits < 5:
            threading.Event().wait(0.05)
        done = run_cli("storage", "backup", str(backup), "--url", server.url())
        during = writer.commits
        while writer.commits < during + 5:  # writes went on during and after the backup
            threading.Event().wait(0.05)
        writer.stop()
        assert done.exit_code == 0, (done.stdout, done.stderr, done.exception)
        assert "backed up lake" in done.stdout
        snapshot = json.loads((backup / "backup.json").read_text())["snapshot"]
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            final = counts(conn)
            at_backup = conn.execute(
                f"SELECT (SELECT count(*) FROM orders AT (VERSION => {snapshot})), "
                f"(SELECT count(*) FROM lines AT (VERSION => {snapshot}))"
            ).fetchone()
    finally:
        log = server.stop()
    assert "Traceback" not in log
    files_before = lake_files(data_dir)

    restored = run_cli("storage", "restore", str(backup), "--data-dir", str(data_dir))
    assert restored.exit_code == 0, (restored.stdout, restored.stderr, restored.exception)
    # Restoring deletes no file: those written after the backup are still there.
    assert set(files_before) <= set(lake_files(data_dir))
    assert list(data_dir.glob("catalog.ducklake.before-restore-*"))
    server = start_server(data_dir, config=INLINED)
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            orders, lines = counts(conn)
            # Exactly the lake as of the backup's snapshot.
            assert (orders, lines) == at_backup
            # One snapshot: every transaction wholly in or wholly out, at a commit
            # between the start and the end of the backup.
            assert orders == lines
            assert orders % 50 == 0 and 5 * 50 <= orders < final[0]
            assert conn.execute("SELECT sum(c) FROM totals").fetchone() == (lines,)
            conn.execute("INSERT INTO orders VALUES (-1, -1)")  # and it takes writes
            # Even a forced clean-up keeps the files written after the backup: they are
            # older than the restored catalog's arrival, so not its orphans.
            swept = conn.execute("CALL forge_cleanup('0s', true)").fetchall()
            assert "older than this catalog" in swept[1][2]
    finally:
        log = server.stop()
    assert "Traceback" not in log
    # The files written after the backup are kept, not taken for orphans.
    assert set(files_before) <= set(lake_files(data_dir))


def test_offline_backup_and_restore_into_an_empty_directory(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = start_server(data_dir, config=QUIET)
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute("CREATE TABLE trips (id INTEGER, city VARCHAR)")
            conn.execute("INSERT INTO trips SELECT range, 'Oslo' FROM range(1000)")
            conn.execute("DELETE FROM trips WHERE id % 10 = 0")
            conn.execute("CREATE SCHEMA sales")
            conn.execute("CREATE TABLE sales.deals AS SELECT range AS id FROM range(7)")
        busy = run_cli("storage", "backup", str(tmp_path / "b0"), "--data-dir", str(data_dir))
        assert busy.exit_code != 0 and "in use" in busy.stderr
    finally:
        server.stop()
    backup = tmp_path / "backup"
    done = run_cli("storage", "backup", str(backup), "--data-dir", str(data_dir))
    assert done.exit_code == 0, (done.stderr, done.exception)
    again = run_cli("storage", "backup", str(backup), "--data-dir", str(data_dir))
    assert again.exit_code != 0 and "not an empty directory" in again.stderr

    fresh = tmp_path / "fresh"
    restored = run_cli("storage", "restore", str(backup), "--data-dir", str(fresh))
    assert restored.exit_code == 0, (restored.stderr, restored.exception)
    server = start_server(fresh, config=QUIET)
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            assert conn.execute("SELECT count(*), sum(id) FROM trips").fetchone() == (
                900, 499500 - 49500)
            assert conn.execute("SELECT count(*) FROM sales.deals").fetchone() == (7,)
    finally:
        server.stop()
    # The restored lake is the same lake, in its own directory: the original is untouched.
    assert lake_files(fresh).keys() <= lake_files(data_dir).keys()
    notabackup = run_cli("storage", "restore", str(tmp_path), "--data-dir", str(fresh))
    assert notabackup.exit_code != 0 and "holds no backup" in notabackup.stderr


def test_restore_refused_while_the_server_runs(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = start_server(data_dir, config=QUIET)
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute("CREATE TABLE t AS SELECT 1 AS x")
            backup = tmp_path / "backup"
            rows = conn.execute(f"CALL forge_backup('{backup}')").fetchall()
            assert rows[0][0] == "backup" and rows[0][1] >= 1
            with pytest.raises(psycopg.errors.InvalidParameterValue):
                conn.execute("CALL forge_backup('relative/dir')")
            with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState):
                conn.execute(f"CALL forge_backup('{backup}')")
        busy = run_cli("storage", "restore", str(backup), "--data-dir", str(data_dir))
        assert busy.exit_code != 0 and "in use" in busy.stderr
    finally:
        server.stop()
