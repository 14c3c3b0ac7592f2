"""The heavyweight locks one session takes (forge_sql.engine.locks): the catalog while a
statement runs, what a statement writes until its transaction ends, and the commit queue,
each wait marked in pg_stat_activity and ended by cancel, timeouts or a crashed database."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Protocol, TypeVar

from forge_sql import errors
from forge_sql.engine import lock_targets, locks, session_settings
from forge_sql.sql import duckdb_errors

if TYPE_CHECKING:
    from forge_sql.engine.activity import BackendStatus
    from forge_sql.engine.database import Database
    from forge_sql.engine.session_settings import SessionSettings
    from forge_sql.sql.statements import Statement

T = TypeVar("T")

class Connection(Protocol):
    """The session's DuckDB cursor (forge_sql.engine.connection), as far as locks see it."""

    def running(self, flag: bool) -> None: ...

    def streams(self, result: object) -> bool: ...


class SessionLocks:
    """One session's holds and waits in the server's lock table."""

    def __init__(
        self,
        database: Database,
        backend: BackendStatus,
        settings: SessionSettings,
        connection: Connection,
        cancel_requested: Callable[[], bool],
    ) -> None:
        self._database = database
        self._table = database.locks
        self._backend = backend
        self._settings = settings
        self._connection = connection
        self._cancel_requested = cancel_requested

    def holds(self, target: locks.Target, mode: str) -> bool:
        return self._table.holds(self._backend.token, target, mode)

    def release(self, target: locks.Target, mode: str) -> None:
        self._table.release(self._backend.token, target, mode)

    @property
    def changes_catalog(self) -> bool:
        """Whether the session's transaction changed the catalog (holds CATALOG_CHANGES)."""
        return self.holds(locks.CATALOG_CHANGES, locks.EXCLUSIVE)

    @contextlib.contextmanager
    def holding_catalog(self, mode: str) -> Iterator[None]:
        """Hold the catalog in ``mode`` while a statement runs."""
        self.acquire([(locks.CATALOG, mode)], counted=True)
        try:
            yield
        finally:
            self.release(locks.CATALOG, mode)

    def reading_catalog(self) -> contextlib.AbstractContextManager[None]:
        """Planning reads the lake's catalog: no catalog change may run meanwhile."""
        return self.holding_catalog(locks.ACCESS_SHARE)

    def holding_catalog_for(self, mode: str, run: Callable[[], T]) -> T:
        """``run()`` with the catalog held in ``mode``. DuckDB reads the lake as a streamed
        result's rows are fetched: the stream goes on holding the catalog in
        AccessShareLock until it is read or dropped (the statement's own hold, handed on
        rather than taken again)."""
        self.acquire([(locks.CATALOG, mode)], counted=True)
        handed_on = False
        try:
            result = run()
            if self._connection.streams(result):
                if mode != locks.ACCESS_SHARE:
                    self.acquire([(locks.CATALOG, locks.ACCESS_SHARE)], counted=True)
                else:
                    handed_on = True
            return result
        finally:
            if not handed_on:
                self.release(locks.CATALOG, mode)

    def statement_locks(self, statement: Statement, copy_in: bool) -> bool:
        """Take the locks ``statement`` needs until its transaction ends; whether it had
        to wait for them."""
        wanted = lock_targets.targets(statement, copy_in)
        return bool(wanted) and self.acquire(wanted)

    def ending_transaction(self) -> contextlib.AbstractContextManager[None]:
        """The COMMIT or ROLLBACK of a transaction that changed the catalog runs alone;
        one that wrote to tables queues behind other commits (locks.COMMITS)."""
        backend = self._backend
        if self.changes_catalog:
            return self.holding_catalog(locks.ACCESS_EXCLUSIVE)
        if self._table.wrote(backend.token):
            return self._table.committing(
                backend.token,
                backend.pid,
                lambda f: backend.waiting("object" if f else None),
                self.invalidated,
            )
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def maintaining(self) -> Iterator[None]:
        """Storage maintenance called by the session: not beside a transaction changing
        the catalog, nor a catalog change running."""
        self.acquire([(locks.CATALOG_CHANGES, locks.EXCLUSIVE)], counted=True)
        try:
            with self.holding_catalog(locks.ACCESS_SHARE):
                yield
        finally:
            self.release(locks.CATALOG_CHANGES, locks.EXCLUSIVE)

    def invalidated(self) -> BaseException | None:
        """Ends a lock wait once DuckDB invalidated the database: it reopens when the
        sessions using it are done, which a waiter would otherwise hold up."""
        reason = self._database.invalidated
        return None if reason is None else duckdb_errors.crash(reason)

    def acquire(
        self, wanted: Sequence[tuple[locks.Target, str]], counted: bool = False
    ) -> bool:
        """Take ``wanted`` in order; without ``counted``, skip what is held already.
        Whether it had to wait."""
        table = self._table
        backend = self._backend
        missing = [
            (t, m) for t, m in wanted if counted or not table.holds(backend.token, t, m)
        ]
        waited = False
        if not missing:
            return waited
        timeout = session_settings.duration_ms(self._settings.get("lock_timeout"))
        connection = self._connection
        for target, mode in missing:

            def waiting(flag: bool, locktype: str = target.locktype) -> None:
                """Only a wait is marked running (cancel and statement_timeout end it): a
                lock granted at once costs no timer."""
                nonlocal waited
                waited = waited or flag
                backend.waiting(locktype if flag else None)
                if not flag:
                    connection.running(False)
                    return
                # A cancel that came before: the wait sees cancel_requested and ends.
                with contextlib.suppress(errors.QueryCanceled):
                    connection.running(True)

            table.acquire(
                backend.token,
                backend.pid,
                target,
                mode,
                cancelled=self._cancel_requested,
                timeout_ms=timeout,
                waiting=waiting,
                interrupted=self.invalidated,
            )
        return waited
