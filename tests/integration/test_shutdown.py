"""SIGTERM stops the server promptly and cleanly: from the moment it says it is listening,
and with the shutdown's flush of inlined rows bounded by ``shutdown_flush_seconds``."""

from __future__ import annotations

from pathlib import Path

import psycopg
from server import start_server


def parquet_files(data_dir: Path) -> list[Path]:
    """The data files of the test's own tables (the server's own tables in forge_meta, such
    as the grants of the views shipped extensions create at the first start, aside)."""
    return sorted((data_dir / "lake" / "public").rglob("*.parquet"))


def test_sigterm_right_after_listening_is_a_clean_shutdown(tmp_path: Path) -> None:
    """The signal handlers are in place before ``listening on`` is printed: a service
    manager that stops the server as soon as it is up gets a clean exit, not a kill."""
    for attempt in range(3):
        server = start_server(tmp_path / f"data{attempt}")
        log = server.stop()  # SIGTERM at once
        assert server.process.returncode == 0, log
        assert "forge_sql: shut down\n" in log


def test_shutdown_flush_stops_at_its_time_limit(tmp_path: Path) -> None:
    """With no time for it, shutdown leaves the inlined rows in the catalog (committed);
    the next start writes them out."""
    data_dir = tmp_path / "data"
    server = start_server(data_dir, env={"FORGE_SQL_SHUTDOWN_FLUSH_SECONDS": "0"})
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute("CREATE TABLE small (id INTEGER)")
            for i in range(3):
                conn.execute("INSERT INTO small VALUES (%s)", [i])
    finally:
        log = server.stop()
    assert server.process.returncode == 0, log
    assert "kept in the catalog until the next start" in log
    assert parquet_files(data_dir) == []
    server = start_server(data_dir)
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            assert conn.execute("SELECT count(*), sum(id) FROM small").fetchone() == (3, 3)
        assert len(parquet_files(data_dir)) == 1  # the start wrote them out
    finally:
        log = server.stop()
    assert server.process.returncode == 0, log
    assert "Traceback" not in log
