"""The lake record file, DuckLake's file names, and the start-up checks of a catalog
against the record, on an in-process lake."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from forge_sql.errors import ConfigError
from forge_sql.storage import datafiles, ducklake, identity, orphans, record
from forge_sql.storage.catalogs import embedded


def test_ducklake_names_carry_when_they_were_made() -> None:
    made = datafiles.written_at("ducklake-01a24e0f-a84f-7975-b56d-0551cba2d719.parquet")
    assert made == datetime.fromtimestamp(0x01A24E0FA84F / 1000, UTC)  # 2026-12-07 01:12:58
    deletes = "ducklake-01a24e0f-a8e7-79b1-b4e6-becacc604eae-delete.parquet"
    assert datafiles.written_at(deletes) is not None
    for other in ("ducklake-stray.parquet", "data_0.parquet", "ducklake-01a24e0f.parquet",
                  # a version 4 UUID: no time in it
                  "ducklake-dfce8d62-9a1b-48fa-9616-9369c47b37f8.parquet"):
        assert datafiles.written_at(other) is None
    assert datafiles.is_staged("/l/copy/public-t-" + "a" * 32 + ".parquet", "/l/copy/")
    assert not datafiles.is_staged("/l/public/t/public-t-" + "a" * 32 + ".parquet", "/l/copy/")


def test_record_round_trip_and_damage(tmp_path: Path) -> None:
    assert record.read(tmp_path) is None
    kept = record.LakeRecord("id-1", 7, datetime(2026, 1, 2, tzinfo=UTC), "/backups/b")
    record.write(tmp_path, kept)
    assert record.read(tmp_path) == kept
    (tmp_path / record.FILE).write_text("{not json")
    with pytest.raises(ConfigError, match="damaged"):
        record.read(tmp_path)


def open_lake(data: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    ducklake.attach(con, embedded(data), "lake", inline_rows=0)
    return con


def test_identity_survives_a_copy_and_differs_between_lakes(tmp_path: Path) -> None:
    con = open_lake(tmp_path / "a")
    meta = identity.metadata("lake")
    first = identity.lake_id(con, meta)
    con.execute("CREATE TABLE lake.public.t AS SELECT 1 AS x")
    # Dropping the schema it came from, and expiring that, keeps the identity.
    con.execute("DROP SCHEMA lake.main")
    con.execute("CALL ducklake_expire_snapshots('lake', older_than => now())")
    assert identity.lake_id(con, meta) == first
    latest = identity.latest_snapshot(con, meta)
    fresh = record.LakeRecord(first, latest, identity.created(con, meta))
    assert identity.verify(con, "lake", tmp_path, None, False) == fresh
    ahead = record.LakeRecord(first, latest + 5, fresh.since)
    with pytest.raises(ConfigError, match="older than this data directory's"):
        identity.verify(con, "lake", tmp_path, ahead, False)
    accepted = identity.verify(con, "lake", tmp_path, ahead, True)
    assert accepted.last_snapshot == latest and accepted.since > fresh.since
    other = open_lake(tmp_path / "b")
    assert identity.lake_id(other, meta) != first
    with pytest.raises(ConfigError, match="not the one this data directory served"):
        identity.verify(other, "lake", tmp_path, fresh, False)


def test_missing_catalog_checked_before_attaching(tmp_path: Path) -> None:
    lake = embedded(tmp_path)
    identity.check_present(lake, tmp_path, None, False)  # a new directory: fine
    table = tmp_path / "lake" / "public" / "t"
    table.mkdir(parents=True)
    (table / "ducklake-01a24e0f-a84f-7975-b56d-0551cba2d719.parquet").write_bytes(b"x")
    with pytest.raises(ConfigError, match=r"is missing \(1 data files"):
        identity.check_present(lake, tmp_path, None, False)
    identity.check_present(lake, tmp_path, None, True)
    assert not (tmp_path / "catalog.ducklake").exists()


def test_sweep_rules_on_an_in_process_lake(tmp_path: Path) -> None:
    con = open_lake(tmp_path)
    for n in range(20):
        con.execute(f"CREATE TABLE lake.public.t{n} AS SELECT {n} AS x")
    lake = embedded(tmp_path)
    folder = tmp_path / "lake" / "public" / "t0"
    now = datetime.now(UTC)
    young = folder / "ducklake-{}.parquet".format(
        "01a24e0f-a84f-7975-b56d-0551cba2d719")  # a name from the past, modified now
    young.write_bytes(b"x")
    rules = orphans.Rules(timedelta(hours=1), 0.1, None)
    swept = orphans.sweep(con, "lake", lake, rules)
    assert swept.deleted == [] and swept.kept == {str(young): "younger than 1:00:00"}
    since_now = orphans.Rules(timedelta(0), 0.1, now + timedelta(seconds=5))
    swept = orphans.sweep(con, "lake", lake, since_now)
    assert swept.kept == {str(young): "older than this catalog"}
    swept = orphans.sweep(con, "lake", lake, orphans.Rules(timedelta(0), 0.0, None))
    assert swept.capped and young.exists()
    swept = orphans.sweep(con, "lake", lake, orphans.Rules(timedelta(0), 0.0, None, force=True))
    assert swept.deleted == [str(young)] and not young.exists()
    assert con.execute("SELECT x FROM lake.public.t7").fetchone() == (7,)
