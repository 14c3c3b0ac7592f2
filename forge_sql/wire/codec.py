"""Framing of protocol v3 byte streams into startup packets and typed messages.

"53.7 Message Formats": a startup packet is an int32 length then its body; every later
message is a type byte, an int32 length that counts itself, then the body.
"""

from __future__ import annotations

import asyncio
import struct
from collections import deque

from forge_sql.errors import ProtocolViolation

MAX_MESSAGE_SIZE = 64 * 1024 * 1024
MAX_STARTUP_SIZE = 10000  # PostgreSQL's MAX_STARTUP_PACKET_LENGTH
# PostgreSQL's PQ_SMALL_MESSAGE_LIMIT: messages that carry no SQL or data (Describe, Close,
# Execute, Sync, Flush, Terminate, CopyDone, CopyFail) are refused beyond it, whatever
# max_message_size says, so a forged length cannot make the server buffer them.
SMALL_MESSAGE_LIMIT = 10000
MAX_AUTH_TOKEN_SIZE = 65535  # PostgreSQL's PG_MAX_AUTH_TOKEN_LENGTH (password, SASL)
# Query, Parse, Bind, CopyData, FunctionCall: limited by max_message_size.
LARGE_MESSAGE_TYPES = frozenset(b"QPBdF")
# Bodies above this are read into one buffer of their size, chunk by chunk: a single
# readexactly would hold the message three times (its stream buffer, a slice, a copy).
_DIRECT_READ_BYTES = 1 << 20

_HEADER = struct.Struct("!BI")
_LENGTH = struct.Struct("!I")
_STARTUP = -1  # marks a pending startup header in MessageReader._pending


class ConnectionClosed(Exception):
    """The peer went away; ``clean`` when that happened between two messages."""

    def __init__(self, clean: bool) -> None:
        super().__init__("connection closed" if clean else "connection closed mid-message")
        self.clean = clean


def _check_length(length: int, minimum: int, max_size: int, what: str = "message") -> None:
    # Checked on the header alone, so a forged length never makes us buffer its body.
    if length < minimum:
        raise ProtocolViolation(f"invalid message length {length}")
    if length > max_size:
        raise ProtocolViolation(
            f"invalid message length {length}: the limit for {what} is {max_size} bytes"
        )


def message_limit(type_code: int, max_size: int) -> int:
    """The largest length accepted for a message of this type (PostgreSQL's SocketBackend
    gives each type its limit the same way)."""
    return max_size if type_code in LARGE_MESSAGE_TYPES else min(max_size, SMALL_MESSAGE_LIMIT)


def _describe_type(type_code: int) -> str:
    char = chr(type_code)
    return f"message type '{char}'" if char.isprintable() else f"message type 0x{type_code:02X}"


