"""Jobs and materialized views declared in YAML migrations: planned, applied (in the
migration's transaction), run by the server's scheduler, changed, and rolled back."""

from __future__ import annotations

import time

from migrate_project import Project, both_slow_offline, online

__all__ = ["both_slow_offline", "online"]

V1 = """
tables:
  - table: sales
    columns:
      - {name: day, type: date}
      - {name: amount, type: integer}
materialized_views:
  - name: daily_sales
    query: SELECT day, sum(amount) AS total FROM sales GROUP BY day
    refresh: 1 seconds
jobs:
  - name: feed
    schedule: 1 seconds
    command: INSERT INTO sales VALUES (DATE '2026-01-01', 1)
    timezone: Europe/Paris
    retries: 2
    retry_backoff: 500 ms
    timeout: 10 minutes
  - name: audit
    after: feed
    command: SELECT count(*) FROM sales
"""


def wait_for(made: Project, sql: str, what: str, deadline: float = 60.0) -> None:
    end = time.monotonic() + deadline
    while not made.query(sql)[0][0]:
        assert time.monotonic() < end, f"waited {deadline:g} s for {what}"
        time.sleep(0.2)


def test_declared_jobs_and_materialized_views_apply_and_roll_back(
        both_slow_offline: Project) -> None:
    made = both_slow_offline
    made.write("V1__scheduled.yaml", V1)
    plan = made.run("plan").stdout
    assert "INSERT INTO forge_meta.cron_jobs" in plan and "'feed'" in plan
    assert 'CREATE MATERIALIZED VIEW "public"."daily_sales" AS SELECT day' in plan
    made.run()
    jobs = made.query(
        "SELECT jobname, schedule, timezone, retries, retry_backoff_ms, timeout_ms, after, "
        "declared_in FROM forge_meta.cron_jobs ORDER BY jobname")
    assert jobs == [
        ("audit", "after feed", "UTC", 0, 1000, 0, "feed", "V1__scheduled.yaml"),
        ("feed", "1 seconds", "Europe/Paris", 2, 500, 600000, None, "V1__scheduled.yaml"),
        ("refresh public.daily_sales", "1 seconds", "UTC", 0, 1000, 0, None,
         "V1__scheduled.yaml"),
    ]
    assert made.query("SELECT matviewname FROM pg_matviews") == [("daily_sales",)]
    assert made.json("validate")["problems"] == []
    if made.server is not None:
        # The server runs them: rows arrive, the view is refreshed, audit runs after feed.
        wait_for(made, "SELECT count(*) > 0 FROM daily_sales", "a refresh with rows")
        wait_for(made, "SELECT count(*) FROM forge_meta.cron_job_run_details r JOIN "
                 "forge_meta.cron_jobs j USING (jobid) WHERE j.jobname = 'audit' "
                 "AND r.status = 'succeeded'", "audit after feed")
    # The refresh schedule goes first: a migration that replaces a view while its refresh
    # job writes it would conflict at commit (DuckLake), as any two writers of one table.
    made.write("V2__slower.yaml", """
        jobs:
          - name: feed
            schedule: 0 3 * * *
            command: INSERT INTO sales VALUES (DATE '2026-01-02', 2)
          - name: audit
            drop: true
        materialized_views:
          - name: daily_sales
            query: SELECT day, sum(amount) AS total FROM sales GROUP BY day
    """)
    made.write("V3__wider.yaml", """
        materialized_views:
          - name: daily_sales
            query: SELECT day, sum(amount) AS total, count(*) AS n FROM sales GROUP BY day
    """)
    made.run()
    assert made.query("SELECT jobname, schedule FROM forge_meta.cron_jobs ORDER BY 1") == [
        ("feed", "0 3 * * *")]
    assert made.query("SELECT count(*) FROM daily_sales WHERE n > 0")[0][0] > 0
    made.run("down", "--to", "1")
    assert made.query("SELECT jobname, schedule FROM forge_meta.cron_jobs ORDER BY 1") == [
        ("audit", "after feed"), ("feed", "1 seconds"),
        ("refresh public.daily_sales", "1 seconds")]
    # Jobs paused before the last undo, which drops the view their refresh writes.
    made.query("SELECT cron.alter_job(jobid, active := false) FROM cron.job")
    wait_for(made, "SELECT count(*) = 0 FROM forge_meta.cron_job_run_details "
             "WHERE status IN ('starting', 'running')", "the runs under way")
    made.run("down", "--to", "0", "--allow-destructive")
    assert made.query("SELECT count(*) FROM forge_meta.cron_jobs") == [(0,)]
    assert made.query("SELECT count(*) FROM pg_matviews") == [(0,)]


def test_a_bad_schedule_points_at_the_file(online: Project) -> None:
    made = online
    made.write("V1__bad.yaml", """
        jobs:
          - name: broken
            schedule: every day
            command: SELECT 1
    """)
    result = made.run("validate", code=None)
    assert result.exit_code != 0
    assert "V1__bad.yaml:3" in result.stdout + result.stderr
    assert "invalid schedule: every day" in result.stdout + result.stderr
