"""A lost, replaced or older catalog is refused at start-up and no data file is deleted;
the orphan sweep deletes only files it can prove are garbage."""

from __future__ import annotations

import json
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from lake_files import ducklake_name, lake_files, plant
from postgres import catalog_dsn, postgres  # noqa: F401
from server import start_server

from forge_sql.cli import main

QUIET = "inline_rows = 0\n[maintenance]\ninterval = 0\nat_startup = false\n"


def lake_files_under(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


def fill(data_dir: Path, table: str, inserts: int = 3) -> int:
    """Start a server on ``data_dir``, add ``inserts`` Parquet files to ``table``, stop it;
    the table's row count."""
    server = start_server(data_dir, config=QUIET)
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute(f"CREATE TABLE IF NOT EXISTS {table} (id INTEGER, note VARCHAR)")
            for n in range(inserts):
                conn.execute(f"INSERT INTO {table} SELECT range, 'n{n}' FROM range(100)")
            (count,) = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    finally:
        log = server.stop()
    assert "Traceback" not in log
    return int(count)


def refused(data_dir: Path, *args: str) -> str:
    """Start a server that must refuse to start; what it said."""
    with pytest.raises(RuntimeError) as failed:
        server = start_server(data_dir, *args, config=QUIET)
        server.stop()
    said = str(failed.value)
    assert "Traceback" not in said
    return said


def test_missing_catalog_is_refused_and_no_file_deleted(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    fill(data_dir, "kept")
    files = lake_files(data_dir)
    assert len(files) >= 3
    (data_dir / "catalog.ducklake").unlink()

    said = refused(data_dir)
    assert "catalog" in said and "is missing" in said
    assert "forge-sql storage restore" in said and "--accept-catalog" in said
    assert lake_files(data_dir) == files
    assert not (data_dir / "catalog.ducklake").exists()
    # Asked explicitly, the server starts on a new, empty catalog; the old files stay.
    server = start_server(data_dir, "--accept-catalog", config=QUIET)
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn, pytest.raises(
            psycopg.errors.UndefinedTable
        ):
            conn.execute("SELECT count(*) FROM kept")
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            swept = conn.execute("CALL forge_cleanup('0s', true)").fetchall()
        assert swept[1][:2] == ("orphans", 0)
        assert "older than this catalog" in swept[1][2]
    finally:
        log = server.stop()
    assert "is missing" in log
    assert set(files) <= set(lake_files(data_dir))


def test_older_catalog_put_back_is_refused_and_no_file_deleted(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    fill(data_dir, "events")
    older = tmp_path / "catalog.copy"
    shutil.copy(data_dir / "catalog.ducklake", older)
    fill(data_dir, "events")  # three more files the older catalog does not know
    files = lake_files(data_dir)
    shutil.copy(older, data_dir / "catalog.ducklake")

    said = refused(data_dir)
    assert "older than this data directory's last known state" in said
    assert lake_files(data_dir) == files
    # Offline maintenance checks the same before it sweeps anything.
    offline = CliRunner().invoke(
        main, ["storage", "cleanup", "--older-than", "0s", "--force", "--data-dir", str(data_dir)]
    )
    assert offline.exit_code == 1 and "older than this data directory's" in offline.stderr
    assert lake_files(data_dir) == files
    # Another lake's catalog (made for the same path) put in place is refused too.
    data_dir.rename(tmp_path / "aside")
    fill(data_dir, "unrelated", inserts=1)
    shutil.copy(data_dir / "catalog.ducklake", tmp_path / "other.ducklake")
    shutil.rmtree(data_dir)
    (tmp_path / "aside").rename(data_dir)
    shutil.copy(tmp_path / "other.ducklake", data_dir / "catalog.ducklake")
    said = refused(data_dir)
    assert "not the one this data directory served" in said
    assert lake_files(data_dir) == files


def test_brand_new_data_directory_starts_and_records_its_lake(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert fill(data_dir, "fresh", inserts=1) == 100
    record = (data_dir / "lake-record.json").read_text()
    assert '"last_snapshot"' in record and '"lake_id"' in record
    # Restarting on the same catalog is nothing special.
    assert fill(data_dir, "fresh", inserts=1) == 200


def test_sweep_deletes_old_orphans_only(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    fill(data_dir, "base", inserts=30)
    server = start_server(data_dir, config=QUIET)
    try:
        existing = sorted((data_dir / "lake" / "public" / "base").glob("*.parquet"))
        # The lake record says when this catalog began; files named before it are another
        # catalog's. A crashed transaction's file is made after it.
        since = datetime.fromisoformat(
            json.loads((data_dir / "lake-record.json").read_text())["since"]
        )
        made = since + timedelta(milliseconds=50)
        old = plant(existing[0], ducklake_name(made), made)
        foreign = plant(existing[0], "exported-by-hand.parquet", since - timedelta(days=3))
        before = plant(existing[0], ducklake_name(since - timedelta(days=3)), since - timedelta(
            days=3))
        # What retention means: the next file is young, the first is not.
        time.sleep(max(0.0, (made + timedelta(seconds=2.2) - datetime.now(UTC)).total_seconds()))
        fresh = plant(existing[0], ducklake_name(datetime.now(UTC)), datetime.now(UTC))
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            swept = conn.execute("CALL forge_cleanup('2s')").fetchall()
            assert swept[1][:2] == ("orphans", 1), swept
            assert "younger than 0:00:02" in swept[1][2]
            assert conn.execute("SELECT count(*) FROM base").fetchone() == (3000,)
        assert not old.exists()
        assert fresh.exists() and foreign.exists() and before.exists()
    finally:
        log = server.stop()
    assert f"deleted {old}" in log
    assert f"kept {foreign} (not named by DuckLake)" in log
    assert f"kept {before} (older than this catalog)" in log


def test_share_cap_holds_unless_forced(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    fill(data_dir, "base", inserts=20)
    existing = sorted((data_dir / "lake" / "public" / "base").glob("*.parquet"))
    made = datetime.now(UTC) - timedelta(seconds=1)
    planted = [plant(existing[0], ducklake_name(made), made) for _ in range(5)]
    config = QUIET + 'orphans_older_than = "0s"\n'
    # At start-up: 5 of 25 files is more than 10%: nothing deleted.
    server = start_server(data_dir, config=config)
    try:
        assert all(path.exists() for path in planted)
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            capped = conn.execute("CALL forge_cleanup('0s')").fetchall()
            assert capped[1][:2] == ("orphans", 0)
            assert all(path.exists() for path in planted)
            forced = conn.execute("CALL forge_cleanup('0s', force => true)").fetchall()
            assert forced[1][:2] == ("orphans", 5)
            assert conn.execute("SELECT count(*) FROM base").fetchone() == (2000,)
    finally:
        log = server.stop()
    assert "look orphaned, more than the 10%" in log
    assert not any(path.exists() for path in planted)
    # Below the share, the start-up sweep deletes an old orphan by itself.
    made = datetime.now(UTC) - timedelta(seconds=1)
    one = plant(existing[0], ducklake_name(made), made)
    server = start_server(data_dir, config=config)
    server.stop()
    assert not one.exists()


def test_shared_catalog_recreated_empty_is_refused(
    tmp_path: Path,
    catalog_dsn: str,  # noqa: F811
) -> None:
    config = f"catalog = '{catalog_dsn}'\ndata_path = '{tmp_path / 'shared'}'\n" + QUIET
    data_dir = tmp_path / "server"
    server = start_server(data_dir, config=config)
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute("CREATE TABLE shared_rows AS SELECT range AS id FROM range(10)")
    finally:
        server.stop()
    files = lake_files_under(tmp_path / "shared")
    assert files
    # The catalog database is lost (dropped and made again, empty).
    with psycopg.connect(catalog_dsn, autocommit=True) as conn:
        for (table,) in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall():
            conn.execute(f'DROP TABLE "{table}"')
    with pytest.raises(RuntimeError, match="not the one this data directory served"):
        start_server(data_dir, config=config).stop()
    assert lake_files_under(tmp_path / "shared") == files
