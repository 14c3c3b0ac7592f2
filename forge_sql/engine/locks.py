"""Heavyweight locks on tables and on the lake's catalog, held by sessions until their
transaction ends (PostgreSQL docs, "Explicit Locking"), so that writers queue where
DuckLake's optimistic commit would make one of them fail.

A waiting session polls for cancel and timeouts; a wait that would close a cycle of
sessions waiting for each other fails with 40P01 instead (the session that closes it is
the victim, as the one whose deadlock check runs is in PostgreSQL).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from forge_sql import errors

POLL_SECONDS = 0.05  # how often a waiter checks for cancel and timeouts
DEADLOCK_RECHECK = 1.0  # seconds between deadlock checks after the first (deadlock_timeout)

# The modes used, by PostgreSQL's names, and the ones each conflicts with ("Table-Level
# Lock Modes"). A table writer takes ExclusiveLock (reads go on, other writers wait), an
# INSERT too, where PostgreSQL's RowExclusiveLock would let appenders run together.
# Measured on DuckDB 1.5.5: INSERT-only transactions on one DuckLake table do not conflict
# at commit, but run together they are slower (16 sessions in process: 9.5 vs 27 per
# second; 50 over the wire: 8 vs 19): a commit that lands while others' transactions are
# open makes their commits redo their catalog writes. UPDATE and DELETE do conflict with
# any concurrent append ("attempting to delete from table ... but another transaction
# has inserted into it").
ACCESS_SHARE = "AccessShareLock"
EXCLUSIVE = "ExclusiveLock"
ACCESS_EXCLUSIVE = "AccessExclusiveLock"
_CONFLICTS = {
    ACCESS_SHARE: frozenset({ACCESS_EXCLUSIVE}),
    EXCLUSIVE: frozenset({EXCLUSIVE, ACCESS_EXCLUSIVE}),
    ACCESS_EXCLUSIVE: frozenset({ACCESS_SHARE, EXCLUSIVE, ACCESS_EXCLUSIVE}),
}
_STRENGTH = {ACCESS_SHARE: 0, EXCLUSIVE: 1, ACCESS_EXCLUSIVE: 2}


@dataclass(frozen=True, slots=True)
class Target:
    """What is locked: a relation (``schema.name``) or the catalog as a whole."""

    locktype: str  # "relation" or "object"
    schema: str
    name: str

    def describe(self) -> str:
        if self.locktype == "relation":
            return f'relation "{self.schema}.{self.name}"'
        return self.name


# Checked on DuckDB 1.5.5 with DuckLake: catalog changes (CREATE, ALTER, DROP, COMMENT) of
# one transaction running or committing while any other statement reads the lake can
# crash the process (a segfault, or a FATAL "Information loss on integer cast"), and two
# transactions changing the catalog at once can also make DuckLake refuse a commit. So a
# transaction holds CATALOG_CHANGES from its first catalog change to its end (they run one
# at a time), and each statement holds CATALOG while it runs: AccessShareLock for most,
# AccessExclusiveLock for a catalog change and for the COMMIT or ROLLBACK ending one.
CATALOG = Target("object", "", "catalog")
CATALOG_CHANGES = Target("object", "", "catalog changes")
# A DuckLake commit writes the next snapshot into the catalog; commits racing for it retry
# inside DuckLake and give up after ducklake_max_retry_count attempts ("Exceeded the
# maximum retry count", "Duplicate key snapshot_id": 3 failures in 8 s with 16 sessions
# each appending to its own table, none and a lower p99 with commits queued). The COMMIT
# of a transaction that wrote holds COMMITS in ExclusiveLock, so this server's commits
# queue instead; only servers sharing the lake still race.
COMMITS = Target("object", "", "lake commits")
# Role commands write the lake's role tables: two transactions doing so would conflict at
# commit, so they queue on this table lock (held to the end of the transaction).
ROLES = Target("relation", "forge_meta", "roles")


def relation(schema: str, name: str) -> Target:
    return Target("relation", schema, name)


@dataclass(slots=True)
class Waiter:
    session: str
    pid: int
    target: Target
    mode: str
    since: float = field(default_factory=time.time)
    yields: bool = False  # background work: the victim of any deadlock it is part of
    victim: bool = False


@dataclass(slots=True)
class Grant:
    """One session's holds on one target: mode -> count (statement-level holds count up)."""

    pid: int
    modes: dict[str, int] = field(default_factory=dict)


