"""Storage maintenance: compaction keeps the data and leaves few files, expire + cleanup
delete what no snapshot needs; over SQL for admins only, offline from the CLI, and on the
server's own schedule."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import psycopg
import pytest
from click.testing import CliRunner, Result
from lake_files import ducklake_name, plant
from psycopg import errors as pgerrors
from server import RunningServer, run_asyncpg, start_server

from forge_sql.cli import main
from forge_sql.wire.auth import make_verifier

QUIET = "inline_rows = 0\n[maintenance]\ninterval = 0\nat_startup = false\n"


@pytest.fixture
def lake(tmp_path: Path) -> Iterator[RunningServer]:
    running = start_server(tmp_path / "data", config=QUIET)
    yield running
    log = running.stop()
    assert "Traceback" not in log, log


def disk_files(server: RunningServer, table: str) -> list[Path]:
    return sorted((server.data_dir / "lake" / "public" / table).glob("*.parquet"))


def live_files(conn: psycopg.Connection, table: str) -> int:
    (count,) = conn.execute(
        f"SELECT count(*) FROM ducklake_list_files('forge', '{table}')"
    ).fetchone()
    return int(count)


def small_commits(conn: psycopg.Connection, table: str, commits: int = 30) -> tuple[object, ...]:
    conn.execute(f"CREATE TABLE {table} (id INTEGER, label VARCHAR)")
    for n in range(commits):
        conn.execute(f"INSERT INTO {table} SELECT {n} * 10 + range, 'c{n}' FROM range(10)")
    conn.execute(f"DELETE FROM {table} WHERE id % 7 = 0")
    return content(conn, table)


def content(conn: psycopg.Connection, table: str) -> tuple[object, ...]:
    return tuple(conn.execute(f"SELECT * FROM {table} ORDER BY id").fetchall())


def run_cli(*args: str) -> Result:
    """The command line, in process (``forge-sql ARGS``); stdout and stderr apart."""
    return CliRunner().invoke(main, list(args))


def test_compact_then_expire_and_cleanup(lake: RunningServer) -> None:
    with psycopg.connect(lake.dsn(), autocommit=True) as conn:
        before = small_commits(conn, "events")
        assert live_files(conn, "events") == 30
        (old_version,) = conn.execute("SELECT max(snapshot_id) FROM forge_snapshots()").fetchone()

        done = conn.execute("CALL forge_compact()").fetchall()
        assert [row[0] for row in done] == ["flush", "rewrite", "compact"]
        assert done[1][1] == 30  # files with deleted rows rewritten without them
        assert live_files(conn, "events") == 1
        assert content(conn, "events") == before
        # Until the old snapshots expire, time travel still reads the small files.
        assert len(disk_files(lake, "events")) > 30
        assert conn.execute(
            f"SELECT count(*) FROM events AT (VERSION => {old_version})"
        ).fetchone() == (len(before),)

        expired = conn.execute("CALL forge_expire('0s')").fetchall()
        assert expired[0][0] == "expire" and expired[0][1] > 30
        cleaned = conn.execute("CALL forge_cleanup('0s')").fetchall()
        assert cleaned[0][0] == "cleanup" and cleaned[0][1] >= 30
        assert len(disk_files(lake, "events")) == live_files(conn, "events") <= 2
        assert content(conn, "events") == before
        with pytest.raises(pgerrors.InvalidParameterValue, match="No snapshot found"):
            conn.execute(f"SELECT count(*) FROM events AT (VERSION => {old_version})")
        with pytest.raises(pgerrors.ActiveSqlTransaction), conn.transaction():
            conn.execute("CALL forge_compact()")


def test_cleanup_deletes_files_no_snapshot_references(lake: RunningServer) -> None:
    with psycopg.connect(lake.dsn(), autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (id INTEGER)")
        conn.execute("INSERT INTO kept SELECT range FROM range(1000)")
        # A rolled-back transaction leaves its files nowhere: DuckLake deletes them.
        files = disk_files(lake, "kept")
        with conn.transaction():
            conn.execute("INSERT INTO kept SELECT range FROM range(50000)")
            assert len(disk_files(lake, "kept")) > len(files)
            raise psycopg.Rollback()
        assert disk_files(lake, "kept") == files
        # One a crash left behind is an orphan: cleanup deletes it once old enough, and
        # (being half of this small lake's files) only when told to pass the share cap.
        stray = plant(files[0], ducklake_name(datetime.now(UTC)), datetime.now(UTC))
        assert conn.execute("CALL forge_cleanup('1 hour')").fetchall()[1][1] == 0
        assert stray.exists()
        capped = conn.execute("CALL forge_cleanup('0s')").fetchall()
        assert capped[1][:2] == ("orphans", 0)
        assert "more than 10% of the lake's files" in capped[1][2]
        assert stray.exists()
        orphans = conn.execute("CALL forge_cleanup('0s', true)").fetchall()
        assert orphans[1][:2] == ("orphans", 1)
        assert not stray.exists()
        assert disk_files(lake, "kept") == files
        assert conn.execute("SELECT count(*), sum(id) FROM kept").fetchone() == (1000, 499500)


def test_maintenance_is_for_superusers(tmp_path: Path) -> None:
    config = QUIET + "".join(
        f'[users.{name}]\npassword = "{make_verifier("pw")}"\nsuperuser = {str(admin).lower()}\n'
        for name, admin in (("alice", True), ("bob", False))
    )
    server = start_server(tmp_path / "data", config=config)
    try:
        with psycopg.connect(server.dsn(user="bob", password="pw"), autocommit=True) as bob:
            bob.execute("CREATE TABLE t (id INTEGER)")
            bob.execute("INSERT INTO t VALUES (1)")
            for sql in (
                "CALL forge_compact()",
                "CALL forge_expire('0s')",
                "CALL forge_cleanup('0s')",
                "CALL forge_cleanup('0s', true)",
                f"CALL forge_backup('{tmp_path / 'backup'}')",
                "CALL ducklake_expire_snapshots('forge', older_than => now())",
                "SELECT * FROM ducklake_delete_orphaned_files('forge', cleanup_all => true)",
                "CHECKPOINT",
            ):
                with pytest.raises(pgerrors.InsufficientPrivilege, match="reserved to superusers"):
                    bob.execute(sql)
            assert bob.execute("SELECT count(*) FROM forge_snapshots()").fetchone()[0] > 2
        with psycopg.connect(server.dsn(user="alice", password="pw"), autocommit=True) as alice:
            assert [r[0] for r in alice.execute("CALL forge_maintain()").fetchall()] == [
                "flush", "rewrite", "compact", "expire", "cleanup", "orphans",
            ]
            alice.execute("CHECKPOINT")
        assert not (tmp_path / "backup").exists()
    finally:
        log = server.stop()
    assert "Traceback" not in log, log


def test_offline_cli_and_the_lock(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = start_server(data_dir, config=QUIET)
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            before = small_commits(conn, "offline", commits=12)
        busy = run_cli("storage", "compact", "--data-dir", str(data_dir))
        assert busy.exit_code != 0
        assert "in use by process" in busy.stderr and "CALL forge_compact()" in busy.stderr
    finally:
        server.stop()
    compacted = run_cli("storage", "compact", "--data-dir", str(data_dir))
    assert compacted.exit_code == 0, (compacted.stderr, compacted.exception)
    assert "12 files with deleted rows rewritten as 1" in compacted.stdout
    listed = run_cli("storage", "snapshots", "--data-dir", str(data_dir))
    assert "tables_created" in listed.stdout and "public.offline" in listed.stdout
    expired = run_cli("storage", "expire", "--older-than", "0s", "--data-dir", str(data_dir))
    assert expired.exit_code == 0 and "snapshots older than 0:00:00 expired" in expired.stdout
    cleaned = run_cli("storage", "cleanup", "--older-than", "0s", "--data-dir", str(data_dir))
    assert cleaned.exit_code == 0, (cleaned.stderr, cleaned.exception)
    assert len(sorted((data_dir / "lake" / "public" / "offline").glob("*.parquet"))) == 1
    bad = run_cli("storage", "expire", "--older-than", "soon", "--data-dir", str(data_dir))
    assert bad.exit_code == 2 and "invalid duration" in bad.stderr
    missing = run_cli("storage", "compact", "--data-dir", str(tmp_path / "nothing"))
    assert missing.exit_code == 1 and "holds no lake" in missing.stderr
    server = start_server(data_dir, config=QUIET)
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            assert content(conn, "offline") == before
    finally:
        server.stop()


def test_the_server_compacts_when_idle(tmp_path: Path) -> None:
    config = (
        'inline_rows = 0\n[maintenance]\ninterval = "1s"\nidle = "0.2s"\n'
        'expire_older_than = "0s"\ndelete_older_than = "0s"\nat_startup = false\n'
    )
    server = start_server(tmp_path / "data", config=config)
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            before = small_commits(conn, "busy", commits=15)
            deadline = time.monotonic() + 90  # generous: shared machines are slow
            while len(disk_files(server, "busy")) > 1 and time.monotonic() < deadline:
                time.sleep(0.2)  # polling the outcome of the server's own schedule
            assert len(disk_files(server, "busy")) == 1
            assert content(conn, "busy") == before
    finally:
        log = server.stop()
    assert "storage maintenance: " in log and "rewritten as 1" in log


def test_procedures_described_for_asyncpg(lake: RunningServer) -> None:
    async def body(con: asyncpg.Connection) -> list[tuple[str, int]]:
        await con.execute("CREATE TABLE a (id INTEGER)")
        for n in range(3):
            await con.execute("INSERT INTO a SELECT range FROM range($1::INTEGER)", n + 1)
        statement = await con.prepare("CALL forge_compact()")
        assert [a.name for a in statement.get_attributes()] == ["action", "count", "detail"]
        return [(r["action"], r["count"]) for r in await statement.fetch()]

    assert run_asyncpg(lake, body) == [("flush", 0), ("rewrite", 0), ("compact", 3)]


@pytest.mark.slow  # two server starts and a shutdown flush
def test_rows_parquet_cannot_hold_stay_inlined_across_restarts(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = start_server(data_dir)
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute("CREATE TABLE spans (d INTERVAL)")
            conn.execute("CREATE TABLE ok (id INTEGER)")
            conn.execute("INSERT INTO spans VALUES (INTERVAL '-1 day'), (INTERVAL '2 hours')")
            conn.execute("INSERT INTO ok SELECT range FROM range(10)")
    finally:
        log = server.stop()
    assert "inlined rows kept in the catalog: public.spans" in log
    server = start_server(data_dir)  # start-up flushes again: still starts
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            assert conn.execute("SELECT count(*) FROM spans").fetchone() == (2,)
            assert conn.execute("SELECT sum(id) FROM ok").fetchone() == (45,)
            flushed = conn.execute("CALL forge_compact()").fetchall()[0]
            assert "kept inlined" in flushed[2]
    finally:
        server.stop()
    assert len(list((data_dir / "lake" / "public" / "ok").glob("*.parquet"))) == 1
