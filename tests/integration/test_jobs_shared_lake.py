"""Two servers over one lake (DuckLake catalog in a real PostgreSQL): each tick of a
scheduled job runs once, on one of them (a claim in the shared catalog)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from postgres import PostgresServer, catalog_dsn, postgres  # noqa: F401
from server import RunningServer, start_server
from test_shared_lake import shared_config, stop_all


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory,
         catalog_dsn: str,  # noqa: F811
         ) -> Iterator[tuple[RunningServer, RunningServer]]:
    root: Path = tmp_path_factory.mktemp("jobs-shared")
    config = shared_config(catalog_dsn, str(root / "lake"))
    first = start_server(root / "a", config=config)
    try:
        second = start_server(root / "b", config=config)
    except BaseException:
        stop_all(first)
        raise
    yield first, second
    stop_all(first, second)


def test_each_tick_runs_once_across_two_servers(
        pair: tuple[RunningServer, RunningServer]) -> None:
    a, b = pair
    with psycopg.connect(a.dsn(), autocommit=True) as conn, psycopg.connect(
            b.dsn(), autocommit=True) as other:
        conn.execute("CREATE TABLE ticks (ran timestamptz)")
        jobid = conn.execute(
            "SELECT cron.schedule('tick', '1 seconds', 'INSERT INTO ticks VALUES (now())')"
        ).fetchone()[0]  # type: ignore[index]
        # Both servers see the job; wait for runs from several ticks.
        assert other.execute("SELECT count(*) FROM cron.job WHERE jobid = %s",
                             [jobid]).fetchone() == (1,)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            done = conn.execute(
                "SELECT count(*) FROM cron.job_run_details WHERE jobid = %s "
                "AND status = 'succeeded'", [jobid]).fetchone()
            if done and done[0] >= 6:
                break
            time.sleep(0.2)
        conn.execute("SELECT cron.alter_job(%s, active := false)", [jobid])
        time.sleep(1.5)  # a run claimed just before the change finishes
        rows = conn.execute(
            "SELECT scheduled_for, count(*), list(node) FROM cron.job_run_details "
            "WHERE jobid = %s AND attempt = 1 GROUP BY 1 ORDER BY 1", [jobid]).fetchall()
        assert len(rows) >= 6, rows
        assert all(count == 1 for _, count, _ in rows), rows
        succeeded = conn.execute(
            "SELECT count(*) FROM cron.job_run_details WHERE jobid = %s "
            "AND status = 'succeeded'", [jobid]).fetchone()
        assert conn.execute("SELECT count(*) FROM ticks").fetchone() == succeeded
        conn.execute("SELECT cron.unschedule(%s)", [jobid])


def test_a_job_scheduled_on_one_server_is_managed_from_the_other(
        pair: tuple[RunningServer, RunningServer]) -> None:
    a, b = pair
    with psycopg.connect(a.dsn(), autocommit=True) as conn, psycopg.connect(
            b.dsn(), autocommit=True) as other:
        jobid = conn.execute(
            "SELECT cron.schedule('elsewhere', '0 3 * * *', 'SELECT 1')").fetchone()[0]  # type: ignore[index]
        other.execute("SELECT cron.alter_job(%s, schedule := '0 4 * * *')", [jobid])
        assert conn.execute("SELECT schedule FROM cron.job WHERE jobid = %s",
                            [jobid]).fetchone() == ("0 4 * * *",)
        assert other.execute("SELECT cron.unschedule('elsewhere')").fetchone() == (True,)


