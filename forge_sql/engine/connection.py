"""A session's DuckDB cursor and the one way SQL reaches it: the open streaming result is
read first, live SQL cursors are spilled, and the statement is marked running so cancel
and statement_timeout can interrupt it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence

import duckdb

from forge_sql import errors
from forge_sql.engine import byte_batches, locks
from forge_sql.engine.activity import Execution
from forge_sql.engine.locks import LockTable
from forge_sql.engine.result import ArrowResult
from forge_sql.engine.result_sources import Scope
from forge_sql.engine.sql_cursors import Cursors
from forge_sql.plugins import faults
from forge_sql.sql.duckdb_errors import translate
from forge_sql.storage.schedule import Workload

# DuckDB's default_null_order per forge.semantics: PostgreSQL sorts NULL as larger than
# any value (docs: queries-order, "NULLS FIRST is the default for DESC order").
NULL_ORDER = {"postgres": "nulls_last_on_asc_first_on_desc", "duckdb": "nulls_last"}


class Connection:
    """Owns one session's DuckDB cursor (``raw``: for reading a result just executed).

    DuckDB runs one statement at a time on a cursor, and executing another discards the
    unread rows of the previous one: ``execute`` keeps an open result readable by reading
    it into memory first, so portals and SQL cursors survive the statements after them.
    """

    def __init__(
        self,
        cursor: duckdb.DuckDBPyConnection,
        cursors: Cursors,
        lock_table: LockTable,
        token: str,
        workload: Workload,
        statement_timeout: Callable[[], float],
        batch_rows: int,
        batch_bytes: int,
    ) -> None:
        self.raw = cursor
        self.cursors = cursors  # DECLARE's SQL cursors, read from this cursor
        self.execution = Execution(cursor, statement_timeout)
        self.batch_rows = batch_rows
        self.batch_bytes = batch_bytes
        # Whether the session's transaction is open (set by its transaction block): an
        # open transaction counts as activity for the maintenance schedule.
        self.in_transaction: Callable[[], bool] = lambda: False
        self.function_error: errors.ForgeError | None = None  # raised in pg_functions
        # Superusers see an extension function's traceback (CONTEXT); others its message.
        self.superuser = False
        self._locks = lock_table
        self._token = token
        self._workload = workload
        self._streaming: ArrowResult | None = None
        # Table functions' rows registered for the running statement (engine.table_functions).
        self._streams: list[str] = []
        self._timezone = ""
        # Database.cursor sets PostgreSQL's NULL ordering on every session's cursor.
        self.semantics = "postgres"
        # What names in the session's statements refer to, for result types (set by the
        # session: forge_sql.engine.result_sources); None: as DuckDB types them.
        self.result_scope: Callable[[], Scope | None] = lambda: None

    def execute(
        self,
        sql: str | duckdb.Statement,
        params: Sequence[object] | None = None,
        *,
        interruptible: bool = True,
    ) -> duckdb.DuckDBPyConnection:
        """Run ``sql`` on the cursor; its result is then read from ``raw``.

        ``interruptible=False`` for BEGIN, COMMIT and ROLLBACK: a cancel request must not
        leave the transaction half ended.
        """
        self.detach_stream()
        if not interruptible:
            return self.raw.execute(sql, list(params) if params else None)
        self.running(True)
        try:
            return self.raw.execute(sql, list(params) if params else None)
        finally:
            self.running(False)

    def executemany(self, sql: str, rows: list[list[object]]) -> None:
        self.detach_stream()
        self.running(True)
        try:
            self.raw.executemany(sql, rows)
        finally:
            self.running(False)

    def sql(self, sql: str, params: Sequence[object] | None = None) -> duckdb.DuckDBPyRelation:
        """A relation over ``sql``: DuckDB binds it now and runs it when it is read."""
        self.detach_stream()
        return self.raw.sql(sql, params=list(params) if params else None)

    def running(self, flag: bool) -> None:
        """Mark a statement as executing (cancel may interrupt it), arming statement_timeout."""
        # An open transaction counts as activity too: maintenance that rewrote the files it
        # reads or deletes from could make its COMMIT conflict.
        self._workload.running(id(self), flag or self.in_transaction())
        self.execution.running(flag)

    def idle(self) -> None:
        """The transaction ended: no activity to keep maintenance away from."""
        self._workload.running(id(self), False)

    def translate(self, exc: BaseException, sql: str | None = None) -> errors.ForgeError:
        """The PostgreSQL error for ``exc``: the one a Python function of this session
        raised inside DuckDB, if any, else DuckDB's translated."""
        error = self.function_error or faults.error_of(exc, self.superuser) or translate(exc, sql)
        self.function_error = None
        if isinstance(error, errors.QueryCanceled) and self.execution.timed_out:
            error = errors.QueryCanceled("canceling statement due to statement timeout")
        return error

    # -- the result streaming to the client ----------------------------------------------
    def open_reader(self) -> byte_batches.ResultReader:
        return byte_batches.open_reader(self.raw, self.batch_rows, self.batch_bytes)

    def stream(self, result: ArrowResult) -> None:
        """``result`` reads from the cursor batch by batch (its catalog lock is held)."""
        self._streaming = result

    def streams(self, result: object) -> bool:
        """Whether ``result`` is the one reading from the cursor now."""
        return result is not None and result is self._streaming

    def stream_finished(self, result: ArrowResult) -> None:
        if self._streaming is result:
            self._streaming = None
            self._locks.release(self._token, locks.CATALOG, locks.ACCESS_SHARE)
            self.release_streams()

    def detach_stream(self) -> None:
        """Another statement is about to run on the cursor: keep the open result readable."""
        if self._streaming is not None:
            streaming, self._streaming = self._streaming, None
            try:
                streaming.materialize()
            finally:
                self._locks.release(self._token, locks.CATALOG, locks.ACCESS_SHARE)
                self.release_streams()
        if self.cursors.open:
            self.cursors.spill_live(self.running)

    def drop_stream(self) -> None:
        """The transaction's portals end with it: nothing to keep readable."""
        if self._streaming is not None:
            self._streaming.close()
            self._streaming = None
        self.release_streams()

    def register_stream(self, name: str, reader: object) -> None:
        """Rows a table function produces, scanned by the next statement as ``name``."""
        self.detach_stream()
        self.raw.register(name, reader)
        self._streams.append(name)

    def release_streams(self) -> None:
        """The statement that scanned them is done: the names go, and the functions'
        generators with them."""
        streams, self._streams = self._streams, []
        for name in streams:
            with contextlib.suppress(duckdb.Error):
                self.raw.unregister(name)

    def set_timezone(self, zone: str) -> None:
        """DuckDB computes and prints timestamptz in the connection's TimeZone."""
        if zone != self._timezone:
            self.execute("SET TimeZone = '" + zone.replace("'", "''") + "'", interruptible=False)
            self._timezone = zone

    def set_semantics(self, semantics: str) -> None:
        """NULL ordering for ``forge.semantics`` (the other differences are rewrites of
        the statement's text, forge_sql.sql.semantics): PostgreSQL puts NULLs first in
        descending order, DuckDB last. SET SESSION: DuckDB's SET of this one is global."""
        order = NULL_ORDER[semantics]
        self.execute(f"SET SESSION default_null_order = '{order}'", interruptible=False)
        self.semantics = semantics

    @property
    def timezone(self) -> str:
        return self._timezone

    def close(self) -> None:
        self.detach_stream()
        with contextlib.suppress(duckdb.Error):  # an invalidated database refuses even this
            self.raw.close()
