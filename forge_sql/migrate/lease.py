"""The migration lock: a lease row in ``forge_meta.migration_lock`` that one run holds.

The holder renews the lease while it runs. A run killed on this machine is noticed at
once (its process is gone); one killed elsewhere holds the lock until its lease expires.
Taking the lease is one UPDATE of the single row: DuckLake lets only one of two
concurrent UPDATEs of a row commit, so two runs cannot both take it.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from types import TracebackType

from forge_sql.migrate.connection import Connection
from forge_sql.migrate.errors import DatabaseError, LockUnavailable

TABLE = "forge_meta.migration_lock"
DEFAULT_TTL = 60.0  # seconds a lease lasts without renewal


class Lease:
    """Hold it with ``with``: taken on enter (waiting up to ``timeout``), released on exit."""

    def __init__(self, conn: Connection, renewer: Callable[[], Connection], timeout: float,
                 ttl: float = DEFAULT_TTL, on_wait: Callable[[str], None] | None = None) -> None:
        self.conn = conn
        self._renewer = renewer
        self.timeout = timeout
        self.ttl = ttl
        self.token = f"{uuid.uuid4()}"
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self._on_wait = on_wait
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Lease:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()

    def acquire(self) -> None:
        deadline = time.monotonic() + self.timeout
        pause = 0.05
        told = False
        while True:
            holder = self._holder()
            if holder is None or self._stale(holder):
                if self._take(None if holder is None else holder[0]):
                    break
                continue  # another run took it between our read and our update
            if time.monotonic() >= deadline:
                _, pid, host, since, _ = holder
                raise LockUnavailable(
                    f"another migrate run holds the migration lock (process {pid} on {host}, "
                    f"since {since}); waited {self.timeout:g}s. Pass --lock-timeout SECONDS "
                    "to wait longer."
                )
            if not told and self._on_wait is not None:
                self._on_wait(f"waiting for the migration lock held by process {holder[1]} "
                              f"on {holder[2]}")
                told = True
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(pause * 2, 0.5)
        self._thread = threading.Thread(target=self._renew, name="migrate-lease", daemon=True)
        self._thread.start()

    def _holder(self) -> tuple[str, int, str, str, bool] | None:
        rows = self.conn.execute(
            f"SELECT holder, pid, host, CAST(acquired_at AS VARCHAR), "
            f"expires_at < now() FROM {TABLE} WHERE id = 1"
        )
        if not rows:
            # The first run on this lake adds the row. Two first runs at once may add two;
            # taking the lease then updates both, and still only one UPDATE commits.
            self.conn.execute(f"INSERT INTO {TABLE} (id) VALUES (1)")
            return None
        holder, pid, host, since, expired = rows[0]
        if holder is None:
            return None
        return str(holder), int(pid or 0), str(host), str(since), bool(expired)

    def _stale(self, holder: tuple[str, int, str, str, bool]) -> bool:
        _, pid, host, _, expired = holder
        if expired:
            return True
        return host == self.host and pid != self.pid and not _alive(pid)

    def _take(self, previous: str | None) -> bool:
        condition = "holder IS NULL" if previous is None else "holder = $6"
        params: list[object] = [self.token, self.pid, self.host, int(self.ttl * 1000), 1]
        if previous is not None:
            params.append(previous)
        try:
            self.conn.execute(
                f"UPDATE {TABLE} SET holder = $1, pid = $2, host = $3, acquired_at = now(), "
                f"expires_at = now() + to_milliseconds(CAST($4 AS BIGINT)) "
                f"WHERE id = $5 AND {condition}",
                params,
            )
        except DatabaseError:
            return False  # a concurrent UPDATE of the row committed first
        rows = self.conn.execute(f"SELECT holder FROM {TABLE} WHERE id = 1")
        return bool(rows) and rows[0][0] == self.token

    def _renew(self) -> None:
        conn = self._renewer()
        try:
            while not self._stop.wait(self.ttl / 3):
                try:
                    self.renew(conn)
                except DatabaseError:
                    continue  # retried at the next beat, well before the lease ends
        finally:
            conn.close()

    def renew(self, conn: Connection) -> None:
        """Push the lease's end one ``ttl`` from now."""
        conn.execute(
            f"UPDATE {TABLE} SET expires_at = now() + "
            f"to_milliseconds(CAST($1 AS BIGINT)) WHERE holder = $2",
            [int(self.ttl * 1000), self.token],
        )

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.conn.execute(
            f"UPDATE {TABLE} SET holder = NULL, pid = NULL, host = NULL, acquired_at = NULL, "
            "expires_at = NULL WHERE holder = $1",
            [self.token],
        )


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
