"""Advisory locks shared by the sessions of this server (PostgreSQL docs, "Advisory Locks").

Session-level locks last until unlocked or the session ends; transaction-level (xact)
ones until the transaction ends. Both are reentrant and counted; shared locks exclude
only exclusive ones. A waiting session polls for cancel and timeouts, so CancelRequest,
pg_cancel_backend, statement_timeout and lock_timeout end the wait.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from forge_sql import errors

Key = tuple[int, ...]  # (key,) for the bigint form, (key1, key2) for the int pair
POLL_SECONDS = 0.05


@dataclass(frozen=True, slots=True)
class Holder:
    session: str  # the holding session's token
    xact: bool  # held until the end of the transaction


class AdvisoryLocks:
    """The lock table: key -> holder -> [exclusive count, shared count]."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._held: dict[Key, dict[Holder, list[int]]] = {}
        self.xact_holders: set[str] = set()  # sessions holding transaction-level locks

    def acquire(
        self,
        session: str,
        key: Key,
        *,
        shared: bool,
        xact: bool,
        wait: bool,
        cancelled: Callable[[], bool] = lambda: False,
        timeout_ms: float = 0,
    ) -> bool:
        deadline = time.monotonic() + timeout_ms / 1000 if timeout_ms > 0 else None
        with self._changed:
            while not self._grantable(session, key, shared):
                if not wait:
                    return False
                if cancelled():
                    raise errors.QueryCanceled("canceling statement due to user request")
                if deadline is not None and time.monotonic() >= deadline:
                    raise errors.LockNotAvailable("canceling statement due to lock timeout")
                self._changed.wait(POLL_SECONDS)
            holder = Holder(session, xact)
            counts = self._held.setdefault(key, {}).setdefault(holder, [0, 0])
            counts[1 if shared else 0] += 1
            if xact:
                self.xact_holders.add(session)
            return True

    def _grantable(self, session: str, key: Key, shared: bool) -> bool:
        for holder, (exclusive, _shared) in self._held.get(key, {}).items():
            if holder.session != session and (exclusive or not shared):
                return False
        return True

    def release(self, session: str, key: Key, *, shared: bool, xact: bool = False) -> bool:
        """Unlock one hold (session-level unless ``xact``); False when there is none."""
        holder = Holder(session, xact)
        with self._changed:
            holders = self._held.get(key, {})
            counts = holders.get(holder)
            index = 1 if shared else 0
            if counts is None or counts[index] == 0:
                return False
            counts[index] -= 1
            if counts == [0, 0]:
                del holders[holder]
                if not holders:
                    del self._held[key]
            self._changed.notify_all()
            return True

    def release_all(self, session: str, *, xact: bool | None = None) -> None:
        """Drop ``session``'s locks: session-level (False), xact (True) or all (None)."""
        if xact and session not in self.xact_holders:
            return
        with self._changed:
            for key in list(self._held):
                holders = self._held[key]
                for holder in [h for h in holders if h.session == session]:
                    if xact is None or holder.xact == xact:
                        del holders[holder]
                if not holders:
                    del self._held[key]
            if xact is not False:
                self.xact_holders.discard(session)
            self._changed.notify_all()

    def held_by(self, session: str) -> list[tuple[Key, str, bool]]:
        """(key, mode, xact) of each lock ``session`` holds, for inspection."""
        with self._changed:
            return [
                (key, "ShareLock" if counts[1] and not counts[0] else "ExclusiveLock", h.xact)
                for key, holders in self._held.items()
                for h, counts in holders.items()
                if h.session == session
            ]
