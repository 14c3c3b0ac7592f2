"""Jobs and materialized views declared in YAML: the rows of forge_meta.cron_jobs and the
materialized view's statements, written in the migration's own transaction, with the undo
that puts back what was there (a changed job gets its old row again)."""

from __future__ import annotations

import re

from forge_sql.migrate.connection import Connection
from forge_sql.migrate.declaration import JobDecl, MatviewDecl, duration_ms
from forge_sql.migrate.diff import Risk, TableDiff
from forge_sql.sql.quoting import literal, quote_ident

JOBS = "forge_meta.cron_jobs"
_RUNS = "forge_meta.cron_job_run_details"
MATVIEWS = "forge_meta.matviews"
# The columns a declaration sets, in order.
_COLUMNS = ("schedule", "command", "username", "timezone", "retries", "retry_backoff_ms",
            "timeout_ms", "overlap", "after", "active")

Row = tuple[object, ...]


def _sql(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return literal(str(value))


def job_row(decl: JobDecl, user: str) -> Row:
    schedule = decl.schedule if decl.schedule is not None else f"after {decl.after}"
    return (schedule, decl.command, decl.run_as or user, decl.timezone, decl.retries,
            duration_ms(decl.retry_backoff), 0 if decl.timeout is None else
            duration_ms(decl.timeout), decl.overlap, decl.after, decl.active)


def live_job(conn: Connection | None, name: str) -> Row | None:
    if conn is None:
        return None
    rows = conn.execute(
        f"SELECT {', '.join(_COLUMNS)} FROM {JOBS} WHERE jobname = $1 ORDER BY jobid LIMIT 1",
        [name])
    return tuple(rows[0]) if rows else None


def _insert(name: str, row: Row, script: str) -> str:
    return (
        f"INSERT INTO {JOBS} (jobid, jobname, database, declared_in, created_at, "
        f"{', '.join(_COLUMNS)}) SELECT coalesce(greatest((SELECT max(jobid) FROM {JOBS}), "
        f"(SELECT max(jobid) FROM {_RUNS})), 0) + 1, {literal(name)}, current_database(), "
        f"{literal(script)}, now(), {', '.join(_sql(v) for v in row)}"
    )


def _delete(name: str) -> str:
    return f"DELETE FROM {JOBS} WHERE jobname = {literal(name)}"


def _update(name: str, row: Row, script: str) -> str:
    sets = ", ".join(f"{quote_ident(c)} = {_sql(v)}" for c, v in zip(_COLUMNS, row, strict=True))
    return (f"UPDATE {JOBS} SET {sets}, declared_in = {literal(script)} "
            f"WHERE jobname = {literal(name)}")


def job_diff(before: Row | None, decl: JobDecl, user: str, script: str) -> TableDiff:
    result = TableDiff(f"job {decl.name}")
    if decl.drop:
        if before is not None:
            result.add(f"unschedule job {decl.name}", [_delete(decl.name)],
                       [_insert(decl.name, before, script)])
        return result
    after = job_row(decl, user)
    if before == after:
        return result
    if before is None:
        result.add(f"schedule job {decl.name} ({after[0]}): {decl.command}",
                   [_insert(decl.name, after, script)], [_delete(decl.name)])
    else:
        result.add(f"change job {decl.name} ({after[0]}): {decl.command}",
                   [_update(decl.name, after, script)], [_update(decl.name, before, script)])
    return result


def refresh_job(decl: MatviewDecl) -> JobDecl:
    """The job that refreshes ``decl`` on its schedule."""
    name = f"refresh {decl.schema_}.{decl.name}"
    if decl.drop or decl.refresh is None:
        return JobDecl.model_validate({"name": name, "drop": True})
    target = f"{quote_ident(decl.schema_)}.{quote_ident(decl.name)}"
    return JobDecl.model_validate({"name": name, "schedule": decl.refresh,
                                   "command": f"REFRESH MATERIALIZED VIEW {target}"})


def live_matview(conn: Connection | None, decl: MatviewDecl) -> tuple[str, bool] | None:
    if conn is None:
        return None
    rows = conn.execute(
        f"SELECT definition, populated FROM {MATVIEWS} WHERE schema_name = $1 "
        "AND matview_name = $2", list(decl.qualified))
    return (str(rows[0][0]), bool(rows[0][1])) if rows else None


def matview_diff(before: tuple[str, bool] | None, decl: MatviewDecl) -> TableDiff:
    target = f"{quote_ident(decl.schema_)}.{quote_ident(decl.name)}"
    result = TableDiff(f"materialized view {decl.schema_}.{decl.name}")

    def create(query: str, with_data: bool) -> str:
        return (f"CREATE MATERIALIZED VIEW {target} AS {query}"
                + ("" if with_data else " WITH NO DATA"))

    drop = f"DROP MATERIALIZED VIEW {target}"
    if decl.drop:
        if before is not None:
            result.add(f"drop materialized view {decl.schema_}.{decl.name}", [drop],
                       [create(*before)])
        return result
    assert decl.query is not None
    if before is not None and before[0] == decl.query:
        return result
    if before is None:
        result.add(f"create materialized view {decl.schema_}.{decl.name}",
                   [f"CREATE SCHEMA IF NOT EXISTS {quote_ident(decl.schema_)}",
                    create(decl.query, decl.with_data)], [drop])
    else:
        # Its rows derive from the query: computed again, nothing is lost.
        result.add(f"replace materialized view {decl.schema_}.{decl.name}",
                   [drop, create(decl.query, decl.with_data)], [drop, create(*before)],
                   Risk.SAFE)
    return result


_SECONDS = re.compile(r"^\s*\d+\s+seconds?\s*$", re.IGNORECASE)


def findings(job: JobDecl) -> list[tuple[Risk, str]]:
    """What is worth a warning before applying a declared job."""
    found: list[tuple[Risk, str]] = []
    if job.drop:
        return found
    if job.timeout is None:
        found.append((Risk.DATA, f"job {job.name}: no timeout: a run that hangs holds its "
                      "locks, and its later ticks are skipped or queued (timeout: ...)"))
    if job.schedule is not None and _SECONDS.match(job.schedule):
        found.append((Risk.DATA, f"job {job.name}: schedule {job.schedule!r} runs more often "
                      "than every minute"))
    return found


def diffs(conn: Connection | None, views: list[MatviewDecl], jobs: list[JobDecl],
          script: str) -> list[TableDiff]:
    """The changes a file's ``materialized_views:`` and ``jobs:`` make, in that order (a job
    may refresh a view the same file declares)."""
    user = conn.user if conn is not None else "forge"
    found = []
    for view in views:
        found.append(matview_diff(live_matview(conn, view), view))
        job = refresh_job(view)
        found.append(job_diff(live_job(conn, job.name), job, user, script))
    for job in jobs:
        found.append(job_diff(live_job(conn, job.name), job, user, script))
    return found
