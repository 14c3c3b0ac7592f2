"""The query protocol of one session ("55.2.2 Simple Query", "55.2.3 Extended Query") as
a plain object without I/O: frontend messages in, backend message bytes out.

:meth:`QueryProtocol.step` handles what was received, calling the BackendSession and
encoding result rows as it goes; it blocks, so the connection runs it in a worker thread,
once for everything received up to a Sync. It pauses when output should go out first (a
large result streams chunk by chunk) and when a COPY needs the connection.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Generator

import pyarrow as pa

from forge_sql import errors
from forge_sql.seam.backend import ALL_STATEMENTS, BackendSession, PreparedStatement, Result
from forge_sql.wire import messages as m
from forge_sql.wire.pipeline import Execution, bind_values, run_ahead, run_continues
from forge_sql.wire.portals import Portal, chunks, expand_formats, zero_rows

FLUSH_BYTES = 256 * 1024  # output buffered beyond this goes out before more is done


class Pause(enum.Enum):
    """Why :meth:`QueryProtocol.step` returned."""

    INPUT = "input"  # every received message is handled: read more
    OUTPUT = "output"  # write the output, then step again
    COPY = "copy"  # write the output, run the COPY in ``copy``, then report how it ended


Task = Generator[Pause, None, None]


class QueryProtocol:
    """Statements, portals and the READY / AWAITING_SYNC state of one session."""

    def __init__(self, db: BackendSession, batch_bytes: int) -> None:
        self.db = db
        self.batch_bytes = batch_bytes  # encoded output per chunk of a streaming result
        self.statements: dict[str, PreparedStatement] = {}
        self.portals: dict[str, Portal] = {}
        self.inbox: deque[m.FrontendMessage] = deque()
        self.awaiting_sync = False  # after an extended-query error: skip to Sync
        self.waiting = True  # ReadyForQuery was sent last: the idle timeouts apply
        self.copy: Result | None = None  # the COPY a Pause.COPY hands over
        self._out: list[bytes | pa.Buffer] = []
        self._out_size = 0
        self._task: Task | None = None
        self._copy_tag = ""
        self._copy_error: errors.ForgeError | None = None
        self._run_arriving = False  # the task waits for the rest of a pipelined run

    # -- driving ------------------------------------------------------------------------
    def receive(self, message: m.FrontendMessage) -> None:
        self.inbox.append(message)
        self.waiting = False

    def step(self) -> Pause:
        """Handle received messages until all are handled or a pause. Blocks.

        A FatalError, or any exception that is not a ForgeError, ends the connection.
        """
        while True:
            task = self._task
            if task is None:
                if not self.inbox:
                    return Pause.INPUT
                task = self._task = self._handle(self.inbox.popleft())
            try:
                error, self._copy_error = self._copy_error, None
                pause = task.throw(error) if error is not None else next(task)
            except StopIteration:
                self._task = None
                continue
            except BaseException:
                self._task = None
                raise
            return pause

    def run_arriving(self) -> bool:
        """Whether a pipelined run is still arriving: :meth:`step` would only wait for
        more, so the connection reads on first (no worker job)."""
        return self._run_arriving and run_continues(self.inbox)

    def copy_finished(self, tag: str) -> None:
        """The COPY of a Pause.COPY completed with CommandComplete ``tag``."""
        self._copy_tag = tag

    def copy_failed(self, error: errors.ForgeError) -> None:
        """The COPY of a Pause.COPY failed: the statement fails with ``error``."""
        self._copy_error = error

    def take_output(self) -> list[bytes | pa.Buffer]:
        out, self._out, self._out_size = self._out, [], 0
        return out

    def queue(self, data: bytes | pa.Buffer) -> None:
        self._out.append(data)
        self._out_size += len(data)

    def close(self) -> None:
        """The connection ends: release the open results."""
        if self._task is not None:
            self._task.close()
            self._task = None
        for portal in self.portals.values():
            portal.close()
        self.portals.clear()

    # -- dispatch -----------------------------------------------------------------------
    def _handle(self, message: m.FrontendMessage) -> Task:
        if isinstance(message, m.Sync):
            self._sync()
        elif not self.awaiting_sync:
            simple = isinstance(message, m.Query | m.FunctionCall)
            try:
                yield from self._dispatch(message)
            except errors.FatalError:
                raise
            except errors.ForgeError as exc:
                self.queue(m.error_response(m.error_fields(exc)))
                self.db.error_occurred()
                if simple:
                    self._ready()
                else:
                    self.awaiting_sync = True
        else:
            return
        if self.waiting and self.inbox:
            yield Pause.OUTPUT  # a Query or a Sync is answered before the next is handled

    def _dispatch(self, message: m.FrontendMessage) -> Task:
        if isinstance(message, m.Query):
            yield from self._simple_query(message.sql)
        elif isinstance(message, m.Parse):
            self._parse(message)
        elif isinstance(message, m.Bind):
            yield from self._bind(message)
        elif isinstance(message, m.Describe):
            self._describe(message)
        elif isinstance(message, m.Execute):
            yield from self._execute(message)
        elif isinstance(message, m.Close):
            if message.kind == "S":
                self.statements.pop(message.name, None)
            else:
                self._drop_portal(message.name)
            self.queue(m.close_complete())
        elif isinstance(message, m.Flush):
            if self._out:
                yield Pause.OUTPUT
        elif isinstance(message, m.CopyData | m.CopyDone | m.CopyFail):
            pass  # outside COPY these are ignored, as PostgreSQL does
        elif isinstance(message, m.FunctionCall):
            raise errors.FeatureNotSupported("fastpath function calls are not supported")
        else:
            raise errors.ProtocolViolation(
                f"unexpected message {type(message).__name__} after startup"
            )

    # -- simple query -------------------------------------------------------------------
    def _simple_query(self, sql: str) -> Task:
        # "53.2.3": a simple Query destroys the unnamed statement and portal.
        self.statements.pop("", None)
        self._drop_portal("")
        statements = self.db.split(sql)
        if not statements:
            self.queue(m.empty_query_response())
        for statement in statements:
            portal = Portal(statement, [], [], simple=True)
            yield from self._run(portal, 0, describe=True)
            self._completed(portal)
        if self.db.pending_commit:
            self.db.sync()  # the implicit transaction of the Query
        self._ready()

    # -- extended query -----------------------------------------------------------------
    def _parse(self, message: m.Parse) -> None:
        if message.name and message.name in self.statements:
            raise errors.DuplicatePreparedStatement(
                f'prepared statement "{message.name}" already exists'
            )
        statement = self.db.prepare(message.sql, message.param_oids)
        self.statements[message.name] = statement
        self.queue(m.parse_complete())

    def _bind(self, message: m.Bind) -> Task:
        statement = self.statements.get(message.statement)
        if statement is None:
            raise errors.InvalidSqlStatementName(
                f'prepared statement "{message.statement}" does not exist'
            )
        values = bind_values(message, statement)
        if message.portal and message.portal in self.portals:
            raise errors.DuplicateCursor(f'cursor "{message.portal}" already exists')
        self._drop_portal(message.portal)
        if not message.portal and statement.columns is None:
            # Pipelined executions still arriving: wait for them, as PostgreSQL's answers
            # wait for Sync or Flush too, so that the run is one backend call.
            while run_continues(self.inbox):
                self._run_arriving = True
                yield Pause.INPUT
                self._run_arriving = False
        run, taken = run_ahead(message, statement, values, self.inbox)
        if run:
            for _ in range(taken):
                self.inbox.popleft()
            yield from self._execute_run(statement, run)
            return
        if statement.columns is not None:
            expand_formats(message.result_formats, len(statement.columns), "result")
        self.portals[message.portal] = Portal(statement, values, list(message.result_formats))
        self.queue(m.bind_complete())

    def _execute_run(self, statement: PreparedStatement, run: list[Execution]) -> Task:
        """Bind/Execute pairs of one statement, run by one backend call: the answers are
        those of the pairs one by one; the first that fails ends the run."""
        done = 0
        while done < len(run):
            results, error = self.db.execute_many(statement, [e.params for e in run[done:]])
            for result in results:
                execution = run[done]
                done += 1
                portal = self._bound(statement, execution)
                portal.result = result
                yield from self._run_execute(portal, "", 0)
            if error is not None:
                self._bound(statement, run[done])
                self._drop_portal("")  # as after a failed Execute
                raise error

    def _bound(self, statement: PreparedStatement, execution: Execution) -> Portal:
        self._drop_portal("")
        portal = self.portals[""] = Portal(statement, execution.params, [])
        self.queue(m.bind_complete())
        if execution.describe:
            self.queue(m.no_data())
        return portal

    def _describe(self, message: m.Describe) -> None:
        if message.kind == "S":
            statement = self.statements.get(message.name)
            if statement is None:
                raise errors.InvalidSqlStatementName(
                    f'prepared statement "{message.name}" does not exist'
                )
            self.queue(m.parameter_description(statement.param_oids))
            columns = statement.columns
            formats: tuple[int, ...] = ()
        else:
            portal = self.portals.get(message.name)
            if portal is None:
                # A cursor opened by DECLARE is a portal too ("53.2.3"; psycopg's named
                # cursors describe it this way).
                columns = self.db.cursor_columns(message.name)
                formats = ()
            else:
                columns = portal.statement.columns
                formats = tuple(expand_formats(portal.formats, len(columns or ()), "result"))
        if columns is None:
            self.queue(m.no_data())
        else:
            self.queue(m.row_description(columns, formats))

    def _execute(self, message: m.Execute) -> Task:
        portal = self.portals.get(message.portal)
        if portal is None:
            raise errors.InvalidCursorName(f'portal "{message.portal}" does not exist')
        if portal.done:
            # Executing a finished portal again returns no rows (PostgreSQL does the same).
            self._complete(zero_rows(portal.tag))
            return
        yield from self._run_execute(portal, message.portal, message.max_rows)

    def _run_execute(self, portal: Portal, name: str, max_rows: int) -> Task:
        try:
            yield from self._run(portal, max_rows)
        except errors.ForgeError:
            self._drop_portal(name)
            raise
        if portal.done:
            self._completed(portal)
        else:
            self.queue(m.portal_suspended())

    def _sync(self) -> None:
        self.awaiting_sync = False
        try:
            if self.db.pending_commit:
                self.db.sync()  # "53.2.4": Sync ends the pipeline's implicit transaction
        except errors.ForgeError as exc:
            self.queue(m.error_response(m.error_fields(exc)))
        self._ready()

    # -- results ------------------------------------------------------------------------
    def _run(self, portal: Portal, max_rows: int, describe: bool = False) -> Task:
        """Execute ``portal`` if not yet done and queue its DataRows until the end or
        ``max_rows`` (0: all), pausing after each chunk so that it goes out.
        ``describe`` sends RowDescription first (a simple Query)."""
        first = portal.result is None
        if portal.result is None:
            portal.result = self.db.execute(portal.statement, portal.params)
            if portal.simple and portal.result.binary:
                portal.formats = [1]  # "53.2.2": FETCH from a BINARY cursor
        result = portal.result
        try:
            if result.copy is not None:
                self.copy = result
                try:
                    yield Pause.COPY
                finally:
                    self.copy = None
                portal.tag, portal.done = self._copy_tag, True
                result.close()
                return
            if first and describe and result.columns is not None:
                self.queue(m.row_description(result.columns, portal.formats))
            for chunk in chunks(portal, max_rows, self.batch_bytes):
                for piece in chunk.data:
                    self.queue(piece)
                if not chunk.last:
                    yield Pause.OUTPUT
        except BaseException:
            result.close()
            raise
        if self._out_size >= FLUSH_BYTES:
            yield Pause.OUTPUT

    def _completed(self, portal: Portal) -> None:
        result = portal.result
        for code, text in result.notices if result is not None else ():
            # Class 00 is a NOTICE (a remark such as "... skipping"), the rest WARNINGs.
            severity = "NOTICE" if code.startswith("00") else "WARNING"
            self.queue(m.notice_response({"S": severity, "V": severity, "C": code, "M": text}))
        self._parameter_changes()
        self._complete(portal.tag)

    def _complete(self, tag: str) -> None:
        # An empty query string answers EmptyQueryResponse instead of CommandComplete.
        self.queue(m.command_complete(tag) if tag else m.empty_query_response())

    def _parameter_changes(self) -> None:
        """Report what the statement changed: settings (ParameterStatus), and prepared
        statements dropped by DEALLOCATE or DISCARD ALL."""
        for name in self.db.take_deallocations():
            if name == ALL_STATEMENTS:
                self.statements.clear()
            else:
                self.statements.pop(name, None)
        for name, value in self.db.take_parameter_changes().items():
            self.queue(m.parameter_status(name, value))

    def _ready(self) -> None:
        db = self.db
        db.ready()
        status = db.transaction_status
        if status == "I":
            # Portals last until the end of their transaction ("53.2.3").
            for name in list(self.portals):
                self._drop_portal(name)
        self.queue(m.ready_for_query(status))
        self.waiting = True

    def _drop_portal(self, name: str) -> None:
        portal = self.portals.pop(name, None)
        if portal is not None:
            portal.close()

