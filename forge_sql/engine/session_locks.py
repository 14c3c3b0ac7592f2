"""The heavyweight locks one session takes (forge_sql.engine.locks): the catalog while a
statement runs, what a statement writes until its transaction ends, and the commit queue,
each wait marked in pg_stat_activity and ended by cancel, timeouts or a crashed database."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Protocol, TypeVar

from forge_sql import errors
from forge_sql.engine import lock_targets, locks, session_settings
from forge_sql.engine.maintenance_locks import MaintenanceLocks
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


class Block(Protocol):
    """The session's transaction (forge_sql.engine.transactions), as its locks see it."""

    touched: bool
    began: int

    def take_fresh_snapshot(self) -> None: ...

    def refresh_snapshot(self) -> None: ...


# Levels at which a statement sees what was committed before it began.
_STATEMENT_SNAPSHOT = ("read committed", "read uncommitted")


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

    @property
    def token(self) -> str:
        """The name the session's holds go by in the lock table."""
        return self._backend.token

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

    def statement_locks(
        self,
        statement: Statement,
        copy_in: bool,
        block: Block,
        renew: Callable[[Callable[[Sequence[locks.Target]], bool]], bool] | None = None,
    ) -> None:
        """Take the locks ``statement`` needs until its transaction ends, before DuckDB reads
        anything for it, and make sure the transaction's snapshot is not older than the
        last change of the tables it is about to write:

        - a transaction that ran nothing yet begins DuckDB's transaction again when it
          waited (planning may have fixed its snapshot) or a table changed since it began:
          it works on what the previous holder committed, as a PostgreSQL transaction
          whose first statement waited does;
        - at READ COMMITTED, so does a transaction that read but wrote nothing yet, and
          one that wrote, by repeating its writes (``renew``, Savepoints.renew_snapshot)
          where that is exact;
        - otherwise, a table that storage maintenance rewrote since the snapshot fails the
          statement with 40001: checked on DuckDB 1.5.5, an UPDATE or DELETE committed
          after a compaction its snapshot predates is silently lost in part (the old row
          stays). A table another transaction changed is left to DuckLake, whose COMMIT
          fails with 40001 where the two changes conflict.
        """
        wanted = lock_targets.targets(statement, copy_in)
        if not wanted:
            return
        wrote = self.changes_catalog or self._table.wrote(self._backend.token)
        waited = self.acquire(wanted)
        tables = [target for target, _mode in wanted if target.locktype == "relation"]
        change = self._table.changed_since(tables, block.began)
        if not block.touched:
            if waited or change is not None:
                block.take_fresh_snapshot()
            return
        if change is None:
            return
        isolation = str(self._settings.get("transaction_isolation")).lower()
        if not wrote and isolation in _STATEMENT_SNAPSHOT:
            block.refresh_snapshot()
        elif (
            isolation in _STATEMENT_SNAPSHOT
            and renew is not None
            and not self.changes_catalog
            and renew(lambda tables: self._unchanged_holds(tables, block.began))
        ):
            return
        elif change == "rewritten":
            raise errors.SerializationFailure(
                "could not serialize access due to concurrent storage maintenance",
                detail="Storage maintenance rewrote the files of "
                + ", ".join(t.describe() for t in tables)
                + " after this transaction's snapshot was taken.",
                hint="Retry the transaction.",
            )

    def _unchanged_holds(self, tables: Sequence[locks.Target], generation: int) -> bool:
        """Whether this session holds each of ``tables`` and no other transaction nor
        maintenance changed one after ``generation``."""
        held = all(
            self.holds(t, locks.EXCLUSIVE) or self.holds(t, locks.ACCESS_EXCLUSIVE)
            for t in tables
        )
        return held and self._table.changed_since(tables, generation) is None

    @contextlib.contextmanager
    def ending_transaction(self) -> Iterator[None]:
        """The COMMIT or ROLLBACK of a transaction that changed the catalog runs alone;
        every one that changed the lake (tables or catalog) queues behind other commits
        (locks.COMMITS), storage maintenance's included."""
        backend = self._backend
        with contextlib.ExitStack() as stack:
            if self.changes_catalog:
                stack.enter_context(self.holding_catalog(locks.ACCESS_EXCLUSIVE))
            elif not self._table.wrote(backend.token):
                yield
                return
            stack.enter_context(self._table.committing(
                backend.token,
                backend.pid,
                lambda f: backend.waiting("object" if f else None),
                self.invalidated,
            ))
            yield

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

    def for_maintenance(self) -> MaintenanceLocks:
        """The locks of storage maintenance the session runs (it waits as for a statement)."""

        def acquire(target: locks.Target, mode: str) -> None:
            self.acquire([(target, mode)], counted=True)
            self._connection.running(True)  # the call goes on: cancel still ends it

        return MaintenanceLocks(
            self._table, self._backend.token, acquire, self._database.activity.open_transactions
        )

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
