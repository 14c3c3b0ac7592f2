"""Damaged files in the data directory: a corrupt server.duckdb is set aside and rebuilt
(it holds derived state only), a damaged Parquet file of the lake is reported as XX001
with the file named while other tables keep working."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from server import RunningServer, start_server


def _fill(server: RunningServer) -> None:
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute("CREATE TABLE kept AS SELECT range AS id, 'row ' || range AS note "
                     "FROM range(5000)")
        conn.execute("CREATE TABLE small (a INT)")
        conn.execute("INSERT INTO small VALUES (1), (2)")


def _intact(server: RunningServer) -> None:
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        assert conn.execute("SELECT count(*), sum(id) FROM kept").fetchone() == (5000, 12497500)
        assert conn.execute("SELECT a FROM small ORDER BY a").fetchall() == [(1,), (2,)]
        # The pg_catalog emulation the file held is back.
        assert conn.execute("SELECT count(*) FROM pg_class WHERE relname IN ('kept', 'small')"
                            ).fetchone() == (2,)


@pytest.mark.parametrize("damage", [
    # Each starts servers twice (~9 s): one damage in the default run, the others slow.
    pytest.param(lambda data: os.urandom(len(data)), id="random-bytes",
                 marks=pytest.mark.slow),
    pytest.param(lambda data: data[: len(data) // 2], id="cut-in-half",
                 marks=pytest.mark.slow),
    pytest.param(lambda data: data[:4096] + b"\xff" * 8192 + data[12288:], id="header-block"),
])
def test_corrupt_server_database_is_set_aside_and_rebuilt(
        tmp_path: Path, damage: Callable[[bytes], bytes]) -> None:
    data_dir = tmp_path / "data"
    server = start_server(data_dir)
    try:
        _fill(server)
    finally:
        server.stop()
    path = data_dir / "server.duckdb"
    path.write_bytes(damage(path.read_bytes()))
    server = start_server(data_dir)
    try:
        _intact(server)
    finally:
        log = server.stop()
    assert "Traceback" not in log, log
    assert "server.duckdb is corrupt" in log and "holds derived state only" in log, log
    assert (data_dir / "server.duckdb.corrupt").exists()


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data_dir = tmp_path_factory.mktemp("corrupt-lake") / "data"
    server = start_server(data_dir, config="inline_rows = 0\n")
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute("CREATE TABLE healthy AS SELECT range AS x FROM range(10)")
        yield server
    finally:
        log = server.stop()
        assert "Traceback" not in log, log


def _write(path: Path, data: bytes) -> None:
    """Replace the file as a copy would: new content, new modification time (DuckDB's
    file cache knows a file by its size and modification time)."""
    stamp = max(time.time(), path.stat().st_mtime) + 2
    path.write_bytes(data)
    os.utime(path, (stamp, stamp))


@pytest.mark.parametrize("damage", [
    pytest.param(lambda data: data[:-40] + b"\xff" * 32 + data[-8:], id="footer"),
    pytest.param(lambda data: data[: len(data) // 2], id="truncated"),
    pytest.param(lambda data: data[:-8] + b"\xff\xff\xff\x7f" + data[-4:], id="footer-length"),
    pytest.param(lambda data: b"", id="empty"),
    pytest.param(lambda data: data[:4] + b"\x00" * 30000 + data[30004:], id="pages"),
])
def test_damaged_parquet_file_is_xx001_with_its_name(
        lake: RunningServer, damage: Callable[[bytes], bytes], request: pytest.FixtureRequest
) -> None:
    # A table of its own: a file DuckDB has read is served from its cache, damaged or not.
    table = "damaged_" + request.node.callspec.id.replace("-", "_")
    with psycopg.connect(lake.dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} AS SELECT range AS x, 'v' || range AS s "
                     "FROM range(100000)")
    (path,) = sorted((lake.data_dir / "lake").rglob(f"{table}/*.parquet"))
    original = path.read_bytes()
    _write(path, damage(original))
    try:
        with psycopg.connect(lake.dsn(), autocommit=True) as conn:
            for query in (f"SELECT sum(x) FROM {table}", f"SELECT * FROM {table} WHERE x = 7"):
                with pytest.raises(psycopg.Error) as caught:
                    conn.execute(query).fetchall()
                error = caught.value
                assert error.sqlstate == "XX001", (error.sqlstate, str(error))
                named = f"{error.diag.message_primary} {error.diag.message_detail}"
                assert str(path) in named, named
            # The same connection, other tables: unaffected.
            assert conn.execute("SELECT count(*) FROM healthy").fetchone() == (10,)
    finally:
        _write(path, original)
    with psycopg.connect(lake.dsn(), autocommit=True) as conn:
        # The file copied back: read again, not the damaged blocks from DuckDB's cache.
        assert conn.execute(f"SELECT count(*), sum(x) FROM {table}").fetchone() == (
            100000, 4999950000)
