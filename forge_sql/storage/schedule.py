"""Periodic maintenance in the server: compact, expire and clean up while no statement runs."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime

import duckdb

from forge_sql import errors
from forge_sql.storage import maintenance
from forge_sql.storage.catalogs import Lake
from forge_sql.storage.policy import MaintenancePolicy

log = logging.getLogger(__name__)


class Workload:
    """Which sessions are running a statement, and when one last did."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._busy: set[int] = set()
        self._last = time.monotonic()

    def running(self, session: int, flag: bool) -> None:
        with self._lock:
            if flag:
                self._busy.add(session)
            else:
                self._busy.discard(session)
            self._last = time.monotonic()

    def idle_for(self) -> float:
        """Seconds since the last statement ended; 0 while one runs."""
        with self._lock:
            return 0.0 if self._busy else time.monotonic() - self._last


class Schedule:
    """A daemon thread running :func:`maintenance.run` ``all`` every ``policy.interval``,
    as soon as the server has been idle for ``policy.idle``."""

    def __init__(
        self,
        connect: Callable[[], duckdb.DuckDBPyConnection],
        lake: str,
        policy: MaintenancePolicy,
        workload: Workload,
        *,
        where: Lake,
        since: datetime | None,
        files: AbstractContextManager[object],
        locking: maintenance.Locking = maintenance.UNLOCKED,
    ) -> None:
        """``locking``: the server's locks, which maintenance takes as a session would."""
        self._connect = connect
        self._where = where
        self._since = since
        # Held by whatever deletes or copies the lake's files (maintenance, backups).
        self.files = files
        self._locking = locking
        self._lake = lake
        self._policy = policy
        self._workload = workload
        self._stop = threading.Event()
        self._lock = threading.Lock()  # held while maintenance runs; close waits for it
        self._thread = threading.Thread(target=self._loop, name="maintenance", daemon=True)
        self.runs = 0
        self._running: duckdb.DuckDBPyConnection | None = None

    def start(self) -> None:
        if self._policy.interval.total_seconds() > 0:
            self._thread.start()

    def _loop(self) -> None:
        interval = self._policy.interval.total_seconds()
        idle = self._policy.idle.total_seconds()
        due = time.monotonic() + interval
        while not self._stop.wait(min(max(due - time.monotonic(), 0.05), 1.0)):
            if time.monotonic() < due or self._workload.idle_for() < idle:
                continue
            with self._lock:
                if self._stop.is_set():
                    return
                self.run_once()
            due = time.monotonic() + interval

    def run_once(self) -> None:
        """Run the whole policy now on a connection of its own; failures are logged."""
        with self.files:
            self._run_once()

    def _run_once(self) -> None:
        con = self._connect()
        self._running = con
        try:
            outcomes = maintenance.run(
                con, self._lake, "all", None, self._policy, where=self._where, since=self._since,
                locking=self._locking,
            )
        except (duckdb.Error, errors.ForgeError) as exc:
            # Another writer may have committed first (a conflict), a session needed a
            # lock it held (a deadlock, of which it is the victim), or the server is
            # shutting down (interrupted): the next run starts over.
            log.warning("storage maintenance failed: %s", exc)
            return
        finally:
            self._running = None
            con.close()
        self.runs += 1
        done = [o.detail for o in outcomes if o.count]
        log.info("storage maintenance: %s", "; ".join(done) or "nothing to do")

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def stop(self) -> None:
        self._stop.set()
        running = self._running
        if running is not None:
            running.interrupt()  # shutdown does not wait for a long compaction
        with self._lock:
            pass  # the interrupted run has ended before the database closes
        if self._thread.is_alive():
            self._thread.join(timeout=5)
