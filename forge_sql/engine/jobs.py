"""Scheduled jobs (pg_cron's cron.job and cron.job_run_details) as rows of the lake's
forge_meta.cron_jobs and forge_meta.cron_job_run_details, so servers sharing a lake share
them; schedules in cron syntax (croniter) or pg_cron 1.5's 'N seconds'."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
from croniter import croniter

from forge_sql import errors
from forge_sql.sql.quoting import literal, quote_ident
from forge_sql.storage import conflicts, meta

_SECONDS = re.compile(r"^\s*(\d+)\s+seconds?\s*$", re.IGNORECASE)
OVERLAP = ("skip", "queue")
SYNCS = "forge_meta.syncs"  # declared_in of the jobs that run scheduled syncs

# The columns of a job, in the order Store reads them.
_JOB_COLUMNS = (
    "jobid, jobname, schedule, command, database, username, active, timezone, retries, "
    "retry_backoff_ms, timeout_ms, overlap, after, declared_in, created_at"
)
# As read: timestamps as microseconds since the epoch (DuckDB hands timestamptz to Python
# through pytz, which the server does not need otherwise).
_JOB_READ = _JOB_COLUMNS.replace("created_at", "epoch_us(created_at)")


def _moment(micros: int | None) -> datetime | None:
    return None if micros is None else datetime.fromtimestamp(micros / 1e6, UTC)


def _seconds(moment: datetime) -> float:
    """A tick as to_timestamp() takes it (milliseconds kept)."""
    return round(moment.timestamp(), 3)


@dataclass(frozen=True)
class Job:
    jobid: int
    jobname: str | None
    schedule: str
    command: str
    database: str
    username: str
    active: bool = True
    timezone: str = "UTC"
    retries: int = 0
    retry_backoff_ms: int = 1000
    timeout_ms: int = 0  # the run's statement_timeout; 0: none
    overlap: str = "skip"  # a tick while the previous run still runs: skip | queue
    after: str | None = None  # runs when that job's run succeeds, not on a schedule
    declared_in: str | None = None  # the migration that declared it
    created_at: datetime | None = None
    last_tick: datetime | None = None  # the last tick a scheduler claimed

    @property
    def label(self) -> str:
        return self.jobname or str(self.jobid)


def check_schedule(text: str) -> None:
    """Refuse a schedule pg_cron would refuse (22023, its words)."""
    if _SECONDS.match(text):
        seconds = int(_SECONDS.match(text).group(1))  # type: ignore[union-attr]
        if not 1 <= seconds <= 59:
            raise errors.InvalidParameterValue(f"invalid schedule: {text}",
                                               hint="Use 1-59 seconds")
        return
    if not croniter.is_valid(text.strip()):
        raise errors.InvalidParameterValue(f"invalid schedule: {text}")


def check_timezone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise errors.InvalidParameterValue(f'time zone "{name}" not recognized') from None


def alive(node: str) -> bool:
    """Whether the server ``node`` (Scheduler.node: host:pid:id) may still run: on this host,
    whether its process lives; on another, not known, so taken as yes."""
    host, _, rest = node.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def due(job: Job, now: datetime) -> datetime | None:
    """The latest tick of ``job``'s schedule at or before ``now`` that no scheduler has
    claimed yet (ticks missed while no server ran give one run, as in pg_cron); None if
    none is due, or the job runs after another one instead."""
    if job.after is not None or not job.active:
        return None
    seconds = _SECONDS.match(job.schedule)
    if seconds:
        step = int(seconds.group(1))
        epoch = int(now.timestamp())
        tick = datetime.fromtimestamp(epoch - epoch % step, UTC)
    else:
        local = now.astimezone(ZoneInfo(job.timezone))
        tick = croniter(job.schedule.strip(), local).get_prev(datetime).astimezone(UTC)
    since = job.last_tick or job.created_at
    if since is not None and tick <= since:
        return None
    return tick


class Store:
    """The lake's job rows, each change in a transaction of its own on the store's cursor
    (committed at once, as pg_cron's cron.schedule is for the scheduler), retried when
    another server's commit conflicts."""

    def __init__(self, cursor: Callable[[], duckdb.DuckDBPyConnection], lake: str,
                 retries: int, fatal: Callable[[str], None] = lambda reason: None) -> None:
        """``fatal(reason)``: DuckDB invalidated the database under the store's work (a
        FATAL error); the store does nothing more until its cursor is released (the
        database opened again)."""
        self._new_cursor = cursor
        self._fatal = fatal
        self.invalidated = False
        self._cursor: duckdb.DuckDBPyConnection | None = None
        self._jobs = f"{quote_ident(lake)}.{meta.SCHEMA}.cron_jobs"
        self._runs = f"{quote_ident(lake)}.{meta.SCHEMA}.cron_job_run_details"
        self._state = f"{quote_ident(lake)}.{meta.SCHEMA}.cron_job_state"
        self._syncs = f"{quote_ident(lake)}.{meta.SCHEMA}.syncs"
        self._retries = retries
        self._lock = threading.RLock()
        self._last_runid = 0
        self.closed = False  # the database closed: the scheduler stops

    def _run(self, action: Callable[[duckdb.DuckDBPyConnection], object],
             retries: int | None = None) -> object:
        with self._lock:
            if self.invalidated:
                raise errors.CrashShutdown("the database was invalidated; it opens again "
                                           "once the sessions open before have ended")
            if self._cursor is None:
                self._cursor = self._new_cursor()
            cursor = self._cursor
            try:
                return conflicts.in_transaction(
                    cursor, action, self._retries if retries is None else retries
                )
            except duckdb.FatalException as exc:
                self.invalidated = True
                self._fatal(str(exc))
                raise

    def close(self) -> None:
        self.closed = True
        self.release_cursor()

    def release_cursor(self) -> None:
        """Close the store's connection once no lake work is under way on it (the database
        is about to be opened again); the next use opens a new one."""
        with self._lock:
            if self._cursor is not None:
                with contextlib.suppress(duckdb.Error):  # an invalidated database refuses
                    self._cursor.close()
                self._cursor = None
            self.invalidated = False

    # -- jobs ------------------------------------------------------------------------------
    def jobs(self) -> list[Job]:
        rows = self._run(lambda c: c.execute(
            f"SELECT {_JOB_READ}, (SELECT epoch_us(max(s.last_tick)) FROM {self._state} AS s "
            f"WHERE s.jobid = j.jobid) FROM {self._jobs} AS j ORDER BY jobid").fetchall())
        assert isinstance(rows, list)
        names = [name.strip() for name in _JOB_COLUMNS.split(",")]
        return [
            Job(**{**dict(zip(names[:14], row[:14], strict=True)), "created_at": _moment(row[14]),
                   "last_tick": _moment(row[15])})
            for row in rows
        ]

    def find(self, key: int | str, username: str | None = None) -> Job | None:
        for job in self.jobs():
            if (job.jobid == key if isinstance(key, int) else job.jobname == key) and (
                    username is None or job.username == username):
                return job
        return None

    def schedule(self, job: Job) -> int:
        """Add ``job`` (its jobid is chosen here), or replace the command and schedule of
        the job of the same name and user (pg_cron's cron.schedule); its jobid."""
        def add(c: duckdb.DuckDBPyConnection) -> int:
            if job.jobname is not None:
                found = c.execute(
                    f"SELECT jobid FROM {self._jobs} WHERE jobname = ? AND username = ?",
                    [job.jobname, job.username]).fetchone()
                if found is not None:
                    c.execute(
                        f"UPDATE {self._jobs} SET schedule = ?, command = ?, database = ?, "
                        "active = true WHERE jobid = ?",
                        [job.schedule, job.command, job.database, found[0]])
                    return int(found[0])
            # Never the id of a job unscheduled since: its runs keep their rows.
            row = c.execute(
                f"SELECT coalesce(greatest((SELECT max(jobid) FROM {self._jobs}), "
                f"(SELECT max(jobid) FROM {self._runs})), 0) + 1").fetchone()
            jobid = int(row[0]) if row else 1
            c.execute(
                f"INSERT INTO {self._jobs} ({_JOB_COLUMNS}) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
                [jobid, job.jobname, job.schedule, job.command, job.database, job.username,
                 job.active, job.timezone, job.retries, job.retry_backoff_ms, job.timeout_ms,
                 job.overlap, job.after, job.declared_in])
            return jobid

        result = self._run(add)
        assert isinstance(result, int)
        return result

    def unschedule(self, jobid: int) -> None:
        def remove(c: duckdb.DuckDBPyConnection) -> None:
            c.execute(f"DELETE FROM {self._jobs} WHERE jobid = ?", [jobid])
            c.execute(f"DELETE FROM {self._state} WHERE jobid = ?", [jobid])

        self._run(remove)

    def alter(self, jobid: int, changes: dict[str, object]) -> None:
        if not changes:
            return
        assignments = ", ".join(f"{quote_ident(name)} = ?" for name in changes)
        self._run(lambda c: c.execute(
            f"UPDATE {self._jobs} SET {assignments} WHERE jobid = ?", [*changes.values(), jobid]))

    # -- runs ------------------------------------------------------------------------------
    def claim(self, job: Job, tick: datetime, node: str, command: str,
              status: str = "starting", message: str | None = None) -> int | None:
        """Take ``tick`` of ``job`` for this server and add its run row (``status``: or
        'skipped' / 'queued' when a run is under way), in one transaction: of two servers
        claiming the same tick, DuckLake commits only one UPDATE of the job's row. The
        run's id, or None when another server has it."""
        def take(c: duckdb.DuckDBPyConnection) -> int | None:
            rows = c.execute(
                f"SELECT epoch_us(last_tick) FROM {self._state} WHERE jobid = ?", [job.jobid]
            ).fetchall()
            if not rows:
                # The job's first claim adds its row and claims at the next look. Two
                # servers at once may add two: the UPDATE below then changes both, and
                # still only one UPDATE commits.
                c.execute(f"INSERT INTO {self._state} VALUES (?, NULL, NULL)", [job.jobid])
                return None
            if any(r[0] is not None and r[0] >= _seconds(tick) * 1e6 for r in rows):
                return None
            c.execute(f"UPDATE {self._state} SET last_tick = to_timestamp(?), node = ? "
                      "WHERE jobid = ?", [_seconds(tick), node, job.jobid])
            runid = self._add_run(c, job, node, command, 1, tick)
            if status != "starting":
                c.execute(
                    f"UPDATE {self._runs} SET status = ?, return_message = ?, end_time = "
                    "CASE WHEN ? = 'skipped' THEN now() END WHERE runid = ?",
                    [status, message, status, runid])
            return runid

        try:
            result = self._run(take, retries=0)
        except duckdb.Error as exc:
            if conflicts.is_conflict(exc):
                return None  # another server committed its claim first
            raise
        assert result is None or isinstance(result, int)
        return result

    def add_run(self, job: Job, node: str, attempt: int, tick: datetime) -> int:
        result = self._run(lambda c: self._add_run(c, job, node, job.command, attempt, tick))
        assert isinstance(result, int)
        return result

    def _add_run(self, c: duckdb.DuckDBPyConnection, job: Job, node: str, command: str,
                 attempt: int, tick: datetime) -> int:
        runid = self._next_runid()
        c.execute(
            f"INSERT INTO {self._runs} (jobid, runid, job_pid, database, username, command, "
            "status, return_message, start_time, end_time, attempt, node, scheduled_for) "
            "VALUES (?, ?, NULL, ?, ?, ?, 'starting', NULL, now(), NULL, ?, ?, "
            "to_timestamp(?))",
            [job.jobid, runid, job.database, job.username, command, attempt, node,
             _seconds(tick)])
        return runid

    def _next_runid(self) -> int:
        """Microseconds since the epoch, increasing within the process: servers sharing the
        lake insert runs at once, and DuckLake lets concurrent inserts both commit, so a
        max() + 1 would give two runs one id."""
        with self._lock:
            self._last_runid = max(self._last_runid + 1, time.time_ns() // 1000)
            return self._last_runid

    def finish(self, runid: int, status: str, message: str, pid: int | None = None) -> None:
        self._run(lambda c: c.execute(
            f"UPDATE {self._runs} SET status = ?, return_message = ?, job_pid = ?, "
            "end_time = CASE WHEN ? IN ('succeeded', 'failed', 'skipped') THEN now() END "
            "WHERE runid = ?", [status, message, pid, status, runid]))

    def fail_orphans(self, node: str) -> int:
        """Runs left unfinished ('starting', 'running' or 'queued') by a server that is gone
        are marked failed, as pg_cron marks its runs at start ("server restarted"): those of
        an earlier server process on this host, which a kill -9 or a crash ended. A server
        on another host is not known to be gone, and its runs are left alone. ``node``:
        this server's; how many were marked."""
        def mark(c: duckdb.DuckDBPyConnection) -> int:
            rows = c.execute(
                f"SELECT DISTINCT node FROM {self._runs} "
                "WHERE status IN ('starting', 'running', 'queued')").fetchall()
            gone = [r[0] for r in rows if r[0] is not None and r[0] != node and not alive(r[0])]
            if not gone:
                return 0
            found = c.execute(
                f"UPDATE {self._runs} SET status = 'failed', end_time = now(), "
                "return_message = 'server restarted: ' || node || ' stopped while the run was "
                "under way' WHERE status IN ('starting', 'running', 'queued') "
                "AND list_contains(?, node)", [gone]).fetchone()
            return int(found[0]) if found else 0

        result = self._run(mark)
        assert isinstance(result, int)
        return result

    def follow_syncs(self, role: str) -> None:
        """Scheduled syncs: each row of forge_meta.syncs with a schedule has a job named
        ``sync <name>`` that runs ``CALL forge_sync('<name>')`` as ``role``, kept in step
        with the row (added, changed, removed). Without that table, nothing to do."""
        def follow(c: duckdb.DuckDBPyConnection) -> None:
            try:
                wanted = {
                    f"sync {name}": (schedule, f"CALL forge_sync({literal(name)})")
                    for name, schedule in c.execute(
                        f"SELECT name, schedule FROM {self._syncs} WHERE schedule IS NOT NULL"
                    ).fetchall()
                }
            except duckdb.CatalogException:
                return  # no syncs in this lake (or a server without them)
            have = c.execute(
                f"SELECT jobid, jobname, schedule, command FROM {self._jobs} "
                "WHERE declared_in = ? ORDER BY jobid", [SYNCS]).fetchall()
            seen: set[str] = set()
            for jobid, name, schedule, command in have:
                if name not in wanted or name in seen:
                    # Gone, unscheduled, or added twice by two servers at once.
                    c.execute(f"DELETE FROM {self._jobs} WHERE jobid = ?", [jobid])
                elif wanted[name] != (schedule, command):
                    c.execute(f"UPDATE {self._jobs} SET schedule = ?, command = ? "
                              "WHERE jobid = ?", [*wanted[name], jobid])
                seen.add(name)
            for name, (schedule, command) in wanted.items():
                if name in seen:
                    continue
                row = c.execute(
                    f"SELECT coalesce(greatest((SELECT max(jobid) FROM {self._jobs}), "
                    f"(SELECT max(jobid) FROM {self._runs})), 0) + 1").fetchone()
                c.execute(
                    f"INSERT INTO {self._jobs} ({_JOB_COLUMNS}) VALUES (?, ?, ?, ?, "
                    "current_database(), ?, true, 'UTC', 0, 1000, 0, 'skip', NULL, ?, now())",
                    [row[0] if row else 1, name, schedule, command, role, SYNCS])

        try:
            self._run(follow, retries=0)
        except duckdb.Error as exc:
            if not conflicts.is_conflict(exc):
                raise  # another server did the same at once: the next look settles it

    def prune(self, older_than: timedelta) -> None:
        """History retention: run rows that ended longer ago than ``older_than``."""
        self._run(lambda c: c.execute(
            f"DELETE FROM {self._runs} WHERE end_time < now() - to_seconds(?)",
            [int(older_than.total_seconds())]))
