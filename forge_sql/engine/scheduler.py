"""The scheduler inside the server: a thread that claims each due tick of the lake's jobs
(engine.jobs) and runs the job's command in a session of the job's role, off the event
loop, with retries, a timeout, an overlap policy and jobs that run after another succeeds.
A failing job leaves a run row and a log line; it never stops the scheduler."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from forge_sql import errors
from forge_sql.engine.jobs import Job, Store, due
from forge_sql.seam.backend import PreparedStatement, Result

log = logging.getLogger(__name__)

_PRUNE_EVERY = 60.0  # seconds between history retention passes
_SYNCS_EVERY = 5.0  # seconds between looks at forge_meta.syncs' schedules
# Seconds between reads of the job list from the lake when nothing happened here (another
# server of a shared lake may have changed it). A change made through this server, or a
# tick this server tried to claim, reads it at the next turn. Without jobs the loop then
# costs no lake transaction four times a second, on every server.
_JOBS_EVERY = 5.0


class Session(Protocol):
    """What a job's run needs of an engine session."""

    def split(self, sql: str) -> list[PreparedStatement]: ...

    def execute(self, statement: PreparedStatement, params: list[object]) -> Result: ...

    def error_occurred(self) -> None: ...

    @property
    def pending_commit(self) -> bool: ...

    def sync(self) -> None: ...

    def cancel(self) -> None: ...

    def close(self) -> None: ...


