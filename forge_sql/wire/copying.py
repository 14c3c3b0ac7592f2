"""The COPY sub-protocol ("55.2.6 COPY Operations"): CopyOut and CopyIn flows of a session.

COPY data is decoded into and encoded from Arrow batches by ``wire.copy``; rows are never
handled one by one, and neither direction holds more than a few megabytes at a time.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

import pyarrow as pa

from forge_sql import errors
from forge_sql.seam.backend import CopyFormat, CopyIn, CopyOut, Result
from forge_sql.wire import messages as m
from forge_sql.wire.codec import ConnectionClosed
from forge_sql.wire.copy.decoder import CopyDecoder
from forge_sql.wire.copy.encoder import copy_header, copy_trailer, encode_copy
from forge_sql.wire.encode.parts import encode_in_parts

_COPY_DATA = struct.Struct("!cI")
# COPY data gathered on the event loop before a worker decodes it: one decoder batch, so
# each job decodes and stores once while the event loop reads the next batch's data.
HANDOFF_BYTES = 8 << 20
T = TypeVar("T")


class Channel(Protocol):
    """The connection a COPY runs over."""

    def queue(self, data: bytes | pa.Buffer) -> None: ...

    async def flush(self) -> None: ...

    async def read(self) -> m.FrontendMessage:
        """The client's next message."""

    async def in_worker(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a worker thread; the connection is watched meanwhile."""

    def cancel(self) -> None:
        """Interrupt what the backend session runs."""


async def run(session: Channel, result: Result, copy: CopyIn | CopyOut) -> str:
    """Drive the COPY of ``result``; return its CommandComplete tag."""
    if isinstance(copy, CopyOut):
        return await _copy_out(session, result, copy)
    return await _copy_in(session, result, copy)


def _copy_data(session: Channel, data: bytes | pa.Buffer) -> None:
    if len(data):
        session.queue(_COPY_DATA.pack(b"d", len(data) + 4))
        session.queue(data)


async def _copy_out(session: Channel, result: Result, copy: CopyOut) -> str:
    """CopyOutResponse, one CopyData per row as PostgreSQL sends them, CopyDone.

    A worker encodes the next batch while the event loop sends the previous one.
    """
    columns = result.columns or ()
    oids = [c.type_oid for c in columns]
    fmt = copy.format
    session.queue(m.copy_out_response(fmt.binary, len(columns)))
    header = copy_header(fmt, [c.name for c in columns])
    # The binary file header travels inside the first tuple's message; a HEADER line is a
    # message of its own.
    first = header if fmt.binary else b""
    if not fmt.binary:
        _copy_data(session, header)
    async with _OneJob(session) as jobs:
        job = jobs.start(_encode_some, result, oids, fmt, first)
        while (data := await job) is not None:
            first = b""
            job = jobs.start(_encode_some, result, oids, fmt, first)
            for piece in data:
                session.queue(piece)
            await session.flush()
    if fmt.binary and first:
        _copy_data(session, first)  # no rows: the header alone
    _copy_data(session, copy_trailer(fmt))
    session.queue(m.copy_done())
    return result.command_tag()


class _OneJob:
    """At most one worker job of a COPY running beside the event loop. Leaving the block
    on an error first stops and waits for the job: it still uses the session's cursor."""

    def __init__(self, session: Channel) -> None:
        self._session = session
        self._job: asyncio.Future[Any] | None = None

    def start(self, fn: Callable[..., T], *args: Any) -> Awaitable[T]:
        job: asyncio.Future[T] = asyncio.ensure_future(self._session.in_worker(fn, *args))
        self._job = job
        return job

    async def wait(self) -> None:
        if self._job is not None:
            job, self._job = self._job, None
            await job

    async def __aenter__(self) -> _OneJob:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        job, self._job = self._job, None
        if job is None or kind is None:
            return
        if not job.done():
            self._session.cancel()
            await asyncio.wait([job])
        if not job.cancelled():
            job.exception()  # retrieved: the error being raised is the one to report


def _encode_some(
    result: Result, oids: list[int], fmt: CopyFormat, first: bytes
) -> list[bytes | pa.Buffer] | None:
    """The next batch of the result as CopyData messages (worker thread), in parts that
    follow each other; None at the end. ``first`` opens the first message."""
    while (batch := result.next_batch()) is not None:
        if batch.num_rows:
            return encode_in_parts(
                lambda part, index: encode_copy(part, oids, fmt, b"" if index else first), batch
            )
    return None


async def _copy_in(session: Channel, result: Result, copy: CopyIn) -> str:
    """CopyInResponse, then CopyData until CopyDone; a worker decodes and stores one batch of
    data while the event loop reads the next."""
    session.queue(m.copy_in_response(copy.format.binary, len(copy.columns)))
    await session.flush()
    decoder = CopyDecoder(copy)
    pending: list[bytes] = []
    size = 0
    async with _OneJob(session) as jobs:
        while True:
            message = await session.read()
            if isinstance(message, m.CopyData):
                pending.append(bytes(message.data))
                size += len(message.data)
                if size >= HANDOFF_BYTES:
                    await jobs.wait()
                    jobs.start(_ingest, decoder, result, pending, False)
                    pending, size = [], 0
            elif isinstance(message, m.CopyDone):
                await jobs.wait()
                await jobs.start(_ingest, decoder, result, pending, True)
                return result.command_tag()
            elif isinstance(message, m.CopyFail):
                await jobs.wait()
                raise errors.QueryCanceled(f"COPY from stdin failed: {message.message}")
            elif isinstance(message, m.Flush | m.Sync):
                continue  # ignored during copy-in, as the protocol says
            elif isinstance(message, m.Terminate):
                raise ConnectionClosed(clean=True)  # the COPY is abandoned: nothing is stored
            else:
                raise errors.ProtocolError(
                    f"unexpected message type 0x{m.type_code(message):02X} during COPY from stdin"
                )


def _ingest(decoder: CopyDecoder, result: Result, chunks: list[bytes], done: bool) -> None:
    """Decode the gathered COPY data and store its complete rows (worker thread)."""
    for chunk in chunks:
        for batch in decoder.feed(chunk):
            result.write(batch.batch, batch.first_line)
    if done:
        for batch in decoder.finish():
            result.write(batch.batch, batch.first_line)
