#!/usr/bin/env python
"""A client's own cost: a server's answers to a client session (ADBC, psycopg), recorded,
then replayed from memory by a process that does nothing else.

The time the client takes against the replay is what reading, parsing and converting the
rows cost on the client, with no server work at all: no server can make the same session
faster, so PostgreSQL's time divided by it is the best ratio any server can reach with
that client. ``bench_bulk.py --only adbc,select`` measures it beside forge-sql and
PostgreSQL.

Run as a script (``adbc_replay.py SEGMENTS_FILE``) it is the replay server: it prints its
port, then answers the n-th connection with the n-th recorded one, sending each recorded
answer when the client ends a request (Sync or Query).
"""

from __future__ import annotations

import asyncio
import pickle
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from pg import ManagedServer

# A connection's answers, one per request: the startup's, then each Sync's or Query's,
# each ending with its ReadyForQuery message.
Answers = list[bytes]
_HEADER = struct.Struct("!cI")
_STARTUP = struct.Struct("!I")
_SSL_REQUEST = struct.pack("!I", 80877103)


def split_answers(stream: bytes) -> Answers:
    """The server-to-client bytes of a connection cut after each ReadyForQuery."""
    if stream[:2] == b"NR":  # the refusal of an SSLRequest, then the startup's answer
        stream = stream[1:]
    answers, start, at = [], 0, 0
    while at + 5 <= len(stream):
        kind, length = _HEADER.unpack_from(stream, at)
        at += 1 + length
        if kind == b"Z":
            answers.append(stream[start:at])
            start = at
    return answers


class RecordingProxy:
    """A TCP proxy in a thread that keeps what the server sends on each connection."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self.streams: list[bytearray] = []
        self._loop = asyncio.new_event_loop()
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._proxy, "127.0.0.1", 0))
        self.port = int(self._server.sockets[0].getsockname()[1])
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    async def _proxy(self, client_in: asyncio.StreamReader,
                     client_out: asyncio.StreamWriter) -> None:
        server_in, server_out = await asyncio.open_connection(*self._target)
        kept = bytearray()
        self.streams.append(kept)

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter,
                       keep: bytearray | None) -> None:
            while data := await source.read(1 << 20):
                if keep is not None:
                    keep.extend(data)
                sink.write(data)
                await sink.drain()
            sink.close()

        try:
            await asyncio.gather(pump(client_in, server_out, None),
                                 pump(server_in, client_out, kept), return_exceptions=True)
        except asyncio.CancelledError:  # the recording ends with the connection still open
            server_out.close()
            client_out.close()

    def answers(self) -> list[Answers]:
        return [split_answers(bytes(stream)) for stream in self.streams]

    async def _shut(self) -> None:
        self._server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._shut(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


def record(host: str, port: int, session: Callable[[int], object]) -> list[Answers]:
    """Run ``session(proxy_port)`` through a recording proxy to host:port."""
    proxy = RecordingProxy(host, port)
    try:
        session(proxy.port)
    finally:
        proxy.close()
    return proxy.answers()


class ReplayServer(ManagedServer):
    """This file run as a server process over ``answers`` (pickled into ``workdir``)."""

    def __init__(self, answers: list[Answers], workdir: Path) -> None:
        self._file = workdir / "client-answers.pickle"
        self._answers = answers
        self.process: subprocess.Popen[str] | None = None
        self.port = 0

    def start(self) -> None:
        self._file.write_bytes(pickle.dumps(self._answers))
        self.process = subprocess.Popen([sys.executable, __file__, str(self._file)],
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None
        self._file.unlink(missing_ok=True)


def _read(conn: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return bytes(data)


def _replay(conn: socket.socket, answers: Iterator[bytes]) -> None:
    with conn:
        try:
            while True:
                (length,) = _STARTUP.unpack(_read(conn, 4))
                if _read(conn, length - 4) != _SSL_REQUEST:
                    break
                conn.sendall(b"N")
            conn.sendall(next(answers))
            while True:
                kind, length = _HEADER.unpack(_read(conn, 5))
                _read(conn, length - 4)
                if kind in (b"S", b"Q"):
                    conn.sendall(next(answers))
                elif kind == b"X":
                    return
        except (EOFError, StopIteration, OSError):
            return


def serve(path: Path) -> None:
    recorded: list[Answers] = pickle.loads(path.read_bytes())
    listener = socket.create_server(("127.0.0.1", 0))
    print(listener.getsockname()[1], flush=True)
    for number in range(len(recorded)):
        conn, _ = listener.accept()
        threading.Thread(target=_replay, args=(conn, iter(recorded[number])),
                         daemon=True).start()
    threading.Event().wait()


if __name__ == "__main__":
    serve(Path(sys.argv[1]))