class Scheduler:
    def __init__(self, store: Store, open_session: Callable[[str], Session],
                 history: timedelta, sync_role: Callable[[], str],
                 interval: float = 0.25,
                 reading: Callable[[], contextlib.AbstractContextManager[object]] = (
                     contextlib.nullcontext)) -> None:
        """``sync_role()``: the role scheduled syncs run as (forge_meta.syncs records
        no creator). ``reading()``: held around each use of the store, which reads and
        writes the lake as a statement does (forge_sql.engine.locks: no catalog change of
        a session may run meanwhile); never while a job's own session runs."""
        self._store = store
        self._reading = reading
        self._open_session = open_session
        self._history = history
        self._interval = interval
        self.node = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._running: dict[int, Session | None] = {}  # jobid -> the session of its run
        # jobid -> the run (and its tick) queued behind the running one
        self._pending: dict[int, tuple[int, datetime]] = {}
        self._workers: list[threading.Thread] = []
        self._thread: threading.Thread | None = None
        self._pruned = 0.0
        self._synced = 0.0
        self._jobs: list[Job] = []
        self._jobs_read = 0.0
        self._jobs_stale = True
        self._sync_role = sync_role

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="cron-scheduler", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """A job changed: look at the jobs again now."""
        self._jobs_stale = True
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop claiming ticks, cancel the runs under way and wait for them."""
        self._stop.set()
        self._wake.set()
        with self._lock:
            sessions = [s for s in self._running.values() if s is not None]
        for session in sessions:
            session.cancel()
        if self._thread is not None:
            self._thread.join(timeout)
        for worker in list(self._workers):
            worker.join(timeout)

    # -- the loop --------------------------------------------------------------------------
    def _loop(self) -> None:
        self._fail_orphans()
        while not self._stop.is_set() and not self._store.closed:
            if self._store.invalidated:  # until the database is opened again
                self._wake.wait(self._interval)
                continue
            try:
                with self._reading():
                    self._tick()
            except Exception:  # a broken lake read must not end the scheduler
                if self._store.closed:
                    return  # the database closed under it (a process that never stopped it)
                log.exception("the job scheduler could not read the jobs; trying again")
            self._wake.wait(self._interval)
            self._wake.clear()

    def _tick(self) -> None:
        now = datetime.now(UTC)
        if now.timestamp() - self._synced > _SYNCS_EVERY:
            self._synced = now.timestamp()
            self._store.follow_syncs(self._sync_role())
        if self._jobs_stale or now.timestamp() - self._jobs_read > _JOBS_EVERY:
            self._jobs_stale = False
            self._jobs_read = now.timestamp()
            self._jobs = self._store.jobs()
        for job in self._jobs:
            tick = due(job, now)
            if tick is not None and not self._stop.is_set():
                self._jobs_stale = True  # its last tick changes: read it again
                self._fire(job, tick)
        monotonic = now.timestamp()
        if monotonic - self._pruned > _PRUNE_EVERY:
            self._pruned = monotonic
            self._store.prune(self._history)
            self._fail_orphans()
        self._workers = [w for w in self._workers if w.is_alive()]

    def _fail_orphans(self) -> None:
        """Runs a server that is gone left unfinished are failed (at start, then now and
        then, for another server of a shared lake on this host)."""
        try:
            count = self._store.fail_orphans(self.node)
        except Exception:  # as for any lake read of the loop: tried again later
            log.exception("the job scheduler could not look for runs of stopped servers")
            return
        if count:
            log.warning("cron: %d run(s) of a stopped server marked failed", count)

    def _fire(self, job: Job, tick: datetime) -> None:
        with self._lock:
            busy = job.jobid in self._running
        if busy:
            if job.overlap == "queue":
                with self._lock:
                    if job.jobid in self._pending:
                        return  # one waits already: later ticks wait with it
                runid = self._store.claim(job, tick, self.node, job.command, "queued",
                                          "waiting for the previous run")
                if runid is not None:
                    with self._lock:
                        self._pending[job.jobid] = (runid, tick)
                return
            runid = self._store.claim(job, tick, self.node, job.command, "skipped",
                                      "the previous run was still running")
            if runid is not None:
                log.warning("cron job %s: tick %s skipped, the previous run still runs",
                            job.label, tick.isoformat())
            return
        runid = self._store.claim(job, tick, self.node, job.command)
        if runid is not None:
            self._launch(job, runid, tick)

    def _launch(self, job: Job, runid: int, tick: datetime) -> None:
        with self._lock:
            self._running[job.jobid] = None
        worker = threading.Thread(target=self._attempts, args=(job, runid, tick),
                                  name=f"cron-job-{job.jobid}", daemon=True)
        self._workers.append(worker)
        worker.start()

    # -- a run -----------------------------------------------------------------------------
    def _attempts(self, job: Job, runid: int, tick: datetime) -> None:
        try:
            attempt = 1
            while True:
                ok = self._attempt(job, runid)
                if ok:
                    with self._reading():
                        self._after(job)
                    break
                if attempt > job.retries or self._stop.is_set():
                    break
                backoff = job.retry_backoff_ms / 1000 * 2 ** (attempt - 1)
                if self._stop.wait(backoff):
                    break
                attempt += 1
                with self._reading():
                    runid = self._store.add_run(job, self.node, attempt, tick)
        except Exception:
            log.exception("cron job %s: the run could not be recorded", job.label)
        finally:
            with self._lock:
                self._running.pop(job.jobid, None)
                pending = self._pending.pop(job.jobid, None)
            if pending is not None and not self._stop.is_set():
                self._launch(job, *pending)

    def _attempt(self, job: Job, runid: int) -> bool:
        """One run of the command; True if it succeeded. The outcome is in the run's row."""
        try:
            session = self._open_session(job.username)
        except errors.ForgeError as exc:
            self._failed(job, runid, exc.message)
            return False
        with self._lock:
            self._running[job.jobid] = session
        failure: str | None = None
        try:
            with self._reading():
                self._store.finish(runid, "running", "")
            message = self._execute(session, job)
        except errors.ForgeError as exc:
            session.error_occurred()
            failure = exc.message
        except Exception as exc:
            log.exception("cron job %s failed unexpectedly", job.label)
            failure = str(exc)
        finally:
            with self._lock:
                self._running[job.jobid] = None
            # Before the run's row is written: the session's locks (held to the end of its
            # transaction) must not be held while the store waits for the catalog.
            session.close()
        if failure is not None:
            self._failed(job, runid, failure)
            return False
        with self._reading():
            self._store.finish(runid, "succeeded", message)
        log.info("cron job %s succeeded: %s", job.label, message)
        return True

    def _execute(self, session: Session, job: Job) -> str:
        if job.timeout_ms:
            for statement in session.split(f"SET statement_timeout = {int(job.timeout_ms)}"):
                session.execute(statement, []).close()
        message = ""
        for statement in session.split(job.command):
            result = session.execute(statement, [])
            try:
                rows = 0
                while (batch := result.next_batch()) is not None:
                    rows += batch.num_rows
                tag = result.command_tag()
            finally:
                result.close()
            # pg_cron's return_message: the command tag, or "N row(s)" for a query.
            message = f"{rows} row" + ("" if rows == 1 else "s") if (
                tag.startswith("SELECT")) else tag
        if session.pending_commit:
            session.sync()
        return message

    def _failed(self, job: Job, runid: int, message: str) -> None:
        log.warning("cron job %s failed: %s", job.label, message)
        with self._reading():
            self._store.finish(runid, "failed", message)

    def _after(self, job: Job) -> None:
        """Jobs that run after ``job`` succeeds: each claims this moment as its tick."""
        tick = datetime.now(UTC)
        for other in self._store.jobs():
            if other.active and other.after in (job.jobname, str(job.jobid)):
                self._fire(other, tick)
