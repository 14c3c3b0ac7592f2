"""Many small writes do not leave a Parquet file each (DuckLake data inlining)."""

from __future__ import annotations

from pathlib import Path

import psycopg
from server import start_server


def parquet_files(data_dir: Path) -> list[Path]:
    """The data files of the test's own tables (not the server's own in forge_meta, such as
    the grants of the views shipped extensions create at the first start)."""
    return sorted((data_dir / "lake" / "public").rglob("*.parquet"))


def test_small_inserts_are_inlined_then_flushed_at_shutdown(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = start_server(data_dir)
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute("CREATE TABLE small (id INTEGER, note VARCHAR)")
            for i in range(300):
                conn.execute("INSERT INTO small VALUES (%s, %s)", [i, f"n{i}"])
            conn.execute("INSERT INTO small SELECT range + 1000, 'bulk' FROM range(5000)")
            assert conn.execute("SELECT count(*) FROM small").fetchone() == (5300,)
        # 300 single-row inserts stayed in the catalog; the 5000-row insert is one file.
        assert len(parquet_files(data_dir)) == 1
    finally:
        log = server.stop()
    assert "Traceback" not in log
    # Shutdown wrote the inlined rows out: one more file, not three hundred.
    assert len(parquet_files(data_dir)) == 2
    server = start_server(data_dir)
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            assert conn.execute(
                "SELECT count(*), sum(id) FILTER (WHERE id < 300) FROM small"
            ).fetchone() == (5300, sum(range(300)))
    finally:
        server.stop()
