"""Test-side frontend: message bytes as a client sends them, backend messages parsed back.

Layouts follow the PostgreSQL docs "53.7 Message Formats". :func:`run` starts a real
:class:`Server` over a :class:`FakeBackend` on port 0 and runs one scenario against it.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, NamedTuple

from fake_backend import FakeBackend

from forge_sql.wire.server import Server

PROTOCOL_3_0 = 196608
PROTOCOL_3_2 = 196610
READ_TIMEOUT = 3.0  # a reply that takes longer is a hang, not a slow machine
SCENARIO_TIMEOUT = 15.0


# --- frontend messages --------------------------------------------------------------------


def _cstr(text: str) -> bytes:
    return text.encode() + b"\x00"


def message(type_code: bytes, body: bytes = b"") -> bytes:
    return type_code + struct.pack("!I", len(body) + 4) + body


def startup(user: str | None = "alice", protocol: int = PROTOCOL_3_0, **params: str) -> bytes:
    fields = {"user": user, **params} if user is not None else params
    body = struct.pack("!I", protocol)
    body += b"".join(_cstr(name) + _cstr(value) for name, value in fields.items()) + b"\x00"
    return struct.pack("!I", len(body) + 4) + body


def ssl_request() -> bytes:
    return struct.pack("!II", 8, 80877103)


def gssenc_request() -> bytes:
    return struct.pack("!II", 8, 80877104)


def cancel_request(process_id: int, secret_key: bytes) -> bytes:
    body = struct.pack("!Ii", 80877102, process_id) + secret_key
    return struct.pack("!I", len(body) + 4) + body


def query(sql: str) -> bytes:
    return message(b"Q", _cstr(sql))


def parse(sql: str, name: str = "", oids: tuple[int, ...] = ()) -> bytes:
    body = _cstr(name) + _cstr(sql) + struct.pack(f"!H{len(oids)}I", len(oids), *oids)
    return message(b"P", body)


def bind(
    portal: str = "",
    statement: str = "",
    params: tuple[bytes | None, ...] = (),
    param_formats: tuple[int, ...] = (),
    result_formats: tuple[int, ...] = (),
) -> bytes:
    body = _cstr(portal) + _cstr(statement)
    body += struct.pack(f"!H{len(param_formats)}h", len(param_formats), *param_formats)
    body += struct.pack("!H", len(params))
    for value in params:
        body += struct.pack("!i", -1) if value is None else struct.pack("!i", len(value)) + value
    body += struct.pack(f"!H{len(result_formats)}h", len(result_formats), *result_formats)
    return message(b"B", body)


def describe(kind: str, name: str = "") -> bytes:
    return message(b"D", kind.encode() + _cstr(name))


def execute(portal: str = "", max_rows: int = 0) -> bytes:
    return message(b"E", _cstr(portal) + struct.pack("!i", max_rows))


def close(kind: str, name: str = "") -> bytes:
    return message(b"C", kind.encode() + _cstr(name))


def sync() -> bytes:
    return message(b"S")


def flush() -> bytes:
    return message(b"H")


def terminate() -> bytes:
    return message(b"X")


def function_call(oid: int = 1598) -> bytes:
    """FunctionCall with no arguments and a text result (here: random())."""
    return message(b"F", struct.pack("!IHHH", oid, 0, 0, 0))


# --- backend messages ---------------------------------------------------------------------


class Message(NamedTuple):
    """One backend message: its type character and its decoded fields."""

    type: str
    fields: Any = None


def _cstrings(body: bytes) -> list[str]:
    assert body.endswith(b"\x00"), body
    return [part.decode() for part in body[:-1].split(b"\x00")]


def decode(type_code: str, body: bytes) -> Message:
    fields: Any = None
    if type_code == "R":
        fields = struct.unpack_from("!i", body)[0]
    elif type_code == "S":
        name, value = _cstrings(body)
        fields = (name, value)
    elif type_code == "K":
        fields = (struct.unpack_from("!i", body)[0], body[4:])
    elif type_code == "Z":
        fields = body.decode()
    elif type_code in "EN":
        assert body.endswith(b"\x00\x00") or body == b"\x00", body
        fields = {part[:1]: part[1:] for part in _cstrings(body[:-1])} if body != b"\x00" else {}
    elif type_code == "C":
        (fields,) = _cstrings(body)
    elif type_code == "T":
        fields = _row_description(body)
    elif type_code == "D":
        fields = _data_row(body)
    elif type_code == "t":
        count = struct.unpack_from("!H", body)[0]
        fields = struct.unpack_from(f"!{count}I", body, 2)
        assert len(body) == 2 + 4 * count
    elif type_code == "v":
        minor, count = struct.unpack_from("!ii", body)
        options = _cstrings(body[8:]) if count else []
        assert len(options) == count
        fields = (minor & 0xFFFF, options)
    else:
        assert type_code in "123nsI", f"unexpected backend message {type_code!r}"
        assert body == b"", body
    return Message(type_code, fields)


def _row_description(body: bytes) -> list[tuple[str, int, int]]:
    count = struct.unpack_from("!h", body)[0]
    pos, columns = 2, []
    for _ in range(count):
        end = body.index(b"\x00", pos)
        name = body[pos:end].decode()
        _table, _number, oid, _size, _mod, fmt = struct.unpack_from("!IhIhih", body, end + 1)
        columns.append((name, oid, fmt))
        pos = end + 1 + 18
    assert pos == len(body)
    return columns


def _data_row(body: bytes) -> tuple[bytes | None, ...]:
    count = struct.unpack_from("!h", body)[0]
    pos, values = 2, []
    for _ in range(count):
        size = struct.unpack_from("!i", body, pos)[0]
        pos += 4
        values.append(None if size == -1 else body[pos : pos + size])
        pos += max(size, 0)
    assert pos == len(body)
    return tuple(values)


def kinds(messages: list[Message]) -> str:
    """The message types in order, e.g. ``"12DDCZ"``."""
    return "".join(msg.type for msg in messages)


def statuses(messages: list[Message]) -> str:
    """The transaction status of every ReadyForQuery, in order."""
    return "".join(msg.fields for msg in messages if msg.type == "Z")


def codes(messages: list[Message]) -> list[str]:
    """The SQLSTATE of every ErrorResponse, in order."""
    return [msg.fields["C"] for msg in messages if msg.type == "E"]


def rows(messages: list[Message]) -> list[tuple[bytes | None, ...]]:
    return [msg.fields for msg in messages if msg.type == "D"]


# --- client and server --------------------------------------------------------------------


class Client:
    """One connection; every read is bounded by ``timeout`` seconds."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.process_id = 0
        self.secret_key = b""
        self.timeout = READ_TIMEOUT
        self._buffer = bytearray()

    def send(self, *messages: bytes) -> None:
        self.writer.write(b"".join(messages))

    async def recv(self) -> Message | None:
        """The next message, or None if the server closed the connection between messages."""
        if not await self._fill(5):
            assert not self._buffer, f"connection closed inside a header: {bytes(self._buffer)!r}"
            return None
        type_code, length = struct.unpack_from("!cI", self._buffer)
        assert length >= 4, length
        assert await self._fill(1 + length), "connection closed inside a message"
        body = bytes(self._buffer[5 : 1 + length])
        del self._buffer[: 1 + length]
        return decode(type_code.decode(), body)

    async def _fill(self, size: int) -> bool:
        """Buffer at least ``size`` bytes; False if the connection ended first."""
        while len(self._buffer) < size:
            try:
                data = await asyncio.wait_for(self.reader.read(1 << 16), self.timeout)
            except ConnectionResetError:
                data = b""
            if not data:
                return False
            self._buffer += data
        return True

    async def byte(self) -> bytes:
        """One raw byte: the answer to SSLRequest / GSSENCRequest."""
        assert await self._fill(1), "connection closed"
        answer = bytes(self._buffer[:1])
        del self._buffer[:1]
        return answer

    async def until_ready(self, count: int = 1) -> list[Message]:
        """Messages up to and including the ``count``-th ReadyForQuery."""
        out: list[Message] = []
        while count:
            msg = await self.recv()
            assert msg is not None, f"connection closed after {kinds(out)!r}"
            out.append(msg)
            count -= msg.type == "Z"
        return out

    async def take(self, count: int) -> list[Message]:
        """Exactly ``count`` messages (they must arrive without a Sync)."""
        out = []
        for _ in range(count):
            msg = await self.recv()
            assert msg is not None, f"connection closed after {kinds(out)!r}"
            out.append(msg)
        return out

    async def until_closed(self) -> list[Message]:
        """Every message until the server closes the connection."""
        out = []
        while (msg := await self.recv()) is not None:
            out.append(msg)
        return out

    async def login(self, **params: str) -> list[Message]:
        self.send(startup(**params))
        out = await self.until_ready()
        key = [msg.fields for msg in out if msg.type == "K"]
        if key:
            self.process_id, self.secret_key = key[0]
        return out

    async def simple(self, sql: str) -> list[Message]:
        self.send(query(sql))
        return await self.until_ready()


