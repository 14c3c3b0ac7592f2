"""The lock table on its own: modes, queueing, timeouts and deadlock detection."""

from __future__ import annotations

import threading
import time

import pytest

from forge_sql import errors
from forge_sql.engine import locks
from forge_sql.engine.locks import LockTable

T1 = locks.relation("public", "t1")
T2 = locks.relation("public", "t2")


def _in_thread(action: object) -> tuple[threading.Thread, list[BaseException]]:
    raised: list[BaseException] = []

    def run() -> None:
        try:
            action()  # type: ignore[operator]
        except BaseException as exc:
            raised.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, raised


def _wait_for_waiters(table: LockTable, count: int) -> None:
    deadline = time.monotonic() + 10
    while sum(1 for row in table.rows() if not row[3]) < count:
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_modes_conflict_as_in_postgresql() -> None:
    table = LockTable()
    table.acquire("a", 1, locks.CATALOG, locks.ACCESS_SHARE)
    table.acquire("b", 2, locks.CATALOG, locks.ACCESS_SHARE)  # shares do not conflict
    table.acquire("a", 1, T1, locks.EXCLUSIVE)
    with pytest.raises(errors.LockNotAvailable):
        table.acquire("b", 2, T1, locks.EXCLUSIVE, timeout_ms=50)
    with pytest.raises(errors.LockNotAvailable):
        table.acquire("c", 3, locks.CATALOG, locks.ACCESS_EXCLUSIVE, timeout_ms=50)
    table.acquire("a", 1, T1, locks.EXCLUSIVE)  # held already: granted again
    assert table.holds("a", T1, locks.EXCLUSIVE)
    assert not table.holds("b", T1, locks.EXCLUSIVE)
    table.release_all("a")
    table.acquire("b", 2, T1, locks.EXCLUSIVE)
    assert table.holds("b", T1, locks.EXCLUSIVE)


def test_a_waiter_gets_the_lock_when_it_is_released() -> None:
    table = LockTable()
    table.acquire("a", 1, T1, locks.EXCLUSIVE)
    flags: list[bool] = []
    thread, raised = _in_thread(
        lambda: table.acquire("b", 2, T1, locks.EXCLUSIVE, waiting=flags.append)
    )
    _wait_for_waiters(table, 1)
    assert table.rows()[-1][:4] == (T1, 2, locks.EXCLUSIVE, False)
    table.release_all("a")
    thread.join(10)
    assert raised == [] and flags == [True, False]
    assert [row[:4] for row in table.rows()] == [(T1, 2, locks.EXCLUSIVE, True)]


def test_queued_catalog_change_is_not_starved_by_readers() -> None:
    table = LockTable()
    table.acquire("reader", 1, locks.CATALOG, locks.ACCESS_SHARE)
    changer, _ = _in_thread(
        lambda: table.acquire("changer", 2, locks.CATALOG, locks.ACCESS_EXCLUSIVE)
    )
    _wait_for_waiters(table, 1)
    # A new reader queues behind the waiting change.
    with pytest.raises(errors.LockNotAvailable):
        table.acquire("late", 3, locks.CATALOG, locks.ACCESS_SHARE, timeout_ms=100)
    table.release("reader", locks.CATALOG, locks.ACCESS_SHARE)
    changer.join(10)
    assert table.holds("changer", locks.CATALOG, locks.ACCESS_EXCLUSIVE)


def test_the_wait_closing_a_cycle_is_the_victim() -> None:
    table = LockTable()
    table.acquire("a", 101, T1, locks.EXCLUSIVE)
    table.acquire("b", 102, T2, locks.EXCLUSIVE)
    first, raised = _in_thread(lambda: table.acquire("a", 101, T2, locks.EXCLUSIVE))
    _wait_for_waiters(table, 1)
    with pytest.raises(errors.DeadlockDetected) as detected:
        table.acquire("b", 102, T1, locks.EXCLUSIVE)
    assert detected.value.detail == (
        'Process 102 waits for ExclusiveLock on relation "public.t1"; blocked by process 101.\n'
        'Process 101 waits for ExclusiveLock on relation "public.t2"; blocked by process 102.'
    )
    table.release_all("b")  # the victim's transaction rolls back
    first.join(10)
    assert raised == []
    assert table.holds("a", T2, locks.EXCLUSIVE)


def test_cancel_ends_a_wait() -> None:
    table = LockTable()
    table.acquire("a", 1, T1, locks.EXCLUSIVE)
    cancel = threading.Event()
    thread, raised = _in_thread(
        lambda: table.acquire("b", 2, T1, locks.EXCLUSIVE, cancelled=cancel.is_set)
    )
    _wait_for_waiters(table, 1)
    cancel.set()
    thread.join(10)
    assert len(raised) == 1 and isinstance(raised[0], errors.QueryCanceled)
    assert all(row[3] for row in table.rows())  # the wait is gone from pg_locks


def test_only_a_transaction_holding_a_table_lock_wrote() -> None:
    table = LockTable()
    table.acquire("reader", 1, locks.CATALOG, locks.ACCESS_SHARE)
    table.acquire("writer", 2, T1, locks.EXCLUSIVE)
    assert not table.wrote("reader")
    assert table.wrote("writer")
    table.release_all("writer")
    assert not table.wrote("writer")


def test_commits_queue_one_at_a_time() -> None:
    table = LockTable()
    order: list[str] = []
    first_in = threading.Event()
    release_first = threading.Event()

    def commit(session: str, pid: int, hold: threading.Event | None) -> None:
        with table.committing(session, pid):
            order.append(f"{session} in")
            if hold is not None:
                first_in.set()
                assert release_first.wait(10)
            order.append(f"{session} out")

    first, raised_first = _in_thread(lambda: commit("a", 1, release_first))
    assert first_in.wait(10)
    second, raised_second = _in_thread(lambda: commit("b", 2, None))
    _wait_for_waiters(table, 1)
    assert (locks.COMMITS, 2, locks.EXCLUSIVE, False) in [row[:4] for row in table.rows()]
    release_first.set()
    first.join(10)
    second.join(10)
    assert raised_first == raised_second == []
    assert order == ["a in", "a out", "b in", "b out"]
    assert table.rows() == []  # nothing stays held after the commits


def test_commits_wait_for_a_catalog_change_and_nest() -> None:
    table = LockTable()
    table.acquire("changer", 1, locks.CATALOG, locks.ACCESS_EXCLUSIVE)
    done = threading.Event()

    def commit() -> None:
        with table.committing("writer", 2), table.committing("writer", 2):  # ROLLBACK nests
            done.set()

    thread, raised = _in_thread(commit)
    _wait_for_waiters(table, 1)
    assert not done.is_set()  # a catalog change is running: the commit waits
    table.release("changer", locks.CATALOG, locks.ACCESS_EXCLUSIVE)
    thread.join(10)
    assert raised == [] and done.is_set()
    assert table.rows() == []


def test_an_invalidated_database_ends_a_commit_wait() -> None:
    table = LockTable()
    table.acquire("other", 1, locks.COMMITS, locks.EXCLUSIVE)
    problem: list[BaseException] = []

    def commit() -> None:
        with table.committing("writer", 2, interrupted=lambda: problem[0] if problem else None):
            pass

    thread, raised = _in_thread(commit)
    _wait_for_waiters(table, 1)
    problem.append(errors.CrashShutdown("the database was invalidated"))
    thread.join(10)
    assert raised == problem
    assert [row[:4] for row in table.rows()] == [(locks.COMMITS, 1, locks.EXCLUSIVE, True)]