class LockTable:
    """Targets -> the sessions holding them, and the queue of sessions waiting."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._held: dict[Target, dict[str, Grant]] = {}
        self._queue: list[Waiter] = []  # in arrival order
        # Lake commits counted as they land, and the count at the last one that changed each
        # table: what a transaction's snapshot may predate (SessionLocks.statement_locks).
        self.generation = 0
        # Commits of transactions that changed the catalog (prepared statements' result
        # types can have changed only across one).
        self.catalog_commits = 0
        self._committed_at: dict[Target, int] = {}
        self._rewritten_at: dict[Target, int] = {}  # by storage maintenance

    def acquire(
        self,
        session: str,
        pid: int,
        target: Target,
        mode: str,
        *,
        cancelled: Callable[[], bool] = lambda: False,
        timeout_ms: float = 0,
        waiting: Callable[[bool], None] = lambda flag: None,
        interrupted: Callable[[], BaseException | None] = lambda: None,
        yields: bool = False,
    ) -> None:
        """Hold ``target`` in ``mode`` (once more if already held), waiting while another
        session holds or queued first for a conflicting mode. Raises QueryCanceled,
        LockNotAvailable (lock_timeout), DeadlockDetected, or what ``interrupted``
        returns. A waiter that ``yields`` (scheduled storage maintenance) is the victim
        of any deadlock it is part of, as PostgreSQL cancels an autovacuum worker that
        blocks a session."""
        with self._changed:
            if self._grantable(session, target, mode, None):
                self._grant(session, pid, target, mode)
                return
            waiter = Waiter(session, pid, target, mode, yields=yields)
            self._queue.append(waiter)
            waiting(True)
            deadline = time.monotonic() + timeout_ms / 1000 if timeout_ms > 0 else None
            check_at = 0.0
            try:
                while True:
                    # The wait that closes a cycle finds it when it starts; later checks
                    # catch cycles formed as the holders of a lock changed.
                    if waiter.victim:
                        raise errors.DeadlockDetected("deadlock detected")
                    if time.monotonic() >= check_at:
                        cycle = self._cycle(waiter)
                        yielding = next((w for w in cycle if w.yields), None)
                        if yielding is not None and yielding is not waiter:
                            yielding.victim = True
                            self._changed.notify_all()
                        elif cycle:
                            raise errors.DeadlockDetected(
                                "deadlock detected", detail=_describe(cycle)
                            )
                        check_at = time.monotonic() + DEADLOCK_RECHECK
                    if cancelled():
                        raise errors.QueryCanceled("canceling statement due to user request")
                    problem = interrupted()
                    if problem is not None:
                        raise problem
                    if deadline is not None and time.monotonic() >= deadline:
                        raise errors.LockNotAvailable("canceling statement due to lock timeout")
                    self._changed.wait(POLL_SECONDS)
                    if self._grantable(session, target, mode, waiter):
                        self._grant(session, pid, target, mode)
                        return
            finally:
                self._queue.remove(waiter)
                waiting(False)
                self._changed.notify_all()

    def holds(self, session: str, target: Target, mode: str) -> bool:
        """Whether ``session`` holds ``target`` in ``mode`` or a stronger one."""
        with self._changed:
            grant = self._held.get(target, {}).get(session)
            return grant is not None and any(
                _STRENGTH[m] >= _STRENGTH[mode] for m, n in grant.modes.items() if n
            )

    def wrote(self, session: str) -> bool:
        """Whether ``session`` holds a table lock: its transaction wrote to a table."""
        with self._changed:
            return any(
                target.locktype == "relation" and session in grants
                for target, grants in self._held.items()
            )

    @contextlib.contextmanager
    def committing(
        self,
        session: str,
        pid: int,
        waiting: Callable[[bool], None] = lambda flag: None,
        interrupted: Callable[[], BaseException | None] = lambda: None,
    ) -> Iterator[None]:
        """Hold the catalog shared and COMMITS while the transaction of ``session`` commits
        or rolls back: a DuckLake commit reads the catalog (a catalog change committing
        meanwhile crashed DuckDB: "Information loss on integer cast"), and writes the next
        snapshot. Neither a cancel nor lock_timeout ends the wait, which would leave the
        transaction open; ``interrupted`` does (the database was invalidated)."""
        self.acquire(
            session, pid, CATALOG, ACCESS_SHARE, waiting=waiting, interrupted=interrupted
        )
        try:
            self.acquire(
                session, pid, COMMITS, EXCLUSIVE, waiting=waiting, interrupted=interrupted
            )
            try:
                yield
            finally:
                self.release(session, COMMITS, EXCLUSIVE)
        finally:
            self.release(session, CATALOG, ACCESS_SHARE)

    def release(self, session: str, target: Target, mode: str) -> None:
        """Give back one hold of ``target`` in ``mode`` (a statement-level hold)."""
        with self._changed:
            grants = self._held.get(target, {})
            grant = grants.get(session)
            if grant is None or not grant.modes.get(mode):
                return
            grant.modes[mode] -= 1
            if not grant.modes[mode]:
                del grant.modes[mode]
            if not grant.modes:
                del grants[session]
                if not grants:
                    del self._held[target]
            self._changed.notify_all()

    def committed(self, session: str) -> None:
        """The transaction of ``session`` committed: the tables it wrote changed now."""
        with self._changed:
            self.generation += 1
            changes = self._held.get(CATALOG_CHANGES)
            if changes is not None and session in changes:
                self.catalog_commits += 1
            for target, grants in self._held.items():
                grant = grants.get(session)
                if target.locktype == "relation" and grant is not None and any(
                    _STRENGTH[m] >= _STRENGTH[EXCLUSIVE] for m in grant.modes
                ):
                    self._committed_at[target] = self.generation

    def rewritten(self, target: Target) -> None:
        """Storage maintenance committed new files for ``target`` (the rows are the same)."""
        with self._changed:
            self.generation += 1
            self._committed_at[target] = self._rewritten_at[target] = self.generation

    def changed_since(self, targets: Sequence[Target], generation: int) -> str | None:
        """``rewritten`` when maintenance rewrote one of ``targets`` after ``generation``,
        ``committed`` when a transaction changed one, else None."""
        with self._changed:
            if any(self._rewritten_at.get(t, 0) > generation for t in targets):
                return "rewritten"
            if any(self._committed_at.get(t, 0) > generation for t in targets):
                return "committed"
            return None

    def release_all(self, session: str) -> None:
        """The transaction of ``session`` ended: every lock it holds goes."""
        with self._changed:
            released = False
            for target in [t for t, grants in self._held.items() if session in grants]:
                grants = self._held[target]
                del grants[session]
                if not grants:
                    del self._held[target]
                released = True
            if released:
                self._changed.notify_all()

    def rows(self) -> list[tuple[Target, int, str, bool, float | None]]:
        """(target, pid, mode, granted, waitstart) of every hold and wait, for pg_locks."""
        with self._changed:
            rows: list[tuple[Target, int, str, bool, float | None]] = [
                (target, grant.pid, mode, True, None)
                for target, grants in self._held.items()
                for grant in grants.values()
                for mode in grant.modes
            ]
            rows += [(w.target, w.pid, w.mode, False, w.since) for w in self._queue]
            return rows

    # -- inside the condition's lock -------------------------------------------------------
    def _grant(self, session: str, pid: int, target: Target, mode: str) -> None:
        grant = self._held.setdefault(target, {}).setdefault(session, Grant(pid))
        grant.modes[mode] = grant.modes.get(mode, 0) + 1

    def _blockers(self, session: str, target: Target, mode: str, waiter: Waiter | None) -> set[str]:
        """Sessions ``session`` must wait for: conflicting holders, and conflicting waiters
        queued before it (so a stream of readers cannot starve a catalog change)."""
        conflicts = _CONFLICTS[mode]
        blockers = {
            other
            for other, grant in self._held.get(target, {}).items()
            if other != session and any(m in conflicts for m in grant.modes)
        }
        if session in self._held.get(target, {}):
            return blockers  # already holds it in some mode: an upgrade does not queue
        for queued in self._queue:
            if queued is waiter:
                break
            if queued.target == target and queued.session != session and queued.mode in conflicts:
                blockers.add(queued.session)
        return blockers

    def _grantable(self, session: str, target: Target, mode: str, waiter: Waiter | None) -> bool:
        return not self._blockers(session, target, mode, waiter)

    def _cycle(self, start: Waiter) -> list[Waiter]:
        """The waiters of the cycle through which ``start`` waits for itself; empty when
        it does not."""
        waiting = {w.session: w for w in self._queue}
        path: list[Waiter] = []

        def visit(waiter: Waiter, seen: set[str]) -> bool:
            path.append(waiter)
            for blocker in self._blockers(waiter.session, waiter.target, waiter.mode, waiter):
                if blocker == start.session:
                    return True
                after = waiting.get(blocker)
                if after is not None and blocker not in seen:
                    seen.add(blocker)
                    if visit(after, seen):
                        return True
            path.pop()
            return False

        return path if visit(start, {start.session}) else []


def _describe(cycle: list[Waiter]) -> str:
    """PostgreSQL's deadlock report."""
    lines = []
    for index, waiter in enumerate(cycle):
        blocker = cycle[(index + 1) % len(cycle)]
        lines.append(
            f"Process {waiter.pid} waits for {waiter.mode} on {waiter.target.describe()}; "
            f"blocked by process {blocker.pid}."
        )
    return "\n".join(lines)
