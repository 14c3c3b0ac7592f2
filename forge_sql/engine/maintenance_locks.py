"""The locks storage maintenance takes (forge_sql.storage.maintenance.Locking), in the
server's lock table: the table whose files it rewrites, and the queue of lake commits."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import datetime

from forge_sql.engine import locks


class MaintenanceLocks:
    """Maintenance's holds under ``holder``'s name (a session for ``CALL forge_compact()``,
    the scheduled maintenance's own otherwise); ``acquire(target, mode)`` waits for one."""

    def __init__(
        self,
        table: locks.LockTable,
        holder: str,
        acquire: Callable[[locks.Target, str], object],
        open_transactions: Callable[[], list[tuple[str, datetime]]],
    ) -> None:
        """``open_transactions``: (session, when its transaction began) of each open one."""
        self._table = table
        self._holder = holder
        self._acquire = acquire
        self._open_transactions = open_transactions

    def horizon(self, writers: bool = False) -> datetime | None:
        """When the oldest open transaction of another session began; ``writers``: of
        those that wrote (hold a table or the right to change the catalog)."""
        table = self._table
        starts = [
            began
            for session, began in self._open_transactions()
            if session != self._holder
            and (
                not writers
                or table.wrote(session)
                or table.holds(session, locks.CATALOG_CHANGES, locks.EXCLUSIVE)
            )
        ]
        return min(starts, default=None)

    @contextlib.contextmanager
    def table(self, schema: str, name: str) -> Iterator[None]:
        """Writers of the table wait while its files are rewritten, and it for them: a
        transaction whose snapshot predates the rewrite must not change the table
        (forge_sql.engine.session_locks)."""
        target = locks.relation(schema, name)
        self._acquire(target, locks.EXCLUSIVE)
        try:
            yield
        finally:
            self._table.rewritten(target)
            self._table.release(self._holder, target, locks.EXCLUSIVE)

    @contextlib.contextmanager
    def committing(self) -> Iterator[None]:
        self._acquire(locks.COMMITS, locks.EXCLUSIVE)
        try:
            yield
        finally:
            self._table.release(self._holder, locks.COMMITS, locks.EXCLUSIVE)
