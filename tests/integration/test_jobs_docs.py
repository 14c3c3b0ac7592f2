"""docs/jobs.md runs as written: its sql blocks, in order, through psql, on a server of
their own (the test waits for the heartbeat job's first run before the history block)."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import psycopg
import pytest
import yaml
from server import RunningServer, start_server

from forge_sql.migrate.declaration import DeclarationFile

DOC = Path(__file__).resolve().parents[2] / "docs" / "jobs.md"

pytestmark = pytest.mark.skipif(shutil.which("psql") is None, reason="psql is not installed")


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", DOC.read_text(), re.S | re.M)


def psql(server: RunningServer, sql: str) -> str:
    done = subprocess.run(
        ["psql", server.dsn(), "-X", "-w", "-v", "ON_ERROR_STOP=1", "-f", "-"],
        input=sql, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    return done.stdout


def test_jobs_page_examples_run(tmp_path: Path) -> None:
    sql = blocks("sql")
    server = start_server(tmp_path / "data")
    try:
        out = psql(server, "\n".join(sql[:3]))
        assert re.search(r"^ 2026-01-01 \| +15$", out, re.M)
        assert re.search(r"^ +3$", out, re.M)  # three days after the refresh
        assert re.search(r"^ daily_sales +\| t$", out, re.M)
        assert re.search(r"^ refresh daily_sales \| Europe/Paris \| +3 \| 00:00:30 +\| "
                         r"00:10:00 \| skip", out, re.M)
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            deadline = time.monotonic() + 60
            while not conn.execute(
                    "SELECT count(*) FROM cron.job_run_details WHERE status = 'succeeded'"
            ).fetchone()[0]:  # type: ignore[index]
                assert time.monotonic() < deadline, "the heartbeat never ran"
                time.sleep(0.2)
        out = psql(server, sql[3])
        assert re.search(r"^ succeeded \| INSERT 0 1$", out, re.M)
        assert re.search(r"^ heartbeat +\| \w+ +\| t$", out, re.M)
    finally:
        log = server.stop()
    assert "Traceback" not in log, log


def test_the_migration_example_is_a_valid_declaration() -> None:
    (text,) = blocks("yaml")
    declared = DeclarationFile.model_validate(yaml.safe_load(text))
    assert [j.name for j in declared.jobs] == ["nightly_cleanup", "report"]
    assert declared.materialized_views[0].refresh == "0 * * * *"
