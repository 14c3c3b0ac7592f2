"""A backup of an in-process lake holds every file of every snapshot (partitions, deletion
files, renamed tables, other schemas) and restores into another directory."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from forge_sql import errors
from forge_sql.storage import backup, ducklake, record
from forge_sql.storage.catalogs import embedded


def lake(data: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    ducklake.attach(con, embedded(data), "lake", inline_rows=0)
    return con


def test_backup_and_restore_round_trip(tmp_path: Path) -> None:
    source = tmp_path / "source"
    (source / "tmp").mkdir(parents=True)
    con = lake(source)
    con.execute("CREATE TABLE lake.public.p (region VARCHAR, id INTEGER)")
    con.execute("ALTER TABLE lake.public.p SET PARTITIONED BY (region)")
    con.execute(
        "INSERT INTO lake.public.p SELECT ['eu', 'us'][range % 2 + 1], range FROM range(1000)"
    )
    (before,) = con.execute("SELECT id FROM lake.current_snapshot()").fetchone()
    con.execute("DELETE FROM lake.public.p WHERE id % 3 = 0")
    con.execute("CREATE SCHEMA lake.s2")
    con.execute("CREATE TABLE lake.s2.q AS SELECT 1 AS x")
    con.execute("ALTER TABLE lake.s2.q RENAME TO q2")
    con.execute("INSERT INTO lake.s2.q2 VALUES (2)")
    taken = backup.take(con, "lake", embedded(source), source / "tmp", tmp_path / "b")
    con.close()
    assert any("region=eu/" in path for path, _ in taken.files)
    assert any(path.endswith("-delete.parquet") for path, _ in taken.files)
    assert json.loads((tmp_path / "b" / "backup.json").read_text())["snapshot"] == taken.snapshot
    assert not list((source / "tmp").iterdir())  # the scratch copy is gone
    # The backup directory is a data directory of its own.
    copy = lake(tmp_path / "b")
    assert copy.execute("SELECT count(*) FROM lake.public.p").fetchone() == (666,)
    copy.close()

    target = tmp_path / "target"
    restored = backup.restore(tmp_path / "b", embedded(target), target)
    assert restored == taken
    kept = record.read(target)
    assert kept is not None and (kept.lake_id, kept.last_snapshot) == (
        taken.lake_id, taken.snapshot)
    con = lake(target)
    assert con.execute(
        "SELECT region, count(*) FROM lake.public.p GROUP BY 1 ORDER BY 1"
    ).fetchall() == [("eu", 333), ("us", 333)]
    assert con.execute("SELECT x FROM lake.s2.q2 ORDER BY x").fetchall() == [(1,), (2,)]
    # Time travel inside the backup: the files of older snapshots came along.
    assert con.execute(
        f"SELECT count(*) FROM lake.public.p AT (VERSION => {before})"
    ).fetchone() == (1000,)


def test_backup_refuses_a_busy_or_wrong_destination(tmp_path: Path) -> None:
    source = tmp_path / "source"
    (source / "tmp").mkdir(parents=True)
    con = lake(source)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x").write_text("x")
    with pytest.raises(errors.ObjectNotInPrerequisiteState, match="not an empty directory"):
        backup.take(con, "lake", embedded(source), source / "tmp", busy)
    with pytest.raises(errors.InvalidParameterValue, match="inside the lake's data path"):
        backup.take(con, "lake", embedded(source), source / "tmp", source / "lake" / "b")
    with pytest.raises(errors.UndefinedObject, match="holds no backup"):
        backup.restore(busy, embedded(tmp_path / "t"), tmp_path / "t")
