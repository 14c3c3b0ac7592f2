"""A byte-level protocol v3 client for tests that must send what no driver would.

Message layouts follow the PostgreSQL docs "55.7 Message Formats". Every socket has a
timeout, so a server that stops answering fails the test instead of hanging it.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass, field

PROTOCOL_V3 = 196608
SSL_REQUEST_CODE = 80877103
GSSENC_REQUEST_CODE = 80877104
CANCEL_REQUEST_CODE = 80877102
TIMEOUT = 10.0


def startup_packet(user: str = "forge", database: str = "forge", **params: str) -> bytes:
    body = struct.pack("!i", PROTOCOL_V3)
    for key, value in {"user": user, "database": database, **params}.items():
        body += key.encode() + b"\0" + value.encode() + b"\0"
    body += b"\0"
    return struct.pack("!i", len(body) + 4) + body


def message(type_code: bytes, body: bytes = b"") -> bytes:
    return type_code + struct.pack("!i", len(body) + 4) + body


def query(sql: str | bytes) -> bytes:
    raw = sql.encode() if isinstance(sql, str) else sql
    return message(b"Q", raw + b"\0")


def parse(sql: str, name: str = "", oids: tuple[int, ...] = ()) -> bytes:
    body = name.encode() + b"\0" + sql.encode() + b"\0" + struct.pack("!h", len(oids))
    body += b"".join(struct.pack("!i", oid) for oid in oids)
    return message(b"P", body)


def bind(statement: str = "", portal: str = "", params: tuple[bytes | None, ...] = ()) -> bytes:
    body = portal.encode() + b"\0" + statement.encode() + b"\0"
    body += struct.pack("!h", 0)  # all parameters in text
    body += struct.pack("!h", len(params))
    for value in params:
        body += struct.pack("!i", -1) if value is None else struct.pack("!i", len(value)) + value
    body += struct.pack("!h", 0)  # all results in text
    return message(b"B", body)


def execute(portal: str = "", max_rows: int = 0) -> bytes:
    return message(b"E", portal.encode() + b"\0" + struct.pack("!i", max_rows))


def describe(kind: bytes, name: str = "") -> bytes:
    """Describe a statement (``b"S"``) or a portal (``b"P"``)."""
    return message(b"D", kind + name.encode() + b"\0")


def close(kind: bytes, name: str = "") -> bytes:
    """Close a statement (``b"S"``) or a portal (``b"P"``)."""
    return message(b"C", kind + name.encode() + b"\0")


def sync() -> bytes:
    return message(b"S")


def terminate() -> bytes:
    return message(b"X")


def cancel_request(process_id: int, secret_key: bytes) -> bytes:
    return struct.pack("!iii", 16, CANCEL_REQUEST_CODE, process_id) + secret_key


def error_fields(body: bytes) -> dict[str, str]:
    """ErrorResponse / NoticeResponse fields by their one-letter code."""
    fields: dict[str, str] = {}
    for part in body.split(b"\0"):
        if part:
            fields[chr(part[0])] = part[1:].decode()
    return fields


@dataclass
class RawConnection:
    """A socket plus a reader of backend messages."""

    sock: socket.socket
    buffer: bytearray = field(default_factory=bytearray)
    process_id: int = 0
    secret_key: bytes = b""
    parameters: dict[str, str] = field(default_factory=dict)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self, size: int) -> bool:
        while len(self.buffer) < size:
            chunk = self.sock.recv(65536)
            if not chunk:
                return False
            self.buffer += chunk
        return True

    def read_byte(self) -> bytes | None:
        """One byte (SSLRequest answers), or None at end of stream."""
        if not self._fill(1):
            return None
        byte = bytes(self.buffer[:1])
        del self.buffer[:1]
        return byte

    def read_message(self) -> tuple[bytes, bytes] | None:
        """The next (type, body), or None if the server closed the connection."""
        if not self._fill(5):
            return None
        type_code = bytes(self.buffer[:1])
        (length,) = struct.unpack("!i", self.buffer[1:5])
        if not self._fill(1 + length):
            return None
        body = bytes(self.buffer[5 : 1 + length])
        del self.buffer[: 1 + length]
        return type_code, body

    def read_until_ready(self) -> list[tuple[bytes, bytes]]:
        """Messages up to and including ReadyForQuery (fails if the server hangs up)."""
        messages: list[tuple[bytes, bytes]] = []
        while True:
            msg = self.read_message()
            assert msg is not None, f"connection closed before ReadyForQuery: {messages}"
            messages.append(msg)
            if msg[0] == b"Z":
                return messages

    def read_to_close(self) -> list[tuple[bytes, bytes]]:
        """Every message until the server closes the connection."""
        messages: list[tuple[bytes, bytes]] = []
        while (msg := self.read_message()) is not None:
            messages.append(msg)
        return messages

    def startup(self, **params: str) -> list[tuple[bytes, bytes]]:
        self.send(startup_packet(**params))
        messages = self.read_until_ready()
        for type_code, body in messages:
            if type_code == b"K":
                self.process_id = struct.unpack("!i", body[:4])[0]
                self.secret_key = body[4:8]
            elif type_code == b"S":
                name, value, _ = body.split(b"\0")
                self.parameters[name.decode()] = value.decode()
        return messages

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(host: str, port: int, timeout: float = TIMEOUT) -> RawConnection:
    return RawConnection(socket.create_connection((host, port), timeout=timeout))


def errors_in(messages: list[tuple[bytes, bytes]]) -> list[dict[str, str]]:
    return [error_fields(body) for type_code, body in messages if type_code == b"E"]


def data_rows(messages: list[tuple[bytes, bytes]]) -> list[list[str | None]]:
    """Text-format DataRow values."""
    rows: list[list[str | None]] = []
    for type_code, body in messages:
        if type_code != b"D":
            continue
        (count,) = struct.unpack("!h", body[:2])
        offset, row = 2, list[str | None]()
        for _ in range(count):
            (length,) = struct.unpack("!i", body[offset : offset + 4])
            offset += 4
            if length < 0:
                row.append(None)
            else:
                row.append(body[offset : offset + length].decode())
                offset += length
        rows.append(row)
    return rows
