"""The start of a connection ("55.2.1 Start-up"): SSL negotiation, the StartupMessage and
its options, and SCRAM-SHA-256 authentication ("55.3 SASL Authentication")."""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass

from forge_sql import errors
from forge_sql.wire import messages as m
from forge_sql.wire.auth import ScramExchange, ScramVerifier, parse_sasl_initial_response
from forge_sql.wire.codec import MAX_AUTH_TOKEN_SIZE, ConnectionClosed, read_message, read_startup
from forge_sql.wire.host import Host
from forge_sql.wire.tls import is_loopback_peer

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Login:
    """Who the StartupMessage says the client is, and what it asks for."""

    user: str
    database: str
    parameters: dict[str, str]  # the rest, with the ``options`` settings merged in


class Startup:
    """Reads the startup packets of one connection and authenticates its user."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: Host
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.host = host
        self.tls = False
        self.out: list[bytes] = []  # messages for the next write

    async def send(self) -> None:
        out, self.out = self.out, []
        self.writer.writelines(out)
        await self.writer.drain()

    async def packet(self) -> m.StartupMessage | None:
        """The StartupMessage, after SSL negotiation; None after a CancelRequest."""
        while True:
            packet = m.decode_startup(await read_startup(self.reader))
            if isinstance(packet, m.SSLRequest) and self.host.tls is not None and not self.tls:
                await self._start_tls(self.host.tls)
                continue
            if isinstance(packet, m.SSLRequest | m.GSSENCRequest):
                self.writer.write(m.ssl_refused())
                await self.writer.drain()
                continue
            if isinstance(packet, m.CancelRequest):
                self.host.cancel(packet.process_id, packet.secret_key)
                return None
            return packet

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
            peer = self.writer.get_extra_info("peername")
            log.info("TLS handshake with %s failed: %s", peer, exc)
            raise ConnectionClosed(clean=False) from exc
        self.tls = True

    def login(self, packet: m.StartupMessage) -> Login:
        if self.host.settings.tls_required and not self.tls and not is_loopback_peer(
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
            self.out.append(m.negotiate_protocol_version(0, unsupported))
        user = parameters.pop("user", "")
        if not user:
            raise errors.InvalidAuthorization("no PostgreSQL user name specified in startup packet")
        database = parameters.pop("database", "") or user
        parameters.update(startup_options(parameters.pop("options", "")))
        return Login(user, database, parameters)

    async def authenticate(self, user: str) -> None:
        """SCRAM-SHA-256 when the server has users; AuthenticationOk is queued last."""
        host = self.host
        if host.passwords is None and not host.users:
            self.out.append(m.authentication_ok())
            return
        verifier: ScramVerifier | None
        if host.passwords is not None:
            loop = asyncio.get_running_loop()  # the lookup may read the lake's catalog
            verifier = await loop.run_in_executor(host.executor, host.passwords, user)
        else:
            verifier = host.users.get(user)
        exchange = ScramExchange(user, verifier)
        self.out.append(m.authentication_sasl(["SCRAM-SHA-256"]))
        await self.send()
        mechanism, data = parse_sasl_initial_response(await self._password_message())
        if mechanism != "SCRAM-SHA-256":
            raise errors.ProtocolViolation(f'SASL mechanism "{mechanism}" is not supported')
        if data is None:
            raise errors.ProtocolViolation("SASLInitialResponse without data")
        self.out.append(m.authentication_sasl_continue(exchange.handle_initial(data)))
        await self.send()
        final = exchange.handle_final(await self._password_message())
        self.out.append(m.authentication_sasl_final(final))
        self.out.append(m.authentication_ok())

    async def _password_message(self) -> bytes:
        type_code, body = await read_message(self.reader, MAX_AUTH_TOKEN_SIZE, typed=False)
        message = m.decode_frontend(type_code, body)
        if not isinstance(message, m.PasswordMessage):
            raise errors.ProtocolViolation(
                f"expected SASL response, got message type {chr(type_code)!r}"
            )
        return bytes(message.data)


def startup_options(text: str) -> dict[str, str]:
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
