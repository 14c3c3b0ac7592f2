"""The asyncio TCP server: accepts connections, runs a Connection each, routes CancelRequests."""

from __future__ import annotations

import asyncio
import hmac
import itertools
import logging
import os
import socket
import ssl
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

from forge_sql import errors
from forge_sql.seam.backend import Backend
from forge_sql.wire.auth import ScramVerifier
from forge_sql.wire.connection import Connection
from forge_sql.wire.host import Client, ServerSettings

log = logging.getLogger(__name__)


class Server:
    """Listens, admits up to ``max_connections`` sessions, and cancels by (pid, key)."""

    def __init__(
        self,
        backend: Backend,
        settings: ServerSettings,
        users: Mapping[str, ScramVerifier] | None = None,
        tls: ssl.SSLContext | None = None,
        passwords: Callable[[str], ScramVerifier | None] | None = None,
    ) -> None:
        """``passwords``: the verifier a user logs in with, looked up at each login (roles
        created while the server runs); without it, ``users``. Neither: trust."""
        self.backend = backend
        self.tls = tls  # None: SSLRequest is answered N
        self.settings = settings
        self.users = dict(users or {})
        self.passwords = passwords
        # Statements run in worker threads (DuckDB releases the GIL): one per session at a
        # time, plus headroom for closing sessions.
        self.executor = ThreadPoolExecutor(
            max_workers=settings.max_connections + 8, thread_name_prefix="forge-sql"
        )
        self.sessions: dict[int, Client] = {}
        self._pids = itertools.count(os.getpid() * 1000 % 2_000_000_000 + 1)
        self._servers: list[asyncio.Server] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, host: str, port: int) -> tuple[str, int]:
        server = await asyncio.start_server(
            self._accept, host, port, limit=1 << 20, reuse_address=True
        )
        self._servers = [server]
        sockname = server.sockets[0].getsockname()
        return str(sockname[0]), int(sockname[1])

    async def start_on(self, sockets: list[socket.socket]) -> tuple[str, int]:
        """Serve on sockets bound and listening already (by the supervisor,
        forge_sql.postmaster); the first one's address."""
        self._servers = [
            await asyncio.start_server(self._accept, sock=sock, limit=1 << 20)
            for sock in sockets
        ]
        sockname = sockets[0].getsockname()
        return str(sockname[0]), int(sockname[1])

    async def serve_forever(self) -> None:
        assert self._servers
        await asyncio.gather(*(server.serve_forever() for server in self._servers))

    async def close(self) -> None:
        for server in self._servers:
            server.close()
        for session in list(self.sessions.values()):
            session.abort()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        self.executor.shutdown(wait=False, cancel_futures=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        session = Connection(reader, writer, self)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await session.run()
        finally:
            if task is not None:
                self._tasks.discard(task)

    def register(self, client: Client, superuser: bool) -> int:
        """Admit an authenticated session and give it its process id.

        As in PostgreSQL, the last ``superuser_reserved_connections`` slots are for
        superusers, so they can still connect (and terminate sessions) when clients have
        taken all the others.
        """
        in_use = len(self.sessions)
        limit = self.settings.max_connections
        if in_use >= limit:
            raise errors.TooManyConnections("sorry, too many clients already")
        if not superuser and in_use >= limit - self.settings.superuser_reserved_connections:
            raise errors.TooManyConnections(
                "remaining connection slots are reserved for roles with the SUPERUSER attribute"
            )
        pid = next(self._pids)
        self.sessions[pid] = client
        return pid

    def unregister(self, client: Client) -> None:
        if self.sessions.get(client.process_id) is client:
            del self.sessions[client.process_id]

    def cancel(self, process_id: int, secret_key: bytes) -> None:
        """CancelRequest: interrupt the session's running statement if the key matches."""
        session = self.sessions.get(process_id)
        if session is None or not hmac.compare_digest(session.secret_key, secret_key):
            log.info("ignored cancel request for process %s", process_id)
            return
        session.cancel()


__all__ = ["Server", "ServerSettings"]
