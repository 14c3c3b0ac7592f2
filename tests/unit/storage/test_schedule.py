"""When the server counts as idle for periodic maintenance, and the schedule's on/off."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from forge_sql.storage import ducklake, maintenance
from forge_sql.storage.catalogs import Lake
from forge_sql.storage.policy import MaintenancePolicy
from forge_sql.storage.schedule import Schedule, Workload


def test_workload_tracks_running_sessions() -> None:
    workload = Workload()
    workload.running(1, True)
    workload.running(2, True)
    assert workload.idle_for() == 0.0
    workload.running(1, False)
    assert workload.idle_for() == 0.0  # session 2 still runs
    workload.running(2, False)
    workload.running(2, False)  # ending twice is harmless
    first = workload.idle_for()
    assert first >= 0.0
    time.sleep(0.01)  # idle time grows with the clock
    assert workload.idle_for() > first


def embedded(data: Path) -> Lake:
    return Lake(str(data / "catalog.ducklake"), f"{data / 'lake'}/", shared=False)


def where(data: Path) -> dict[str, Any]:
    """The lake, its record's ``since`` and the file lock a Schedule is given."""
    return {"where": embedded(data), "since": None, "files": threading.Lock()}


def lake(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    ducklake.attach(con, embedded(tmp_path), "lake", inline_rows=0)
    con.execute("CREATE TABLE lake.public.t (id INTEGER)")
    for n in range(5):
        con.execute(f"INSERT INTO lake.public.t VALUES ({n})")
    return con


def files(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute(
        "SELECT count(*) FROM ducklake_list_files('lake', 't', schema => 'public')"
    ).fetchone()
    assert row is not None
    return int(row[0])


def test_run_once_compacts_and_counts(tmp_path: Path) -> None:
    con = lake(tmp_path)
    schedule = Schedule(con.cursor, "lake", MaintenancePolicy(), Workload(), **where(tmp_path))
    schedule.run_once()
    assert schedule.runs == 1
    assert files(con) == 1
    assert con.execute("SELECT sum(id) FROM lake.public.t").fetchone() == (10,)


def test_interval_zero_never_starts(tmp_path: Path) -> None:
    con = lake(tmp_path)
    schedule = Schedule(
        con.cursor, "lake", MaintenancePolicy(interval=timedelta(0)), Workload(), **where(tmp_path)
    )
    schedule.start()
    schedule.stop()
    assert schedule.runs == 0
    assert files(con) == 5


def test_a_failed_run_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    con = lake(tmp_path)
    schedule = Schedule(
        con.cursor, "no_such_lake", MaintenancePolicy(), Workload(), **where(tmp_path)
    )
    schedule.run_once()
    assert schedule.runs == 0
    assert "storage maintenance failed" in caplog.text


def test_one_table_that_cannot_be_flushed_does_not_stop_the_others(tmp_path: Path) -> None:
    con = duckdb.connect()
    ducklake.attach(con, embedded(tmp_path), "lake", inline_rows=100)
    con.execute("CREATE TABLE lake.public.spans (d INTERVAL)")
    con.execute("CREATE TABLE lake.public.ok (id INTEGER)")
    con.execute("INSERT INTO lake.public.spans VALUES (INTERVAL '-1 day')")
    con.execute("INSERT INTO lake.public.ok SELECT range FROM range(10)")
    rows, failed = maintenance.flush(con, "lake")
    assert rows == 10
    assert len(failed) == 1 and failed[0].startswith("public.spans: ")
    assert con.execute("SELECT count(*) FROM lake.public.spans").fetchone() == (1,)
    outcomes = maintenance.compact(con, "lake")
    assert "kept inlined" in outcomes[0].detail and "public.spans" in outcomes[0].detail


class _Recording:
    """A connection that records the DuckLake maintenance functions it is asked to run."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self.calls: list[str] = []

    def execute(self, sql: str, *args: Any) -> duckdb.DuckDBPyConnection:
        for name in ("flush_inlined_data", "rewrite_data_files", "merge_adjacent_files"):
            if f"ducklake_{name}(" in sql:
                self.calls.append(name)
        return self._con.execute(sql, *args)


def test_compaction_calls_ducklake_only_for_what_a_table_holds(tmp_path: Path) -> None:
    """Each DuckLake call costs tens of milliseconds even with nothing to do: an empty
    table gets none, one file no merge, inlined rows a flush and then every step."""
    con = duckdb.connect()
    ducklake.attach(con, embedded(tmp_path), "lake", inline_rows=10)
    con.execute("CREATE TABLE lake.public.empty (id INTEGER)")
    con.execute("CREATE TABLE lake.public.one (id INTEGER)")
    con.execute("INSERT INTO lake.public.one SELECT range FROM range(100)")  # a file
    con.execute("CREATE TABLE lake.public.small (id INTEGER)")
    con.execute("INSERT INTO lake.public.small VALUES (1), (2)")  # inlined
    recording = _Recording(con)
    outcomes = maintenance.compact(recording, "lake")  # type: ignore[arg-type]
    assert recording.calls == ["rewrite_data_files", "flush_inlined_data",
                               "rewrite_data_files", "merge_adjacent_files"]
    assert outcomes[0].count == 2  # the inlined rows were written out
    assert con.execute("SELECT count(*) FROM lake.public.small").fetchone() == (2,)
    recording.calls.clear()
    assert maintenance.flush(recording, "lake") == (0, [])  # type: ignore[arg-type]
    assert maintenance.flush_tables(recording, "lake") == (0, [], 0)  # type: ignore[arg-type]
    assert recording.calls == []