class MessageReader:
    """Incremental framer without I/O: ``feed`` bytes in, take whole messages out.

    Chunks are kept as given, so a message lying inside one chunk comes out as a
    memoryview of it without a copy; one spanning chunks is joined once, when complete.
    (A bytearray buffer would be pinned by the memoryviews we hand out and could not grow.)
    """

    def __init__(self, max_message_size: int = MAX_MESSAGE_SIZE) -> None:
        self.max_message_size = max_message_size
        self._chunks: deque[bytes] = deque()
        self._offset = 0  # read position in _chunks[0]
        self._buffered = 0  # unread bytes in all chunks
        self._pending: tuple[int, int] | None = None  # (type, body size) of a read header
        self._error: ProtocolViolation | None = None

    def feed(self, data: bytes) -> None:
        if data:
            self._chunks.append(data if type(data) is bytes else bytes(data))
            self._buffered += len(data)

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned (headers already parsed excluded)."""
        return self._buffered

    def next_startup(self) -> bytes | None:
        """The body of the next startup packet (after its length), or None until complete."""
        if self._error is not None:
            raise self._error
        if self._pending is None:
            if self._buffered < 4:
                return None
            (length,) = _LENGTH.unpack(self._take(4))
            self._guard(length, 8, MAX_STARTUP_SIZE, "the startup packet")
            self._pending = (_STARTUP, length - 4)
        body = self._take_pending()
        return None if body is None else body.tobytes()

    def next_message(self) -> tuple[int, memoryview] | None:
        """The next (type byte, body), or None until a whole message has arrived."""
        if self._error is not None:
            raise self._error
        if self._pending is None:
            if self._buffered < 5:
                return None
            type_code, length = _HEADER.unpack(self._take(5))
            limit = message_limit(type_code, self.max_message_size)
            self._guard(length, 4, limit, _describe_type(type_code))
            self._pending = (type_code, length - 4)
        type_code = self._pending[0]
        body = self._take_pending()
        return None if body is None else (type_code, body)

    def _guard(self, length: int, minimum: int, max_size: int, what: str = "message") -> None:
        try:
            _check_length(length, minimum, max_size, what)
        except ProtocolViolation as exc:
            self._error = exc  # the stream is out of step for good
            raise

    def _take_pending(self) -> memoryview | None:
        assert self._pending is not None
        size = self._pending[1]
        if self._buffered < size:
            return None
        self._pending = None
        return self._take(size)

    def _take(self, size: int) -> memoryview:
        self._buffered -= size
        if size == 0:
            return memoryview(b"")
        head = self._chunks[0]
        start = self._offset
        if len(head) - start >= size:
            self._advance(head, start + size)
            return memoryview(head)[start : start + size]
        parts: list[bytes | memoryview] = [memoryview(head)[start:]]
        needed = size - (len(head) - start)
        self._chunks.popleft()
        while needed:
            chunk = self._chunks[0]
            if len(chunk) <= needed:
                parts.append(chunk)
                self._chunks.popleft()
                needed -= len(chunk)
            else:
                parts.append(memoryview(chunk)[:needed])
                self._offset = needed
                break
        else:
            self._offset = 0
        return memoryview(b"".join(parts))

    def _advance(self, head: bytes, end: int) -> None:
        if end == len(head):
            self._chunks.popleft()
            self._offset = 0
        else:
            self._offset = end


async def _read_exactly(reader: asyncio.StreamReader, size: int, at_boundary: bool) -> bytes:
    try:
        return await reader.readexactly(size)
    except asyncio.IncompleteReadError as exc:
        raise ConnectionClosed(clean=at_boundary and not exc.partial) from None
    except ConnectionError as exc:  # reset by peer
        raise ConnectionClosed(clean=False) from exc


async def read_startup(reader: asyncio.StreamReader, max_size: int = MAX_STARTUP_SIZE) -> bytes:
    """Read one startup packet and return its body (SSLRequest, StartupMessage, ...)."""
    (length,) = _LENGTH.unpack(await _read_exactly(reader, 4, at_boundary=True))
    _check_length(length, 8, max_size, "the startup packet")
    return await _read_exactly(reader, length - 4, at_boundary=False)


def message_buffered(reader: asyncio.StreamReader) -> bool:
    """Whether a whole typed message already waits in ``reader``: reading it will not wait
    for the peer. (StreamReader keeps what it received in ``_buffer``.)"""
    buffer = getattr(reader, "_buffer", b"")
    if len(buffer) < 5:
        return False
    return len(buffer) >= 1 + int.from_bytes(buffer[1:5], "big")


async def read_message(
    reader: asyncio.StreamReader, max_size: int = MAX_MESSAGE_SIZE, *, typed: bool = True
) -> tuple[int, bytes | memoryview]:
    """Read one typed message: the header first, the body only once its length is checked
    against the limit of its type (``typed``; else ``max_size`` applies to every type)."""
    type_code, length = _HEADER.unpack(await _read_exactly(reader, 5, at_boundary=True))
    limit = message_limit(type_code, max_size) if typed else max_size
    _check_length(length, 4, limit, _describe_type(type_code))
    if length == 4:
        return type_code, b""
    if length - 4 > _DIRECT_READ_BYTES:
        return type_code, await _read_large(reader, length - 4)
    return type_code, await _read_exactly(reader, length - 4, at_boundary=False)


async def _read_large(reader: asyncio.StreamReader, size: int) -> memoryview:
    """``size`` bytes read into one buffer allocated once: the only full copy of them."""
    buffer = bytearray(size)
    view = memoryview(buffer)
    filled = 0
    try:
        while filled < size:
            chunk = await reader.read(min(size - filled, _DIRECT_READ_BYTES))
            if not chunk:
                raise ConnectionClosed(clean=False)
            view[filled : filled + len(chunk)] = chunk
            filled += len(chunk)
    except ConnectionError as exc:  # reset by peer
        raise ConnectionClosed(clean=False) from exc
    return view
