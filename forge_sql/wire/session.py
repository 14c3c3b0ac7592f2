"""One client connection: the protocol v3 state machine over a BackendSession.

States follow the PostgreSQL docs ("55.2 Message Flow"): startup and authentication, then
READY for simple or extended queries; after an error in an extended-query exchange the
session is AWAITING_SYNC and discards messages until Sync.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import secrets
import ssl
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import pyarrow as pa

from forge_sql import errors
from forge_sql.seam.backend import (
    ALL_STATEMENTS,
    Backend,
    BackendSession,
    Column,
    PreparedStatement,
    Result,
    StartupInfo,
)
from forge_sql.sql.quoting import redact_passwords
from forge_sql.wire import messages as m
from forge_sql.wire.auth import ScramExchange, ScramVerifier, parse_sasl_initial_response
from forge_sql.wire.codec import (
    MAX_AUTH_TOKEN_SIZE,
    ConnectionClosed,
    read_message,
    read_startup,
)
from forge_sql.wire.decode import decode_param
from forge_sql.wire.encode import encode_batch
from forge_sql.wire.encode.parts import encode_in_parts
from forge_sql.wire.idle import idle_timeout
from forge_sql.wire.tls import is_loopback_peer

if TYPE_CHECKING:
    from forge_sql.wire.server import Server

log = logging.getLogger(__name__)
T = TypeVar("T")

FLUSH_BYTES = 256 * 1024  # write out once this much output is buffered
MAX_ROWS_PER_CHUNK = 65536  # rows encoded per worker-thread job when streaming
WATCH_SECONDS = 0.2  # how often a running statement checks that its client is still there
INLINE_PARSE_BYTES = 16 * 1024  # simple queries up to this size are split on the event loop


class State(enum.Enum):
    STARTUP = "startup"
    AUTHENTICATING = "authenticating"
    READY = "ready"
    AWAITING_SYNC = "awaiting_sync"
    CLOSED = "closed"


@dataclass(slots=True)
class Portal:
    """A bound statement (Bind) and, once executed, its open result."""

    statement: PreparedStatement
    params: list[object]
    formats: list[int]  # result format codes as Bind gave them
    result: Result | None = None
    pending: pa.RecordBatch | None = None  # rows fetched but not yet sent (row limits)
    done: bool = False
    suspended: bool = False  # an Execute already stopped at its row limit
    simple: bool = False  # a statement of a simple Query: its result picks the format
    tag: str = ""


@dataclass(slots=True)
class Chunk:
    """Encoded output of one worker-thread job while streaming a result."""

    data: list[bytes | pa.Buffer] = field(default_factory=list)
    rows: int = 0
    finished: bool = False
    suspended: bool = False


class Session:
    """Drives one client connection from StartupMessage to Terminate."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        server: Server,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.server = server
        self.backend: Backend = server.backend
        self.executor: Executor = server.executor
        self.state = State.STARTUP
        self.process_id = 0
        self.secret_key = secrets.token_bytes(4)
        self.user = ""
        self.application_name = ""
        self.db: BackendSession | None = None
        self.statements: dict[str, PreparedStatement] = {}
        self.portals: dict[str, Portal] = {}
        self.query = ""
        self.query_start = 0.0
        self._out: list[bytes | pa.Buffer] = []
        self._out_size = 0
        # Output held back while deferred statements wait to be stored (see _resolve).
        self._held: list[bytes | pa.Buffer] | None = None
        self._held_marks: list[int] = []  # where each deferred Execute's answer starts
        self.remote = str(writer.get_extra_info("peername") or "")
        self._waiting = False  # ReadyForQuery sent: the idle timeouts apply
        self._loop: asyncio.AbstractEventLoop | None = None
        self.tls = False

    # -- lifecycle --------------------------------------------------------------------------
    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        try:
            # PostgreSQL's authentication_timeout: a silent client cannot hold a connection.
            timeout = self.server.settings.authentication_timeout
            if await asyncio.wait_for(self._startup(), timeout):
                await self._serve()
        except ConnectionClosed:
            pass
        except errors.ForgeError as exc:
            # Only fatal errors get here (protocol violations, refused logins).
            await self._send_fatal(exc)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except TimeoutError:
            log.info("connection from %s timed out during startup", self.remote)
        except Exception as exc:
            log.exception("unexpected error in session %s", self.process_id)
            await self._send_fatal(errors.InternalError(f"internal error: {exc}"))
        finally:
            await self._close()

    async def _send_fatal(self, exc: errors.ForgeError) -> None:
        fields = m.error_fields(exc)
        fields["S"] = fields["V"] = "FATAL"
        self._out.clear()
        self._out_size = 0
        self.queue(m.error_response(fields))
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.flush()

    async def _close(self) -> None:
        self.state = State.CLOSED
        self.server.unregister(self)
        for portal in self.portals.values():
            if portal.result is not None:
                portal.result.close()
        self.portals.clear()
        if self.db is not None:
            db, self.db = self.db, None
            db.cancel()
            try:
                await self._run(db.close)
            except Exception:
                log.exception("error closing session %s", self.process_id)
        with contextlib.suppress(RuntimeError):
            self.writer.close()

    # -- startup ----------------------------------------------------------------------------
    async def _start_tls(self, context: ssl.SSLContext) -> None:
        """Answer SSLRequest with ``S`` and run the handshake on this connection."""
        # Bytes sent after SSLRequest but before the handshake would be read as if they
        # had come encrypted (CVE-2021-23214 in PostgreSQL): refuse them.
        if getattr(self.reader, "_buffer", b""):
            raise errors.ProtocolViolation("received unencrypted data after SSL request")
        self.writer.write(m.ssl_accepted())
        await self.writer.drain()
        try:
            await self.writer.start_tls(context)
        except (ssl.SSLError, ConnectionError) as exc:
            # The client gave up on the handshake (say, it does not trust the certificate).
            log.info("TLS handshake with %s failed: %s", self.remote, exc)
            raise ConnectionClosed(clean=False) from exc
        self.tls = True

    async def _startup(self) -> bool:
        """Negotiate, authenticate and open the backend session; False if the peer left."""
        while True:
            packet = m.decode_startup(await read_startup(self.reader))
            if isinstance(packet, m.SSLRequest) and self.server.tls is not None and not self.tls:
                await self._start_tls(self.server.tls)
                continue
            if isinstance(packet, m.SSLRequest | m.GSSENCRequest):
                self.writer.write(m.ssl_refused())
                await self.writer.drain()
                continue
            if isinstance(packet, m.CancelRequest):
                self.server.cancel(packet.process_id, packet.secret_key)
                return False
            break
        if self.server.settings.tls_required and not self.tls and not is_loopback_peer(
            self.writer.get_extra_info("peername")
        ):
            raise errors.InvalidAuthorization(
                "this server accepts TLS connections only",
                hint="Connect with sslmode=require (or verify-full).",
            )
        parameters = dict(packet.parameters)
        minor = packet.protocol & 0xFFFF
        unsupported = [name for name in parameters if name.startswith("_pq_.")]
        if minor > 0 or unsupported:
            self.queue(m.negotiate_protocol_version(0, unsupported))
        self.user = parameters.pop("user", "")
        if not self.user:
            raise errors.InvalidAuthorization("no PostgreSQL user name specified in startup packet")
        database = parameters.pop("database", "") or self.user
        parameters.update(_options(parameters.pop("options", "")))
        self.application_name = parameters.get("application_name", "")
        self.state = State.AUTHENTICATING
        await self._authenticate()
        superuser = await self._run(self.backend.is_superuser, self.user)
        self.process_id = self.server.register(self, superuser)
        startup = StartupInfo(
            self.user, database, parameters, self.process_id, self.remote, self._terminate_soon
        )
        self.db = await self._run(self.backend.open_session, startup)
        for name, value in self.backend.server_parameters().items():
            self.queue(m.parameter_status(name, value))
        self.queue(m.parameter_status("application_name", self.application_name))
        self.queue(m.parameter_status("session_authorization", self.user))
        for name, value in self.db.take_parameter_changes().items():
            self.queue(m.parameter_status(name, value))
        self.queue(m.backend_key_data(self.process_id, self.secret_key))
        self.queue(m.ready_for_query(self.db.transaction_status))
        await self.flush()
        self.state = State.READY
        self._waiting = True
        return True

    # -- idle timeouts ----------------------------------------------------------------------
    async def _read_when_idle(
        self, max_size: int, seconds: float, error: errors.FatalError
    ) -> m.FrontendMessage:
        try:
            type_code, body = await asyncio.wait_for(
                read_message(self.reader, max_size), seconds
            )
        except TimeoutError:
            log.info("session %s closed: %s", self.process_id, error.message)
            raise error from None
        return m.decode_frontend(type_code, body)

    async def _authenticate(self) -> None:
        server = self.server
        if server.passwords is None and not server.users:
            self.queue(m.authentication_ok())
            return
        verifier: ScramVerifier | None
        if server.passwords is not None:
            loop = asyncio.get_running_loop()  # the lookup may read the lake's catalog
            verifier = await loop.run_in_executor(server.executor, server.passwords, self.user)
        else:
            verifier = server.users.get(self.user)
        exchange = ScramExchange(self.user, verifier)
        self.queue(m.authentication_sasl(["SCRAM-SHA-256"]))
        await self.flush()
        mechanism, data = parse_sasl_initial_response(await self._password_message())
        if mechanism != "SCRAM-SHA-256":
            raise errors.ProtocolViolation(f'SASL mechanism "{mechanism}" is not supported')
        if data is None:
            raise errors.ProtocolViolation("SASLInitialResponse without data")
        self.queue(m.authentication_sasl_continue(exchange.handle_initial(data)))
        await self.flush()
        final = exchange.handle_final(await self._password_message())
        self.queue(m.authentication_sasl_final(final))
        self.queue(m.authentication_ok())

    async def _password_message(self) -> bytes:
        type_code, body = await read_message(self.reader, MAX_AUTH_TOKEN_SIZE, typed=False)
        message = m.decode_frontend(type_code, body)
        if not isinstance(message, m.PasswordMessage):
            raise errors.ProtocolViolation(
                f"expected SASL response, got message type {chr(type_code)!r}"
            )
        return bytes(message.data)

    # -- main loop --------------------------------------------------------------------------
    async def _serve(self) -> None:
        max_size = self.server.settings.max_message_size
        debug = log.isEnabledFor(logging.DEBUG)
        while True:
            # The idle timeouts apply only after ReadyForQuery, as in PostgreSQL.
            idle = idle_timeout(self.db) if self._waiting and self.db is not None else None
            if idle is None:
                # No name keeps the body: a large Query's bytes are freed once decoded.
                message = m.decode_frontend(*await read_message(self.reader, max_size))
            else:
                message = await self._read_when_idle(max_size, *idle)
            self._waiting = False
            if debug:
                log.debug("session %s <- %s", self.process_id, redact_passwords(repr(message)))
            if isinstance(message, m.Terminate):
                return
            if self.state is State.AWAITING_SYNC and not isinstance(message, m.Sync):
                continue
            if self._held is not None and not isinstance(message, m.Bind | m.Describe | m.Execute):
                await self._resolve()
                if self.state is State.AWAITING_SYNC and not isinstance(message, m.Sync):
                    continue
            try:
                await self._dispatch(message)
            except errors.FatalError:
                raise
            except errors.ForgeError as exc:
                if exc.deferred_row is not None and self._held is not None:
                    self._fail_deferred(exc)
                    await self.flush()
                    continue
                self.queue(m.error_response(m.error_fields(exc)))
                if self.db is not None:
                    self.db.error_occurred()
                if isinstance(message, m.Query | m.FunctionCall):
                    self._ready()
                else:
                    self.state = State.AWAITING_SYNC
                    await self.flush()  # the client may wait for it before sending Sync
            if isinstance(message, m.Query | m.FunctionCall) or self._out_size >= FLUSH_BYTES:
                await self.flush()

    async def _dispatch(self, message: m.FrontendMessage) -> None:
        if isinstance(message, m.Query):
            await self._simple_query(message.sql)
        elif isinstance(message, m.Parse):
            await self._parse(message)
        elif isinstance(message, m.Bind):
            await self._bind(message)
        elif isinstance(message, m.Describe):
            self._describe(message)
        elif isinstance(message, m.Execute):
            await self._execute(message)
        elif isinstance(message, m.Close):
            await self._close_object(message)
        elif isinstance(message, m.Sync):
            await self._sync()
        elif isinstance(message, m.Flush):
            await self.flush()
        elif isinstance(message, m.CopyData | m.CopyDone | m.CopyFail):
            pass  # outside COPY these are ignored, as PostgreSQL does
        elif isinstance(message, m.FunctionCall):
            raise errors.FeatureNotSupported("fastpath function calls are not supported")
        else:
            raise errors.ProtocolViolation(
                f"unexpected message {type(message).__name__} after startup"
            )

    # -- simple query -------------------------------------------------------------------------
    async def _simple_query(self, sql: str) -> None:
        db = self._db()
        # "53.2.3": a simple Query destroys the unnamed statement and portal.
        self.statements.pop("", None)
        self._drop_portal("")
        self._begin_query(sql)
        try:
            if len(sql) <= INLINE_PARSE_BYTES:
                statements = db.split(sql)  # microseconds: not worth a thread hop
            else:
                statements = await self._run(db.split, sql)
            if not statements:
                self.queue(m.empty_query_response())
            for statement in statements:
                portal = Portal(statement, [], [], simple=True)
                await self._stream(portal, 0, describe=True)
                self._notices(portal.result)
                self._parameter_changes()
                self._complete(portal)
            await self._commit_implicit()
        finally:
            self._end_query()
        self._ready()

    # -- extended query -----------------------------------------------------------------------
    async def _parse(self, message: m.Parse) -> None:
        if message.name and message.name in self.statements:
            raise errors.DuplicatePreparedStatement(
                f'prepared statement "{message.name}" already exists'
            )
        db = self._db()
        statement = await self._run(db.prepare, message.sql, message.param_oids)
        self.statements[message.name] = statement
        self.queue(m.parse_complete())

    async def _bind(self, message: m.Bind) -> None:
        statement = self.statements.get(message.statement)
        if statement is None:
            raise errors.InvalidSqlStatementName(
                f'prepared statement "{message.statement}" does not exist'
            )
        oids = statement.param_oids
        if len(message.params) != len(oids):
            raise errors.ProtocolError(
                f"bind message supplies {len(message.params)} parameters, but prepared "
                f'statement "{message.statement}" requires {len(oids)}'
            )
        formats = _expand(message.param_formats, len(oids), "parameter")
        values = [
            decode_param(value, oid, fmt == 1)
            for value, oid, fmt in zip(message.params, oids, formats, strict=True)
        ]
        if message.portal and message.portal in self.portals:
            raise errors.DuplicateCursor(f'cursor "{message.portal}" already exists')
        old = self.portals.pop(message.portal, None)
        if old is not None and old.result is not None:
            old.result.close()
        if statement.columns is not None:
            _expand(message.result_formats, len(statement.columns), "result")  # validate now
        self.portals[message.portal] = Portal(statement, values, list(message.result_formats))
        self.queue(m.bind_complete())

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
                columns = self._db().cursor_columns(message.name)
                formats = ()
            else:
                columns = portal.statement.columns
                formats = tuple(_expand(portal.formats, len(columns or ()), "result"))
        if columns is None:
            self.queue(m.no_data())
        else:
            self.queue(m.row_description(columns, formats))

    async def _execute(self, message: m.Execute) -> None:
        portal = self.portals.get(message.portal)
        if portal is None:
            raise errors.InvalidCursorName(f'portal "{message.portal}" does not exist')
        if portal.done:
            # Executing a finished portal again returns no rows (PostgreSQL does the same).
            self.queue(
                m.command_complete(_zero_rows(portal.tag))
                if portal.tag
                else m.empty_query_response()
            )
            return
        self._begin_query(portal.statement.sql)
        try:
            await self._stream(portal, message.max_rows)
            if portal.done:
                self._notices(portal.result)
                self._parameter_changes()
                if portal.result is not None and portal.result.deferred:
                    if self._held is None:
                        self._held = []
                    self._held_marks.append(len(self._held))
                self._complete(portal)
            else:
                self.queue(m.portal_suspended())
        except errors.ForgeError:
            self._drop_portal(message.portal)
            raise
        finally:
            self._end_query()

    async def _resolve(self) -> None:
        """Have the backend store the deferred rows, then let the held answers out; on
        failure, answer as PostgreSQL would have: the Executes before the failing one
        completed, the failing one gets the error, the rest of the pipeline is skipped."""
        try:
            await self._run(self._db().flush_pending)
        except errors.ForgeError as exc:
            if exc.deferred_row is None:
                raise
            self._fail_deferred(exc)
            return
        held, self._held, self._held_marks = self._held or [], None, []
        for piece in held:
            self.queue(piece)

    def _fail_deferred(self, exc: errors.ForgeError) -> None:
        held, marks = self._held or [], self._held_marks
        self._held, self._held_marks = None, []
        row = exc.deferred_row or 0
        cut = marks[row] if row < len(marks) else len(held)
        for piece in held[:cut]:
            self.queue(piece)
        self.queue(m.error_response(m.error_fields(exc)))
        self.state = State.AWAITING_SYNC

    async def _close_object(self, message: m.Close) -> None:
        if message.kind == "S":
            self.statements.pop(message.name, None)
        else:
            self._drop_portal(message.name)
        self.queue(m.close_complete())

    async def _sync(self) -> None:
        self.state = State.READY
        try:
            await self._commit_implicit()
        except errors.ForgeError as exc:
            self.queue(m.error_response(m.error_fields(exc)))
        self._ready()
        await self.flush()

    async def _commit_implicit(self) -> None:
        """End the implicit transaction of a Query or of a pipeline up to Sync."""
        db = self._db()
        if db.pending_commit:
            await self._run(db.sync)

    # -- results -------------------------------------------------------------------------------
    async def _stream(self, portal: Portal, max_rows: int, describe: bool = False) -> None:
        """Execute ``portal`` if not yet done and send its DataRows until the end or
        ``max_rows`` (0: all), with socket backpressure.

        Each worker job fetches and encodes one chunk; the next job runs while the event
        loop writes the previous chunk out. The first job also executes the statement, so
        a small result costs one thread hop. ``describe`` sends RowDescription first.
        """
        db = self._db()
        if portal.result is None and db.can_defer(portal.statement, portal.params):
            # A pipelined row gathered for a later bulk insert: no thread hop for it.
            portal.result = db.execute(portal.statement, portal.params)
            portal.done, portal.tag = True, portal.result.command_tag()
            return
        sent = 0
        first = portal.result is None
        job: asyncio.Future[Chunk] | None = self._chunk_job(db, portal, max_rows, sent)
        try:
            while job is not None:
                chunk = await job
                job = None
                result = portal.result
                assert result is not None
                if result.copy is not None:
                    from forge_sql.wire import copying

                    portal.tag = await copying.run(self, result, result.copy)
                    portal.done = True
                    result.close()
                    return
                if first and describe and result.columns is not None:
                    self.queue(m.row_description(result.columns, portal.formats))
                first = False
                sent += chunk.rows
                if not chunk.finished and not (0 < max_rows <= sent):
                    job = self._chunk_job(db, portal, max_rows, sent)
                for piece in chunk.data:
                    self.queue(piece)
                if self._out_size >= FLUSH_BYTES:
                    await self.flush()
                if chunk.finished:
                    portal.done = True
                    portal.tag = result.command_tag()
                    if portal.suspended and portal.tag.startswith("SELECT "):
                        # A resumed portal's tag counts the rows of this Execute only.
                        portal.tag = f"SELECT {sent}"
                    result.close()
                elif 0 < max_rows <= sent:
                    portal.suspended = True
        except BaseException:
            if job is not None:
                # The worker still uses the result: stop it and let it finish first.
                db.cancel()
                await asyncio.wait([job])
                if not job.cancelled():
                    job.exception()  # retrieved: the error being raised is the one to report
            if portal.result is not None:
                portal.result.close()
            raise

    def _chunk_job(
        self, db: BackendSession, portal: Portal, max_rows: int, sent: int
    ) -> asyncio.Future[Chunk]:
        budget = MAX_ROWS_PER_CHUNK if max_rows <= 0 else min(max_rows - sent, MAX_ROWS_PER_CHUNK)
        limit = self.server.settings.batch_bytes
        return asyncio.ensure_future(self.in_worker(_next_chunk, db, portal, budget, limit))

    def _drop_portal(self, name: str) -> None:
        portal = self.portals.pop(name, None)
        if portal is not None and portal.result is not None:
            portal.result.close()

    def _notices(self, result: Result | None) -> None:
        for code, text in result.notices if result is not None else ():
            # Class 00 is a NOTICE (a remark such as "... skipping"), the rest WARNINGs.
            severity = "NOTICE" if code.startswith("00") else "WARNING"
            self.queue(m.notice_response({"S": severity, "V": severity, "C": code, "M": text}))

    def _parameter_changes(self) -> None:
        """Report what the statement changed: settings (ParameterStatus), and prepared
        statements dropped by DEALLOCATE or DISCARD ALL."""
        if self.db is None:
            return
        for name in self.db.take_deallocations():
            if name == ALL_STATEMENTS:
                self.statements.clear()
            else:
                self.statements.pop(name, None)
        for name, value in self.db.take_parameter_changes().items():
            if name == "application_name":
                self.application_name = value
            self.queue(m.parameter_status(name, value))

    def _terminate_soon(self) -> None:
        """pg_terminate_backend from another session (any thread): close this one."""
        loop = self._loop
        if loop is not None:
            loop.call_soon_threadsafe(self._terminate)

    def _terminate(self) -> None:
        if self.state is State.CLOSED or self.writer.is_closing():
            return
        if self.db is not None:
            self.db.cancel()
        fields = m.error_fields(
            errors.AdminShutdown("terminating connection due to administrator command")
        )
        fields["S"] = fields["V"] = "FATAL"
        with contextlib.suppress(RuntimeError, ConnectionError):
            self.writer.write(m.error_response(fields))
        self.writer.close()

    def _ready(self) -> None:
        db = self._db()
        db.ready()
        status = db.transaction_status
        if status == "I":
            # Portals last until the end of their transaction ("53.2.3").
            for name in list(self.portals):
                self._drop_portal(name)
        self.queue(m.ready_for_query(status))
        self._waiting = True

    def _complete(self, portal: Portal) -> None:
        # An empty query string answers EmptyQueryResponse instead of CommandComplete.
        self.queue(m.command_complete(portal.tag) if portal.tag else m.empty_query_response())

    # -- plumbing ------------------------------------------------------------------------------
    def _db(self) -> BackendSession:
        if self.db is None:
            raise errors.ProtocolViolation("no session")
        return self.db

    def _begin_query(self, sql: str) -> None:
        self.query = sql
        self.query_start = asyncio.get_running_loop().time()

    def _end_query(self) -> None:
        self.query_start = 0.0

    def queue(self, data: bytes | pa.Buffer) -> None:
        if self._held is not None:
            self._held.append(data)
            return
        self._out.append(data)
        self._out_size += len(data)

    async def flush(self) -> None:
        if self._out:
            out, self._out, self._out_size = self._out, [], 0
            self.writer.writelines(out)
        await self.writer.drain()

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def in_worker(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` in a worker; cancel it if the client goes away meanwhile.

        A timer, not a second task, watches the connection: most statements finish before
        it first fires, and it costs nothing on the hot path.
        """
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self.executor, fn, *args)
        gone = False
        handle: asyncio.TimerHandle | None = None

        def watch() -> None:
            nonlocal gone, handle
            if future.done():
                return
            if self.writer.is_closing() or self.reader.at_eof():
                gone = True
                if self.db is not None:
                    self.db.cancel()
                return
            handle = loop.call_later(WATCH_SECONDS, watch)

        handle = loop.call_later(WATCH_SECONDS, watch)
        try:
            result = await future
        except BaseException:
            if gone:
                raise ConnectionClosed(clean=False) from None
            raise
        finally:
            if handle is not None:
                handle.cancel()
        if gone:
            raise ConnectionClosed(clean=False)
        return result


def _next_chunk(db: BackendSession, portal: Portal, budget: int, max_bytes: int) -> Chunk:
    """Execute ``portal`` if needed, then fetch and encode up to ``budget`` rows of it,
    stopping once ``max_bytes`` of output are encoded: a session holds at most about two
    chunks (one being written, the next being encoded), whatever the width of its rows.

    Runs in a worker thread: DuckDB and the Arrow encoders release the GIL.
    """
    if portal.result is None:
        portal.result = db.execute(portal.statement, portal.params)
        if portal.simple and portal.result.binary:
            portal.formats = [1]  # "53.2.2": FETCH from a BINARY cursor
    result = portal.result
    chunk = Chunk()
    if result.copy is not None:
        return chunk  # the COPY sub-protocol takes over (wire.copying)
    if result.columns is None:
        chunk.finished = True
        return chunk
    oids = [c.type_oid for c in result.columns]
    formats = _expand(portal.formats, len(oids), "result")
    size = 0
    while chunk.rows < budget and size < max_bytes:
        batch = portal.pending
        portal.pending = None
        if batch is None:
            batch = result.next_batch()
        if batch is None:
            chunk.finished = True
            break
        room = budget - chunk.rows
        if batch.num_rows > room:
            portal.pending = batch.slice(room)
            batch = batch.slice(0, room)
        if batch.num_rows:
            encoded = encode_in_parts(lambda part, _: encode_batch(part, oids, formats), batch)
            chunk.data.extend(encoded)
            size += sum(len(piece) for piece in encoded)
            chunk.rows += batch.num_rows
    if not chunk.finished and portal.pending is None and chunk.rows >= budget:
        # Peek whether more rows exist, so a result that fits exactly completes now.
        batch = result.next_batch()
        if batch is None:
            chunk.finished = True
        else:
            portal.pending = batch
    return chunk


def _expand(formats: Sequence[int], count: int, what: str) -> list[int]:
    """Bind's format codes: none means text, one applies to all, else one per column."""
    if not formats:
        return [0] * count
    if len(formats) == 1:
        return [formats[0]] * count
    if len(formats) != count:
        raise errors.ProtocolError(
            f"bind message has {len(formats)} {what} formats but {count} {what}s"
        )
    return list(formats)


def _zero_rows(tag: str) -> str:
    verb, _, rest = tag.rpartition(" ")
    return f"{verb} 0" if rest.isdigit() and verb else tag


def _options(text: str) -> dict[str, str]:
    """Settings from the startup ``options`` (``-c name=value`` / ``--name=value``)."""
    found: dict[str, str] = {}
    words = text.replace("\\ ", "\0").split()
    index = 0
    while index < len(words):
        word = words[index].replace("\0", " ")
        if word == "-c" and index + 1 < len(words):
            index += 1
            word = words[index].replace("\0", " ")
        elif word.startswith("-c") or word.startswith("--"):
            word = word[2:]
        name, sep, value = word.partition("=")
        if sep:
            found[name.replace("-", "_")] = value
        index += 1
    return found


__all__ = ["Column", "Session", "State"]
