"""The lock table's deadlock victims and its count of commits per table."""

from __future__ import annotations

import threading
import time

import pytest

from forge_sql import errors
from forge_sql.engine import locks

T1 = locks.relation("public", "t1")
T2 = locks.relation("public", "t2")


def _until(check: object) -> None:
    deadline = time.monotonic() + 10
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_background_work_is_the_victim_of_a_deadlock() -> None:
    """As PostgreSQL cancels an autovacuum worker that blocks a session: the session
    whose wait closes the cycle goes on, the yielding waiter fails."""
    table = locks.LockTable()
    table.acquire("maintenance", 0, T1, locks.EXCLUSIVE)
    table.acquire("session", 7, T2, locks.EXCLUSIVE)
    outcome: list[BaseException | None] = []

    def maintenance() -> None:
        try:
            table.acquire("maintenance", 0, T2, locks.EXCLUSIVE, yields=True)
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)
        finally:
            table.release_all("maintenance")

    thread = threading.Thread(target=maintenance, daemon=True)
    thread.start()
    _until(lambda: any(not granted for *_, granted, _s in table.rows()))
    table.acquire("session", 7, T1, locks.EXCLUSIVE)  # closes the cycle, and waits
    thread.join(10)
    assert isinstance(outcome[0], errors.DeadlockDetected)
    assert table.holds("session", T1, locks.EXCLUSIVE)


def test_a_session_closing_a_cycle_of_sessions_is_the_victim() -> None:
    table = locks.LockTable()
    table.acquire("a", 1, T1, locks.EXCLUSIVE)
    table.acquire("b", 2, T2, locks.EXCLUSIVE)
    thread = threading.Thread(
        target=lambda: table.acquire("a", 1, T2, locks.EXCLUSIVE, timeout_ms=5000), daemon=True
    )
    thread.start()
    _until(lambda: any(not granted for *_, granted, _s in table.rows()))
    with pytest.raises(errors.DeadlockDetected) as raised:
        table.acquire("b", 2, T1, locks.EXCLUSIVE)
    assert "Process 2 waits for ExclusiveLock" in (raised.value.detail or "")
    table.release_all("b")
    thread.join(10)


def test_changes_are_counted_per_table() -> None:
    table = locks.LockTable()
    began = table.generation
    table.acquire("a", 1, T1, locks.EXCLUSIVE)
    table.committed("a")
    table.release_all("a")
    assert table.changed_since([T1], began) == "committed"
    assert table.changed_since([T2], began) is None
    assert table.changed_since([T1], table.generation) is None
    table.rewritten(T2)
    assert table.changed_since([T1, T2], began) == "rewritten"
