"""Framing: partial packets, many messages per read, oversize headers, EOF handling."""

from __future__ import annotations

import asyncio
import itertools
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from forge_sql.errors import ProtocolViolation
from forge_sql.wire.codec import (
    ConnectionClosed,
    MessageReader,
    read_message,
    read_startup,
)


def frame(code: str, body: bytes) -> bytes:
    return code.encode() + struct.pack("!I", len(body) + 4) + body


STARTUP_BODY = struct.pack("!I", 196608) + b"user\x00alice\x00\x00"
STARTUP = struct.pack("!I", len(STARTUP_BODY) + 4) + STARTUP_BODY
MESSAGES = [
    ("Q", b"SELECT 1\x00"),
    ("P", b"s\x00SELECT $1\x00\x00\x01\x00\x00\x00\x17"),
    ("S", b""),
    ("d", bytes(range(256)) * 40),
    ("H", b""),
    ("X", b""),
]
STREAM = b"".join(frame(code, body) for code, body in MESSAGES)


def drain(reader: MessageReader) -> list[tuple[str, bytes]]:
    out = []
    while (msg := reader.next_message()) is not None:
        out.append((chr(msg[0]), bytes(msg[1])))
    return out


def test_many_messages_in_one_feed() -> None:
    reader = MessageReader()
    reader.feed(STREAM)
    assert drain(reader) == MESSAGES
    assert reader.buffered == 0


def test_one_byte_at_a_time() -> None:
    reader = MessageReader()
    reader.feed(STARTUP)  # then the rest, byte by byte
    assert reader.next_startup() == STARTUP_BODY
    got = []
    for i in range(len(STREAM)):
        reader.feed(STREAM[i : i + 1])
        got += drain(reader)
    assert got == MESSAGES


@given(st.lists(st.integers(0, len(STARTUP) + len(STREAM)), max_size=30))
def test_random_splits(cuts: list[int]) -> None:
    data = STARTUP + STREAM
    bounds = [0, *sorted(cuts), len(data)]
    reader = MessageReader()
    startup = None
    got = []
    for start, end in itertools.pairwise(bounds):
        reader.feed(data[start:end])
        if startup is None:
            startup = reader.next_startup()
        if startup is not None:
            got += drain(reader)
    assert startup == STARTUP_BODY
    assert got == MESSAGES


def test_message_inside_one_chunk_is_not_copied() -> None:
    chunk = frame("Q", b"SELECT 1\x00") + frame("S", b"")
    reader = MessageReader()
    reader.feed(chunk)
    first = reader.next_message()
    assert first is not None and first[1].obj is chunk


def test_large_message_fed_in_small_pieces() -> None:
    body = b"x" * 200_000
    data = frame("d", body)
    reader = MessageReader()
    for i in range(0, len(data), 7):
        reader.feed(data[i : i + 7])
    assert drain(reader) == [("d", body)]


@pytest.mark.parametrize("length", [0, 3, 2**31, 2**32 - 1, 64 * 2**20 + 5])
def test_bad_length_rejected_from_the_header_alone(length: int) -> None:
    reader = MessageReader()
    reader.feed(b"Q" + struct.pack("!I", length))
    with pytest.raises(ProtocolViolation, match="length"):
        reader.next_message()
    reader.feed(b"more")
    with pytest.raises(ProtocolViolation):  # the stream stays out of step
        reader.next_message()


def test_custom_limit() -> None:
    reader = MessageReader(max_message_size=100)
    reader.feed(frame("d", b"x" * 96))
    assert drain(reader) == [("d", b"x" * 96)]
    reader.feed(frame("d", b"x" * 97)[:5])
    with pytest.raises(ProtocolViolation, match="limit for message type 'd' is 100 bytes"):
        reader.next_message()


@pytest.mark.parametrize("length", [0, 7, 10001, 2**31])
def test_bad_startup_length(length: int) -> None:
    reader = MessageReader()
    reader.feed(struct.pack("!I", length))
    with pytest.raises(ProtocolViolation):
        reader.next_startup()


def test_ssl_request_then_startup() -> None:
    reader = MessageReader()
    reader.feed(struct.pack("!II", 8, 80877103) + STARTUP[:3])
    assert reader.next_startup() == struct.pack("!I", 80877103)
    assert reader.next_startup() is None
    reader.feed(STARTUP[3:])
    assert reader.next_startup() == STARTUP_BODY


# --- asyncio helpers --------------------------------------------------------------------


def stream(data: bytes, eof: bool = True) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    if eof:
        reader.feed_eof()
    return reader


async def read_all(reader: asyncio.StreamReader) -> list[tuple[str, bytes]]:
    out: list[tuple[str, bytes]] = []
    while True:
        try:
            code, body = await read_message(reader)
        except ConnectionClosed as exc:
            assert exc.clean
            return out
        out.append((chr(code), body))


def test_read_message_until_clean_eof() -> None:
    async def main() -> None:
        reader = stream(STARTUP + STREAM)
        assert await read_startup(reader) == STARTUP_BODY
        assert await read_all(reader) == MESSAGES

    asyncio.run(main())


@pytest.mark.parametrize("cut", [1, 4, 5, 8])
def test_eof_mid_message_is_not_clean(cut: int) -> None:
    async def main() -> None:
        with pytest.raises(ConnectionClosed) as info:
            await read_message(stream(frame("Q", b"SELECT 1\x00")[:cut]))
        assert not info.value.clean

    asyncio.run(main())


def test_eof_mid_startup() -> None:
    async def main() -> None:
        with pytest.raises(ConnectionClosed) as info:
            await read_startup(stream(STARTUP[:6]))
        assert not info.value.clean
        with pytest.raises(ConnectionClosed) as info:
            await read_startup(stream(b""))
        assert info.value.clean

    asyncio.run(main())


def test_oversize_header_reads_no_further() -> None:
    async def main() -> None:
        reader = stream(b"Q" + struct.pack("!I", 2**31) + b"rest", eof=False)
        with pytest.raises(ProtocolViolation):
            await read_message(reader)
        assert await reader.read(100) == b"rest"  # the body was never awaited
        with pytest.raises(ProtocolViolation):
            await read_message(stream(b"Q\x00\x00\x00\x03"))
        with pytest.raises(ProtocolViolation):
            await read_startup(stream(struct.pack("!I", 20000)))

    asyncio.run(main())
