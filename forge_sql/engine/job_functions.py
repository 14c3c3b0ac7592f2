"""pg_cron's SQL surface: cron.schedule, cron.schedule_in_database, cron.unschedule and
cron.alter_job (DuckDB Python functions behind macros of the server's ``cron`` schema that
pass the calling session's token), and the relations cron.job, cron.job_run_details and
cron.job_status, where each role sees its own jobs and superusers see all (pg_cron's row
security)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import duckdb
from duckdb.func import FunctionNullHandling
from duckdb.sqltypes import BIGINT, BOOLEAN, VARCHAR

from forge_sql import errors
from forge_sql.engine.activity import Activity, BackendStatus
from forge_sql.engine.jobs import OVERLAP, Job, Store, check_schedule, check_timezone
from forge_sql.sql.quoting import quote_ident
from forge_sql.storage import meta

SCHEMA = "server.cron"
_TOKEN = "getvariable('forge_session')"


def register(con: duckdb.DuckDBPyConnection, activity: Activity, store: Store, lake: str,
             database: str, role_exists: Callable[[str], bool],
             changed: Callable[[], None]) -> None:
    """``changed()``: called after each change, so the scheduler looks again at once."""

    def kept(backend: BackendStatus | None, exc: errors.ForgeError) -> None:
        if backend is not None:
            backend.session.function_error = exc

    def outside_block(backend: BackendStatus, function: str) -> None:
        """The job rows commit at once, so a call inside a transaction block, which a
        ROLLBACK could not undo, is refused as CREATE DATABASE is."""
        if backend.session.block.status != "I":
            raise errors.ActiveSqlTransaction(
                f"{function} cannot run inside a transaction block",
                hint="call it outside BEGIN ... COMMIT: it commits at once, and a ROLLBACK "
                     "would not undo it",
            )

    def owned(backend: BackendStatus, key: str) -> Job:
        job = store.find(int(key) if key.strip().isdigit() else key.strip(),
                         None if backend.superuser or key.strip().isdigit() else backend.user)
        if job is None:
            what = "job" if key.strip().isdigit() else "job name"
            raise errors.InvalidParameterValue(f"could not find valid entry for {what} '{key}'")
        if not backend.superuser and job.username != backend.user:
            raise errors.InsufficientPrivilege(f"must be owner of job {job.label}")
        return job

    def schedule(token: str | None, name: str | None, when: str | None, command: str | None,
                 db: str | None, username: str | None, active: bool | None) -> int | None:
        backend = None
        try:
            backend = activity.caller(token)
            outside_block(backend, "cron.schedule")
            if when is None or command is None:
                raise errors.InvalidParameterValue("schedule and command must not be NULL")
            check_schedule(when)
            user = username or backend.user
            if user != backend.user and not backend.superuser:
                raise errors.InsufficientPrivilege(
                    "must be superuser to schedule a job as another role")
            if not role_exists(user):
                raise errors.UndefinedObject(f'role "{user}" does not exist')
            if (db or database) != database:
                raise errors.InvalidParameterValue(f'database "{db}" does not exist')
            job = Job(0, name, when, command, database, user,
                      True if active is None else active)
            jobid = store.schedule(job)
            changed()
            return jobid
        except errors.ForgeError as exc:
            kept(backend, exc)
            raise

    def unschedule(token: str | None, key: str | None) -> bool | None:
        if key is None:
            return None
        backend = None
        try:
            backend = activity.caller(token)
            outside_block(backend, "cron.unschedule")
            job = owned(backend, key)
            store.unschedule(job.jobid)
            changed()
            return True
        except errors.ForgeError as exc:
            kept(backend, exc)
            raise

    def alter(token: str | None, jobid: int | None, when: str | None, command: str | None,
              db: str | None, username: str | None, active: bool | None,
              timezone: str | None, retries: int | None, backoff_ms: int | None,
              timeout_ms: int | None, overlap: str | None, after: str | None) -> str | None:
        backend = None
        try:
            backend = activity.caller(token)
            outside_block(backend, "cron.alter_job")
            if jobid is None:
                raise errors.InvalidParameterValue("job_id must not be NULL")
            job = owned(backend, str(jobid))
            changes: dict[str, object] = {}
            if when is not None:
                check_schedule(when)
                changes["schedule"] = when
            if command is not None:
                changes["command"] = command
            if db is not None and db != database:
                raise errors.InvalidParameterValue(f'database "{db}" does not exist')
            if username is not None and username != job.username:
                if not backend.superuser:
                    raise errors.InsufficientPrivilege(
                        "must be superuser to alter the role a job runs as")
                if not role_exists(username):
                    raise errors.UndefinedObject(f'role "{username}" does not exist')
                changes["username"] = username
            if active is not None:
                changes["active"] = active
            if timezone is not None:
                check_timezone(timezone)
                changes["timezone"] = timezone
            if retries is not None:
                if retries < 0:
                    raise errors.InvalidParameterValue("retries must not be negative")
                changes["retries"] = retries
            for column, value in (("retry_backoff_ms", backoff_ms), ("timeout_ms", timeout_ms)):
                if value is not None:
                    if value < 0:
                        raise errors.InvalidParameterValue(
                            f"{column.removesuffix('_ms')} must not be negative")
                    changes[column] = value
            if overlap is not None:
                if overlap not in OVERLAP:
                    raise errors.InvalidParameterValue(
                        f'overlap must be one of {", ".join(OVERLAP)}, not "{overlap}"')
                changes["overlap"] = overlap
            if after is not None:
                if after == "":
                    changes["after"] = None
                elif store.find(after) is None:
                    raise errors.InvalidParameterValue(
                        f"could not find valid entry for job name '{after}'")
                else:
                    changes["after"] = after
            store.alter(job.jobid, changes)
            changed()
            return None
        except errors.ForgeError as exc:
            kept(backend, exc)
            raise

    def visible(token: str | None, username: str | None) -> bool:
        try:
            backend = activity.caller(token)
        except errors.ForgeError:
            return False
        return backend.superuser or backend.user == username

    types: list[Any] = [VARCHAR, VARCHAR, VARCHAR, VARCHAR, VARCHAR, VARCHAR, BOOLEAN]
    for name, function, parameters, returns in (
        ("forge_cron_schedule", schedule, types, BIGINT),
        ("forge_cron_unschedule", unschedule, [VARCHAR, VARCHAR], BOOLEAN),
        ("forge_cron_alter", alter, [VARCHAR, BIGINT, VARCHAR, VARCHAR, VARCHAR, VARCHAR,
                                     BOOLEAN, VARCHAR, BIGINT, BIGINT, BIGINT, VARCHAR,
                                     VARCHAR], VARCHAR),
        ("forge_cron_visible", visible, [VARCHAR, VARCHAR], BOOLEAN),
    ):
        con.create_function(
            name, function, cast("list[Any]", parameters), returns,
            null_handling=FunctionNullHandling.SPECIAL, side_effects=True,
        )
    for sql in definitions(lake):
        con.execute(sql)


def _ms(value: str) -> str:
    """An interval argument ('30 seconds') as milliseconds."""
    return f"CAST(epoch(CAST({value} AS INTERVAL)) * 1000 AS BIGINT)"


def definitions(lake: str) -> list[str]:
    s = SCHEMA
    jobs = f"{quote_ident(lake)}.{meta.SCHEMA}.cron_jobs"
    runs = f"{quote_ident(lake)}.{meta.SCHEMA}.cron_job_run_details"
    mine = f"forge_cron_visible({_TOKEN}, username)"
    return [
        f"CREATE SCHEMA IF NOT EXISTS {s}",
        f"CREATE OR REPLACE MACRO {s}.schedule(schedule, command) AS "
        f"forge_cron_schedule({_TOKEN}, NULL, schedule, command, NULL, NULL, NULL), "
        f"(job_name, schedule, command) AS forge_cron_schedule({_TOKEN}, job_name, schedule, "
        "command, NULL, NULL, NULL)",
        f"CREATE OR REPLACE MACRO {s}.schedule_in_database(job_name, schedule, command, "
        "database, username := NULL, active := true) AS "
        f"forge_cron_schedule({_TOKEN}, job_name, schedule, command, database, username, "
        "active)",
        f"CREATE OR REPLACE MACRO {s}.unschedule(job) AS "
        f"forge_cron_unschedule({_TOKEN}, CAST(job AS VARCHAR))",
        f"CREATE OR REPLACE MACRO {s}.alter_job(job_id, schedule := NULL, command := NULL, "
        "database := NULL, username := NULL, active := NULL, timezone := NULL, "
        "retries := NULL, retry_backoff := NULL, timeout := NULL, overlap := NULL, "
        f"after := NULL) AS forge_cron_alter({_TOKEN}, job_id, schedule, command, database, "
        f"username, active, timezone, retries, {_ms('retry_backoff')}, {_ms('timeout')}, "
        "overlap, after)",
        # pg_cron's columns first (nodename and nodeport as a single-node pg_cron shows).
        f"CREATE OR REPLACE VIEW {s}.job AS SELECT jobid, schedule, command, "
        "'localhost' AS nodename, 5432 AS nodeport, database, username, active, jobname, "
        "timezone, retries, to_milliseconds(retry_backoff_ms) AS retry_backoff, "
        "to_milliseconds(timeout_ms) AS timeout, overlap, after, declared_in "
        f"FROM {jobs} WHERE {mine}",
        f"CREATE OR REPLACE VIEW {s}.job_run_details AS SELECT jobid, runid, job_pid, "
        "database, username, command, status, return_message, start_time, end_time, "
        f"attempt, node, scheduled_for FROM {runs} WHERE {mine}",
        # What pg_cron users ask for: is each job running, and did its last run work?
        f"CREATE OR REPLACE VIEW {s}.job_status AS SELECT j.jobid, j.jobname, j.schedule, "
        "j.active, j.username, r.status AS last_status, r.start_time AS last_start, "
        "r.end_time AS last_end, r.return_message AS last_message, "
        "coalesce(c.runs, 0) AS runs, coalesce(c.failed, 0) AS failed_runs "
        f"FROM {jobs} AS j LEFT JOIN (SELECT jobid, status, start_time, end_time, "
        f"return_message FROM {runs} QUALIFY row_number() OVER (PARTITION BY jobid "
        "ORDER BY runid DESC) = 1) AS r ON r.jobid = j.jobid "
        "LEFT JOIN (SELECT jobid, count(*) AS runs, count(*) FILTER (status = 'failed') "
        f"AS failed FROM {runs} GROUP BY jobid) AS c ON c.jobid = j.jobid "
        f"WHERE forge_cron_visible({_TOKEN}, j.username)",
    ]
