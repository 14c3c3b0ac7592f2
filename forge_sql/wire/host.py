"""What a connection needs of the server that accepted it, and what the server needs of
a connection: the server (forge_sql.wire.server) and its connections meet here only."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from typing import Protocol

from forge_sql.seam.backend import Backend
from forge_sql.wire.auth import ScramVerifier


class ServerSettings(Protocol):
    max_connections: int
    superuser_reserved_connections: int
    authentication_timeout: float
    max_message_size: int
    batch_bytes: int
    tls_required: bool


class Client(Protocol):
    """An authenticated connection, as the server keeps it for cancel and shutdown."""

    process_id: int
    secret_key: bytes

    def cancel(self) -> None:
        """Interrupt the running statement (CancelRequest). Any thread."""

    def abort(self) -> None:
        """The server stops: interrupt the statement and close the connection."""


class Host(Protocol):
    """The listening server, as its connections use it."""

    @property
    def backend(self) -> Backend: ...

    @property
    def executor(self) -> Executor:
        """Where statements run (DuckDB releases the GIL)."""

    @property
    def settings(self) -> ServerSettings: ...

    @property
    def tls(self) -> ssl.SSLContext | None:
        """None: SSLRequest is answered N."""

    @property
    def users(self) -> Mapping[str, ScramVerifier]: ...

    @property
    def passwords(self) -> Callable[[str], ScramVerifier | None] | None: ...

    def register(self, client: Client, superuser: bool) -> int:
        """Admit an authenticated client; its process id. Raises TooManyConnections."""

    def unregister(self, client: Client) -> None: ...

    def cancel(self, process_id: int, secret_key: bytes) -> None:
        """A CancelRequest arrived on a connection of its own."""