@dataclass
class Harness:
    server: Server
    port: int
    backend: FakeBackend
    clients: list[Client] = field(default_factory=list)

    async def connect(self) -> Client:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        client = Client(reader, writer)
        self.clients.append(client)
        return client

    async def session(self, **params: str) -> Client:
        """A connection that finished startup and is ready for queries."""
        client = await self.connect()
        out = await client.login(**params)
        assert kinds(out)[-2:] == "KZ", out
        return client


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


Scenario = Callable[[Harness], Awaitable[None]]


def run(
    scenario: Scenario,
    *,
    backend: FakeBackend | None = None,
    max_connections: int = 8,
    max_message_size: int = 1 << 20,
    superuser_reserved_connections: int = 0,
    batch_bytes: int = 8 << 20,
    allow_errors_logged: bool = False,
) -> Harness:
    """Run ``scenario`` against a fresh server; fail if the server logged an error."""
    settings = SimpleNamespace(
        max_connections=max_connections,
        superuser_reserved_connections=superuser_reserved_connections,
        authentication_timeout=60.0,
        max_message_size=max_message_size,
        batch_bytes=batch_bytes,
        tls_required=False,
    )
    harness: list[Harness] = []

    async def main() -> None:
        server = Server(backend or FakeBackend(), settings)
        _host, port = await server.start("127.0.0.1", 0)
        harness.append(Harness(server, port, server.backend))  # type: ignore[arg-type]
        try:
            await asyncio.wait_for(scenario(harness[0]), SCENARIO_TIMEOUT)
        finally:
            for client in harness[0].clients:
                client.writer.close()
            await server.close()

    handler = _Errors()
    logger = logging.getLogger("forge_sql")
    logger.addHandler(handler)
    try:
        asyncio.run(main())
    finally:
        logger.removeHandler(handler)
    if not allow_errors_logged:
        assert not handler.records, [r.getMessage() for r in handler.records]
    return harness[0]
