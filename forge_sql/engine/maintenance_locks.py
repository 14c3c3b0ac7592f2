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
        oldest_transaction: Callable[[], datetime | None],
    ) -> None:
        """``oldest_transaction``: when the oldest open transaction of a session began."""
        self._table = table
        self._holder = holder
        self._acquire = acquire
        self._oldest_transaction = oldest_transaction

    def horizon(self) -> datetime | None:
        return self._oldest_transaction()

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
