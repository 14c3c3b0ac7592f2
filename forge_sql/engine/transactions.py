"""One session's transaction block (status I, T or E, as ReadyForQuery reports it): the
implicit transaction the server opens for a Query or pipeline, BEGIN/COMMIT/ROLLBACK, and
what ends with a transaction besides the data (COPY's staged files, xact advisory locks).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from forge_sql.engine import locks, savepoints
from forge_sql.engine.connection import Connection
from forge_sql.engine.replay import Replay
from forge_sql.engine.result import TagResult
from forge_sql.sql.statements import Statement
from forge_sql.storage import objectstore

if TYPE_CHECKING:
    from forge_sql.engine.database import Database
    from forge_sql.engine.session_settings import SessionSettings

_NO_TRANSACTION = ("25P01", "there is no transaction in progress")


class TransactionBlock:
    """The transaction state of one session over its DuckDB cursor.

    ``ending_transaction``: the locks a COMMIT or ROLLBACK takes (exclusive after
    the transaction changed the catalog, forge_sql.engine.locks).
    """

    def __init__(
        self,
        connection: Connection,
        database: Database,
        settings: SessionSettings,
        token: str,
        ending_transaction: Callable[[], contextlib.AbstractContextManager[None]],
    ) -> None:
        self._connection = connection
        self._database = database
        self._settings = settings
        self._token = token
        self._ending_transaction = ending_transaction
        connection.in_transaction = lambda: self.in_transaction
        self.status = "I"
        self.implicit = False  # a transaction the server opened for a Query or pipeline
        self.staged_files: list[str] = []  # Parquet files of this transaction's COPYs
        self.replay = Replay()  # what the implicit transaction ran, to run after a conflict
        self.journal = savepoints.Journal()
        self.xact_locks: list[tuple[tuple[int, ...], bool]] = []  # (key, shared), in order
        # A statement of this transaction ran (planning aside): its snapshot may be taken.
        self.touched = False
        # What ends with the transaction besides the data, called with whether it committed
        # (sequences created or dropped in it: forge_sql.engine.sequence_commands).
        self.at_end: list[Callable[[bool], None]] = []
        # The lock table's count of lake commits when DuckDB's transaction began: its
        # snapshot sees no commit counted after it (locks.LockTable.changed_since).
        self.began = 0

    @property
    def in_transaction(self) -> bool:
        """A block is open, or the server's implicit transaction is."""
        return self.status != "I" or self.implicit

    @property
    def failed(self) -> bool:
        return self.status == "E"

    def mark_failed(self) -> None:
        self.status = "E"

    def begin_implicit(self) -> None:
        """Statements of one Query, or of one pipeline up to Sync, commit or fail together,
        as in PostgreSQL."""
        self._begin()
        self.implicit = True
        self.touched = False
        self.replay = Replay()

    def record(
        self, statement: Statement, sql: str, params: Sequence[object], reason: str = ""
    ) -> None:
        """Journal a write of an explicit block, for ROLLBACK TO."""
        if self.status == "T":
            self.journal.record(statement, sql, params, reason)

    def command(self, statement: Statement) -> TagResult:
        """BEGIN, START TRANSACTION, COMMIT, END, ROLLBACK, ABORT."""
        words = statement.words
        verb = words[0]
        if verb in ("BEGIN", "START"):
            tag = "BEGIN" if verb == "BEGIN" else "START TRANSACTION"
            if self.status != "I":
                return TagResult(tag, [("25001", "there is already a transaction in progress")])
            self._settings.begin(statement.sql)
            self.journal.reset(unknown_start=self.implicit)
            if self.implicit:
                # BEGIN inside a multi-statement Query turns its implicit block explicit.
                self.implicit = False
            else:
                self._begin()
                self.touched = False
            self.status = "T"
            return TagResult(tag)
        if self.implicit:
            self.end_implicit("COMMIT" if verb in ("COMMIT", "END") else "ROLLBACK")
            tag = "COMMIT" if verb in ("COMMIT", "END") else "ROLLBACK"
            return TagResult(tag, [_NO_TRANSACTION])
        if verb in ("COMMIT", "END"):
            if self.status == "I":
                return TagResult("COMMIT", [_NO_TRANSACTION])
            if self.status == "E":
                self.end_block("ROLLBACK")
                return TagResult("ROLLBACK")
            # DuckDB ends the transaction whether COMMIT succeeds or not
            self.end_block("COMMIT")
            return TagResult("COMMIT")
        # ROLLBACK, ABORT
        if self.status == "I":
            return TagResult("ROLLBACK", [_NO_TRANSACTION])
        self.end_block("ROLLBACK")
        return TagResult("ROLLBACK")

    def end_implicit(self, verb: str) -> None:
        self.implicit = False
        self._connection.drop_stream()
        try:
            with self._ending_transaction():
                if verb == "COMMIT":
                    retries = self._database.settings.commit_retries
                    self.replay.commit(self._connection, self._commit, retries)
                else:
                    self.rollback()
        finally:
            self._ended(verb == "COMMIT")

    def end_block(self, verb: str) -> None:
        """COMMIT or ROLLBACK of an explicit transaction block (status T or E)."""
        commit = verb == "COMMIT"
        connection = self._connection
        connection.detach_stream()
        cursors = connection.cursors
        held = frozenset(n for n, c in cursors.open.items() if c.committed)
        self.status = "I"
        try:
            if commit:
                try:
                    # WITH HOLD cursors are read to the end while their transaction lasts;
                    # if that fails, the block fails, as in PostgreSQL.
                    cursors.end_transaction(True, connection.running)
                except BaseException:
                    commit = False
                    self.rollback()
                    raise
                with self._ending_transaction():
                    self._commit()
            else:
                cursors.end_transaction(False, connection.running)
                self.rollback()
        except BaseException:
            commit = False
            raise
        finally:
            if not commit:
                cursors.keep_only(held)
            self._ended(commit)

    def fail(self) -> None:
        """A statement failed: the implicit transaction rolls back, a block is failed."""
        if self.implicit:
            self.end_implicit("ROLLBACK")
        if self.status == "T":
            self.status = "E"

    def error_occurred(self) -> None:
        if self.implicit:
            self.end_implicit("ROLLBACK")
        elif self.status == "T":
            self.status = "E"

    def close(self) -> None:
        """The session ends: what it left open rolls back."""
        if self.in_transaction:
            self.implicit = False
            with contextlib.suppress(duckdb.Error):
                self.rollback()

    def _ended(self, committed: bool) -> None:
        """What PostgreSQL undoes or ends with a transaction besides the data."""
        self._settings.end(committed)
        actions, self.at_end = self.at_end, []
        if actions:
            # They read and write the lake: as a statement does, holding the catalog shared
            # (no catalog change of another session beside them, forge_sql.engine.locks).
            table = self._database.locks
            table.acquire(self._token, 0, locks.CATALOG, locks.ACCESS_SHARE)
            try:
                for action in actions:
                    action(committed)
            finally:
                table.release(self._token, locks.CATALOG, locks.ACCESS_SHARE)
        if self.journal.writes or self.journal.savepoints:
            self.journal.reset()
        self.release_xact_locks()
        if committed:
            self._database.locks.committed(self._token)
        self._database.locks.release_all(self._token)
        # A SET TimeZone of the block may have been undone.
        self._connection.set_timezone(self._settings.timezone)

    def release_xact_locks(self) -> None:
        locks = self._database.advisory_locks
        token = self._token
        if token in locks.xact_holders:
            locks.release_all(token, xact=True)
        self.xact_locks.clear()

    def release_xact_locks_after(self, mark: int) -> None:
        """ROLLBACK TO: the transaction-level advisory locks taken since the savepoint go."""
        locks = self._database.advisory_locks
        for key, shared in self.xact_locks[mark:]:
            locks.release(self._token, key, shared=shared, xact=True)
        del self.xact_locks[mark:]

    def _commit(self) -> None:
        try:
            self._connection.execute("COMMIT", interruptible=False)
        except BaseException:
            self._discard_staged()  # DuckDB rolled the transaction back
            raise
        finally:
            self._connection.idle()
        self.staged_files.clear()

    def _discard_staged(self) -> None:
        """Delete Parquet files a COPY wrote for a transaction that did not commit.

        Files on object storage stay until the orphan sweep (forge_sql.storage.orphans).
        """
        files, self.staged_files = self.staged_files, []
        for path in files:
            if not objectstore.is_url(path):
                with contextlib.suppress(OSError):
                    Path(path).unlink()

    def rollback(self) -> None:
        self.status = "I"
        # DuckDB may already have ended the failed transaction.
        try:
            with (
                self._ending_transaction(),
                contextlib.suppress(duckdb.TransactionException),
            ):
                self._connection.execute("ROLLBACK", interruptible=False)
        finally:
            self._discard_staged()
            self._connection.idle()

    def take_fresh_snapshot(self) -> None:
        """The transaction ran nothing yet, but planning its statements (Parse, Describe)
        may have begun DuckDB's transaction and fixed its snapshot: begin it again, so a
        first write that waited for a lock works on what the previous holder committed, as
        a PostgreSQL transaction whose first statement waited does."""
        assert not self.touched
        self.refresh_snapshot()

    def refresh_snapshot(self) -> None:
        """Begin DuckDB's transaction again, for a transaction that wrote nothing yet: its
        next statement sees what was committed before it (READ COMMITTED)."""
        assert not self.staged_files
        self._connection.execute("ROLLBACK", interruptible=False)
        self._begin()

    def _begin(self) -> None:
        self.began = self._database.locks.generation  # read first: never later than it
        self._connection.execute("BEGIN TRANSACTION", interruptible=False)

    def restart(self) -> None:
        """Roll the DuckDB transaction back and begin another; the block goes on."""
        with contextlib.suppress(duckdb.TransactionException):
            self._connection.execute("ROLLBACK", interruptible=False)
        self._discard_staged()
        self.status = "E"  # until the new transaction has begun
        self._begin()
        self.status = "T"


def ends_block(statement: Statement) -> bool:
    """ROLLBACK [TO savepoint], COMMIT: what a failed block still accepts."""
    words = statement.words
    return (
        statement.kind == "TRANSACTION"
        and bool(words)
        and words[0] in ("ROLLBACK", "ABORT", "COMMIT", "END")
    )
