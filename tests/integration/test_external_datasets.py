"""External datasets declared in the config: views over local Parquet (hive-partitioned,
with partition pruning), CSV and JSON files, readable while the file sandbox stays on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from external_files import REGIONS, assert_pruned, corrupt_region, write_datasets
from psycopg import errors as pgerrors
from server import RunningServer, start_server

from forge_sql.storage.external import view_sql


def config(root: Path, with_logs: bool = True) -> str:
    text = (
        f'external_directories = ["{root}/extra"]\n[maintenance]\ninterval = 0\n'
        f'[external.events]\npath = "{root}/events/**/*.parquet"\nhive_partitioning = true\n'
        f'[external.rates]\npath = "{root}/rates/rates.csv"\nformat = "csv"\n'
        'options = { delim = ";", header = true }\n'
    )
    if with_logs:
        text += f'[external.logs]\npath = "{root}/logs/*.json"\nformat = "json"\nschema = "raw"\n'
    return text


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("external") / "files"
    write_datasets(root)
    return root


@pytest.fixture(scope="module")
def ext_server(files: Path) -> Iterator[RunningServer]:
    running = start_server(files.parent / "data", config=config(files))
    yield running
    log = running.stop()
    assert "Traceback" not in log, log


@pytest.fixture
def ext(ext_server: RunningServer) -> Iterator[psycopg.Connection]:
    with psycopg.connect(ext_server.dsn(), autocommit=True) as conn:
        yield conn


def test_parquet_view_with_hive_partitions(ext: psycopg.Connection) -> None:
    assert ext.execute(
        "SELECT region, year, count(*), sum(amount) FROM events "
        "GROUP BY ALL ORDER BY region, year"
    ).fetchall() == [
        (r, y, 50, sum(i / 4 for i in range(300) if REGIONS[i % 3] == r and 2024 + i % 2 == y))
        for r in sorted(REGIONS) for y in (2024, 2025)
    ]
    # The view is a relation of the database, listed with the tables.
    assert ext.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_name = 'events'"
    ).fetchone() == ("VIEW",)


def test_partition_pruning_reads_only_the_matching_files(ext: psycopg.Connection) -> None:
    plan = "\n".join(
        row[1] for row in ext.execute(
            "EXPLAIN ANALYZE SELECT sum(amount) FROM events WHERE region = 'eu' AND year = 2025"
        ).fetchall()
    )
    assert "Total Files Read: 1" in plan
    assert "Scanning Files: 1/6" in plan


def test_pruned_partitions_are_never_opened(tmp_path: Path) -> None:
    root = tmp_path / "files"
    write_datasets(root)
    corrupt_region(root, "us")
    server = start_server(tmp_path / "data", config=config(root))
    try:
        assert_pruned(server.dsn(), "SELECT count(*) FROM events WHERE region = 'us'")
    finally:
        server.stop()


def test_csv_and_json_views(ext: psycopg.Connection) -> None:
    assert ext.execute("SELECT code, rate FROM rates ORDER BY code").fetchall() == [
        ("EUR", 1.0), ("USD", 0.92),
    ]
    assert ext.execute(
        "SELECT day, level, n FROM raw.logs ORDER BY day, level"
    ).fetchall() == [(1, "info", 10), (1, "warn", 11), (2, "info", 20), (2, "warn", 21)]
    assert ext.execute(
        "SELECT e.region, r.rate FROM events e JOIN rates r ON r.code = 'EUR' "
        "WHERE e.id = 4"
    ).fetchone() == ("us", 1.0)


def test_views_over_external_directories(ext: psycopg.Connection, files: Path) -> None:
    # As a migration would declare one: a view over a directory the config lists.
    ext.execute(view_sql("codes", f"{files}/extra/codes.csv", "csv", options={"header": True}))
    assert ext.execute("SELECT label FROM codes ORDER BY code").fetchall() == [("one",), ("two",)]


def test_sandbox_stays_closed_elsewhere(ext: psycopg.Connection, files: Path) -> None:
    # The declared directories are readable, as the datasets need...
    assert ext.execute(
        f"SELECT count(*) FROM read_csv('{files}/rates/rates.csv', delim = ';')"
    ).fetchone() == (2,)
    # ...but nothing else outside the data directory, and the setting cannot be changed.
    with pytest.raises(pgerrors.InsufficientPrivilege):
        ext.execute("SELECT * FROM read_csv('/etc/passwd')")
    with pytest.raises(pgerrors.InsufficientPrivilege):
        ext.execute(f"SELECT * FROM glob('{files.parent}/*')")
    with pytest.raises(pgerrors.InsufficientPrivilege):
        ext.execute("SET allowed_directories = ['/']")


def test_restart_keeps_unchanged_views_and_drops_removed_ones(tmp_path: Path) -> None:
    root = tmp_path / "files"
    write_datasets(root)
    data_dir = tmp_path / "data"
    server = start_server(data_dir, config=config(root))
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            (first,) = conn.execute("SELECT max(snapshot_id) FROM forge_snapshots()").fetchone()
    finally:
        server.stop()
    server = start_server(data_dir, config=config(root))
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            # Same declarations: no view rewritten. (The first shutdown may add a snapshot
            # of its own, writing out rows the first start inlined: that changes no view.)
            later = conn.execute(
                "SELECT changes FROM forge_snapshots() WHERE snapshot_id > %s", [first]
            ).fetchall()
            assert all(set(changes) <= {"flushed_inlined"} for (changes,) in later), later
    finally:
        server.stop()
    server = start_server(data_dir, config=config(root, with_logs=False))
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            with pytest.raises(pgerrors.UndefinedTable):
                conn.execute("SELECT * FROM raw.logs")
            assert conn.execute("SELECT count(*) FROM events").fetchone() == (300,)
    finally:
        server.stop()


def test_a_dataset_that_does_not_exist_stops_the_server_with_a_clear_error(
    tmp_path: Path,
) -> None:
    with pytest.raises(RuntimeError, match="external dataset 'ghost'"):
        start_server(
            tmp_path / "data",
            config=f'[external.ghost]\npath = "{tmp_path}/none/*.parquet"\n',
        )
