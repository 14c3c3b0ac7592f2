"""One client connection on the event loop: reads messages, hands everything received up
to a Sync to the query protocol in one worker-thread job, writes the answer at once.

The connection also keeps what needs the event loop: the idle timeouts, cancel and
terminate, the watch that cancels a statement whose client went away, and COPY's reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

import pyarrow as pa

from forge_sql import errors
from forge_sql.seam.backend import BackendSession, StartupInfo
from forge_sql.sql.quoting import redact_passwords
from forge_sql.wire import copying
from forge_sql.wire import messages as m
from forge_sql.wire.codec import ConnectionClosed, message_buffered, read_message
from forge_sql.wire.host import Host
from forge_sql.wire.idle import idle_timeout
from forge_sql.wire.protocol import Pause, QueryProtocol
from forge_sql.wire.startup import Startup
from forge_sql.wire.worker import Worker

log = logging.getLogger(__name__)
T = TypeVar("T")

WATCH_SECONDS = 0.2  # how often a running statement checks that its client is still there


class Connection:
    """Drives one client connection from StartupMessage to Terminate."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: Host
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.host = host
        self.process_id = 0
        self.secret_key = secrets.token_bytes(4)
        self.remote = str(writer.get_extra_info("peername") or "")
        self.db: BackendSession | None = None
        self.protocol: QueryProtocol | None = None
        self._out: list[bytes | pa.Buffer] = []
        self._max_size = host.settings.max_message_size
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._worker: Worker | None = None  # the thread statements run on, once started
        self._job: asyncio.Future[Any] | None = None  # the worker job running now
        self._watch: asyncio.TimerHandle | None = None  # checks the client during a job
        self._gone = False  # the watch found the client gone

    # -- lifecycle ----------------------------------------------------------------------
    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        try:
            # PostgreSQL's authentication_timeout: a silent client cannot hold a connection.
            timeout = self.host.settings.authentication_timeout
            protocol = await asyncio.wait_for(self._start(), timeout)
            if protocol is not None:
                await self._serve(protocol)
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

    async def _start(self) -> QueryProtocol | None:
        """Negotiate, authenticate and open the backend session; None if the peer left."""
        startup = Startup(self.reader, self.writer, self.host)
        packet = await startup.packet()
        if packet is None:
            return None
        login = startup.login(packet)
        await startup.authenticate(login.user)
        backend = self.host.backend
        superuser = await self._run(backend.is_superuser, login.user)
        self.process_id = self.host.register(self, superuser)
        info = StartupInfo(
            login.user, login.database, login.parameters, self.process_id, self.remote,
            self._terminate_soon,
        )
        self.db = db = await self._run(backend.open_session, info)
        out = startup.out
        for name, value in backend.server_parameters().items():
            out.append(m.parameter_status(name, value))
        out.append(m.parameter_status(
            "application_name", login.parameters.get("application_name", "")
        ))
        out.append(m.parameter_status("session_authorization", login.user))
        for name, value in db.take_parameter_changes().items():
            out.append(m.parameter_status(name, value))
        out.append(m.backend_key_data(self.process_id, self.secret_key))
        out.append(m.ready_for_query(db.transaction_status))
        await startup.send()
        self.protocol = QueryProtocol(db, self.host.settings.batch_bytes)
        return self.protocol

    async def _send_fatal(self, exc: errors.ForgeError) -> None:
        fields = m.error_fields(exc)
        fields["S"] = fields["V"] = "FATAL"
        self._out.clear()
        self.queue(m.error_response(fields))
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.flush()

    async def _close(self) -> None:
        self._closed = True
        self.host.unregister(self)
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        if self._worker is not None:
            self._worker.stop()
        if self.protocol is not None:
            self.protocol.close()
        if self.db is not None:
            db, self.db = self.db, None
            db.cancel()
            try:
                await self._run(db.close)
            except Exception:
                log.exception("error closing session %s", self.process_id)
        with contextlib.suppress(RuntimeError):
            self.writer.close()

    # -- messages -----------------------------------------------------------------------
    async def _serve(self, protocol: QueryProtocol) -> None:
        debug = log.isEnabledFor(logging.DEBUG)
        while True:
            message = await self._read_next(protocol.waiting)
            while True:
                if debug:
                    log.debug("session %s <- %s", self.process_id, redact_passwords(repr(message)))
                if isinstance(message, m.Terminate):
                    if protocol.inbox:
                        await self._handle(protocol)
                    return
                protocol.receive(message)
                if not message_buffered(self.reader):
                    break
                message = await self._receive()  # already here: returns at once
            if not protocol.run_arriving():
                await self._handle(protocol)

    async def _read_next(self, idle: bool) -> m.FrontendMessage:
        """The next message; the idle timeouts apply after ReadyForQuery, as in PostgreSQL."""
        limit = idle_timeout(self.db) if idle and self.db is not None else None
        if limit is None:
            return await self._receive()
        seconds, error = limit
        try:
            type_code, body = await asyncio.wait_for(
                read_message(self.reader, self._max_size), seconds
            )
        except TimeoutError:
            log.info("session %s closed: %s", self.process_id, error.message)
            raise error from None
        return m.decode_frontend(type_code, body)

    async def _handle(self, protocol: QueryProtocol) -> None:
        """Let the protocol handle what was received, one worker job at a time; while the
        event loop writes a job's output, the next job encodes the next rows."""
        # Awaited directly, not as a task: most exchanges are one job, and a task costs.
        pause = await self.in_worker(protocol.step)
        job: asyncio.Future[Pause] | None = None
        try:
            while True:
                out = protocol.take_output()
                if pause is Pause.OUTPUT:
                    job = asyncio.ensure_future(self.in_worker(protocol.step))
                for piece in out:
                    self.queue(piece)
                await self.flush()
                if pause is Pause.COPY:
                    await self._copy(protocol)
                    pause = await self.in_worker(protocol.step)
                    continue
                if job is None:
                    return
                current, job = job, None
                pause = await current
        except BaseException:
            if job is not None:
                # The worker still uses the session: stop it and let it finish first.
                self.cancel()
                await asyncio.wait([job])
                if not job.cancelled():
                    job.exception()  # retrieved: the error being raised is the one to report
            raise

    async def _copy(self, protocol: QueryProtocol) -> None:
        result = protocol.copy
        assert result is not None and result.copy is not None
        try:
            tag = await copying.run(self, result, result.copy)
        except errors.FatalError:
            raise
        except errors.ForgeError as exc:
            protocol.copy_failed(exc)
        else:
            protocol.copy_finished(tag)

    # -- what COPY uses (copying.Channel) -----------------------------------------------
    def queue(self, data: bytes | pa.Buffer) -> None:
        self._out.append(data)

    async def flush(self) -> None:
        if self._out:
            out, self._out = self._out, []
            self.writer.writelines(out)
        await self.writer.drain()

    async def read(self) -> m.FrontendMessage:
        """The client's next message: those received but not handled come first."""
        if self.protocol is not None and self.protocol.inbox:
            return self.protocol.inbox.popleft()
        return await self._receive()

    async def _receive(self) -> m.FrontendMessage:
        # No name keeps the body: a large Query's bytes are freed once decoded.
        return m.decode_frontend(*await read_message(self.reader, self._max_size))

    async def in_worker(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` on the connection's worker thread; cancel it if the client goes away
        meanwhile.

        One timer, not a task per job, watches the connection while a job runs: most jobs
        end before it fires, and it is armed again only while jobs keep running.
        """
        worker = self._worker
        if worker is None:
            loop = asyncio.get_running_loop()
            worker = self._worker = Worker(loop, f"forge-sql-{self.process_id}")
        future = worker.submit(fn, *args)
        self._job = future
        if self._watch is None:
            assert self._loop is not None
            self._watch = self._loop.call_later(WATCH_SECONDS, self._check_client)
        try:
            result = await future
        except BaseException:
            if self._gone:
                raise ConnectionClosed(clean=False) from None
            raise
        finally:
            if self._job is future:
                self._job = None
        if self._gone:
            raise ConnectionClosed(clean=False)
        return result

    def _check_client(self) -> None:
        """The watch: a job has run for a while; cancel it if the client went away."""
        self._watch = None
        job = self._job
        if job is None or job.done() or self._closed:
            return
        if self.writer.is_closing() or self.reader.at_eof():
            self._gone = True
            self.cancel()
            return
        assert self._loop is not None
        self._watch = self._loop.call_later(WATCH_SECONDS, self._check_client)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.host.executor, fn, *args)

    # -- from other sessions and the server ---------------------------------------------
    def cancel(self) -> None:
        if self.db is not None:
            self.db.cancel()

    def abort(self) -> None:
        self.cancel()
        self.writer.close()

    def _terminate_soon(self) -> None:
        """pg_terminate_backend from another session (any thread): close this one."""
        loop = self._loop
        if loop is not None:
            loop.call_soon_threadsafe(self._terminate)

    def _terminate(self) -> None:
        if self._closed or self.writer.is_closing():
            return
        self.cancel()
        fields = m.error_fields(
            errors.AdminShutdown("terminating connection due to administrator command")
        )
        fields["S"] = fields["V"] = "FATAL"
        with contextlib.suppress(RuntimeError, ConnectionError):
            self.writer.write(m.error_response(fields))
        self.writer.close()
