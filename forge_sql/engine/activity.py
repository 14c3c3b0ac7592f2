"""The live sessions of this server, as pg_stat_activity lists them, and signals between
them (pg_cancel_backend, pg_terminate_backend).

Each session is known by a random token that it alone can name (a DuckDB variable of its
own connection), so SQL functions find the session calling them without trusting a
process id the client could choose.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

import duckdb

from forge_sql import errors
from forge_sql.engine.session_settings import SessionSettings

if TYPE_CHECKING:
    from forge_sql.engine.search_path import SearchPath

_PEER = re.compile(r"^\('?([^',]*)'?,\s*(\d+)")
_STATES = {"I": "idle", "T": "idle in transaction", "E": "idle in transaction (aborted)"}


class XactLocks(Protocol):
    """A transaction block's transaction-level advisory locks, in the order taken, and its
    status as ReadyForQuery reports it (I: none, T: a block, E: a failed block)."""

    xact_locks: list[tuple[tuple[int, ...], bool]]
    status: str


class Session(Protocol):
    """What other sessions and the session's own SQL functions reach of a session."""

    function_error: errors.ForgeError | None  # kept for the client (pg_functions)

    @property
    def settings(self) -> SessionSettings: ...

    @property
    def applied_search_path(self) -> SearchPath: ...  # as the session's cursor has it now

    @property
    def block(self) -> XactLocks: ...

    @property
    def backend(self) -> BackendStatus: ...

    def cancel_requested(self) -> bool: ...

    def interrupt(self) -> None: ...

    def terminate(self) -> None: ...


@dataclass(slots=True)
class BackendStatus:
    """What pg_stat_activity shows of one session, kept up to date by the session."""

    pid: int
    user: str
    database: str
    superuser: bool
    remote: str
    session: Session
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    backend_start: float = field(default_factory=time.time)
    xact_start: float | None = None
    query_start: float | None = None
    state_change: float = field(default_factory=time.time)
    state: str = "idle"
    query: str = ""
    wait_event: str | None = None  # "relation" or "object" while waiting for a lock
    progress: str | None = None  # an extension function's Context.progress, until idle

    def client(self) -> tuple[str | None, int | None]:
        match = _PEER.match(self.remote)
        if match is None:
            return None, None
        return match.group(1), int(match.group(2))

    def ready(self, transaction_status: str) -> None:
        """ReadyForQuery: idle, in a transaction or not."""
        self.state = _STATES[transaction_status]
        self.state_change = time.time()
        self.progress = None
        if transaction_status == "I":
            self.xact_start = None

    def active(self, sql: str) -> None:
        now = time.time()
        if self.state != "active":
            self.state = "active"
            self.state_change = now
        self.query = sql
        self.query_start = now
        if self.xact_start is None:
            self.xact_start = now

    def reporting(self, progress: str | None) -> None:
        """An extension function's progress (Context.progress)."""
        self.progress = progress

    def waiting(self, what: str | None) -> None:
        """A lock wait starts (the lock's type) or ends (None)."""
        self.wait_event = what

    def row(self, visible: bool) -> dict[str, object]:
        address, port = self.client()
        return {
            "pid": self.pid,
            "usename": self.user,
            "datname": self.database,
            "application_name": self.session.settings.get("application_name"),
            "client_addr": address,
            "client_port": port if port is not None else -1,
            "backend_start": self.backend_start,
            "xact_start": self.xact_start,
            "query_start": self.query_start,
            "state_change": self.state_change,
            "state": self.state,
            "wait_event_type": (
                "Lock" if self.wait_event is not None
                else "Extension" if self.progress is not None else None
            ),
            "wait_event": self.wait_event if self.wait_event is not None else self.progress,
            "query": self.query if visible else "<insufficient privilege>",
        }


