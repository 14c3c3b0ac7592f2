"""The advisory lock table: exclusive and shared holds, reentrancy, xact release, waits."""

from __future__ import annotations

import threading

import pytest

from forge_sql import errors
from forge_sql.engine.advisory import AdvisoryLocks


def _take(locks: AdvisoryLocks, session: str, key: tuple[int, ...], shared: bool = False,
          xact: bool = False) -> bool:
    return locks.acquire(session, key, shared=shared, xact=xact, wait=False)


def test_exclusive_shared_and_reentrant() -> None:
    locks = AdvisoryLocks()
    assert _take(locks, "a", (1,))
    assert _take(locks, "a", (1,))
    assert _take(locks, "a", (1,), shared=True)  # its own exclusive hold does not block it
    assert not _take(locks, "b", (1,), shared=True)
    assert _take(locks, "b", (1, 1))  # the two-key form is another key
    assert locks.release("a", (1,), shared=False)
    assert locks.release("a", (1,), shared=False)
    assert not locks.release("a", (1,), shared=False)
    assert _take(locks, "b", (1,), shared=True)  # a's shared hold is left: shared is fine
    assert not _take(locks, "b", (1,))
    assert locks.release("a", (1,), shared=True)
    assert _take(locks, "b", (1,))
    assert sorted(locks.held_by("b")) == [((1,), "ExclusiveLock", False),
                                          ((1, 1), "ExclusiveLock", False)]


def test_xact_and_session_levels_release_separately() -> None:
    locks = AdvisoryLocks()
    assert _take(locks, "a", (5,), xact=True)
    assert _take(locks, "a", (6,))
    assert not locks.release("a", (5,), shared=False)  # unlock is for session-level holds
    locks.release_all("a", xact=False)
    assert not _take(locks, "b", (5,))
    assert _take(locks, "b", (6,))
    locks.release_all("a", xact=True)
    assert "a" not in locks.xact_holders
    assert _take(locks, "b", (5,))
    locks.release_all("b")
    assert locks.held_by("b") == []


def test_waiter_is_granted_when_released() -> None:
    locks = AdvisoryLocks()
    assert _take(locks, "a", (9,))
    granted = threading.Event()

    def wait() -> None:
        locks.acquire("b", (9,), shared=False, xact=False, wait=True)
        granted.set()

    waiter = threading.Thread(target=wait)
    waiter.start()
    assert not granted.wait(0.2)
    locks.release_all("a")
    assert granted.wait(5)
    waiter.join()


def test_wait_ends_on_cancel_and_timeout() -> None:
    locks = AdvisoryLocks()
    assert _take(locks, "a", (3,))
    with pytest.raises(errors.QueryCanceled):
        locks.acquire("b", (3,), shared=False, xact=False, wait=True, cancelled=lambda: True)
    with pytest.raises(errors.LockNotAvailable):
        locks.acquire("b", (3,), shared=False, xact=False, wait=True, timeout_ms=100)