class Execution:
    """Whether a statement executes on a session's DuckDB cursor, so that a cancel request
    or statement_timeout can interrupt it."""

    def __init__(
        self, cursor: duckdb.DuckDBPyConnection, statement_timeout: Callable[[], float]
    ) -> None:
        self._cursor = cursor
        self._statement_timeout = statement_timeout  # in ms, 0 for none
        self._lock = threading.Lock()  # guards _running against cancel from the event loop
        self._running = False
        self._timer: threading.Timer | None = None
        self.timed_out = False
        self._cancelled = False
        self._in_statement = False
        self._pending = False  # a cancel came before DuckDB got the statement
        self._began = 0.0  # when the client statement began (begin)

    def begin(self) -> None:
        """A client statement starts: a cancel request from now on applies to it, also
        while it is still being planned, checked or waiting for a lock (PostgreSQL keeps
        the interrupt pending until the backend next checks for it)."""
        with self._lock:
            self._in_statement = True
            self._pending = False
            self._began = time.monotonic()

    def end(self) -> None:
        """The session is idle again: a cancel request now finds nothing to cancel."""
        with self._lock:
            self._in_statement = False
            self._pending = False

    def running(self, flag: bool) -> None:
        """Mark a statement as executing (cancel may interrupt it), arming the timeout."""
        with self._lock:
            if flag and self._pending:
                # Cancelled before DuckDB got the statement: it is not started at all.
                self._pending = False
                self._cancelled = True
                raise errors.QueryCanceled("canceling statement due to user request")
            self._running = flag
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if flag:
                self.timed_out = self._cancelled = False
                timeout = self._statement_timeout()
                if timeout > 0:
                    self._timer = threading.Timer(timeout / 1000, self._time_out)
                    self._timer.daemon = True
                    self._timer.start()

    def cancel(self) -> None:
        with self._lock:
            if self._running:
                self._cancelled = True
                self._cursor.interrupt()
            elif self._in_statement:
                self._pending = True

    def cancel_requested(self) -> bool:
        """Whether the running statement should stop (cancel or statement_timeout)."""
        return self._cancelled or self.timed_out

    def stop_requested(self) -> str | None:
        """Why the statement should stop, checked by an extension function's own work
        between queries (Context.check_cancel): a cancel, also one that came while no
        DuckDB statement ran, or statement_timeout counted from the statement's start."""
        if self.timed_out:
            return "canceling statement due to statement timeout"
        if self._cancelled or self._pending:
            return "canceling statement due to user request"
        timeout = self._statement_timeout()
        if self._in_statement and timeout > 0 and time.monotonic() - self._began > timeout / 1000:
            return "canceling statement due to statement timeout"
        return None

    def _time_out(self) -> None:
        with self._lock:
            if self._running:
                self.timed_out = True
                self._cursor.interrupt()


class Activity:
    """Registry of live sessions, shared by all of them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_token: dict[str, BackendStatus] = {}

    def register(self, backend: BackendStatus) -> None:
        with self._lock:
            self._by_token[backend.token] = backend

    def unregister(self, backend: BackendStatus) -> None:
        with self._lock:
            self._by_token.pop(backend.token, None)

    def count(self) -> int:
        with self._lock:
            return len(self._by_token)

    def oldest_transaction(self) -> float | None:
        """When the oldest open transaction (or running statement) began; None if none."""
        with self._lock:
            return min((b.xact_start for b in self._by_token.values()
                        if b.xact_start is not None), default=None)
    def open_transactions(self) -> list[tuple[str, datetime]]:
        """(session token, when its transaction began) of each open transaction: storage
        maintenance keeps what they may still read or commit."""
        with self._lock:
            return [
                (token, datetime.fromtimestamp(b.xact_start, UTC))
                for token, b in self._by_token.items()
                if b.xact_start is not None
            ]

    def find(self, token: str | None) -> BackendStatus | None:
        return self._by_token.get(token or "")

    def caller(self, token: str | None) -> BackendStatus:
        backend = self._by_token.get(token or "")
        if backend is None:
            raise errors.InsufficientPrivilege("the session variable forge_session was changed")
        return backend

    def rows(self, token: str | None) -> list[dict[str, object]]:
        """pg_stat_activity as the calling session may see it: others' query text only
        for a superuser or the same user, as in PostgreSQL."""
        me = self.caller(token)
        with self._lock:
            backends = sorted(self._by_token.values(), key=lambda b: b.pid)
        return [b.row(me.superuser or b.user == me.user) for b in backends]

    def signal(self, token: str | None, pid: int, terminate: bool) -> bool:
        """pg_cancel_backend / pg_terminate_backend: False when no session has ``pid``."""
        me = self.caller(token)
        with self._lock:
            target = next((b for b in self._by_token.values() if b.pid == pid), None)
        if target is None:
            return False
        if not me.superuser and (target.superuser or target.user != me.user):
            what = "terminate this process" if terminate else "cancel query"
            raise errors.InsufficientPrivilege(
                f"permission denied to {what}",
                detail=f'Only superusers and sessions of role "{target.user}" may '
                f"{'terminate' if terminate else 'cancel queries of'} this session.",
            )
        if terminate:
            target.session.terminate()
        else:
            target.session.interrupt()
        return True
