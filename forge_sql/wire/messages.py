"""Protocol v3 messages: frontend messages decoded from bytes, backend messages built as bytes.

Layouts follow the PostgreSQL docs, "53.7 Message Formats".
"""

from __future__ import annotations

import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from forge_sql.errors import ForgeError, ProtocolViolation, UnsupportedProtocol
from forge_sql.seam.backend import Column

_I16 = struct.Struct("!h")
_U16 = struct.Struct("!H")
_I32 = struct.Struct("!i")
_U32 = struct.Struct("!I")
_HEADER = struct.Struct("!cI")  # type byte + length (counts itself, not the type byte)
_FIELD = struct.Struct("!IhIhih")  # RowDescription: table, column, type, size, typmod, format
_NUL = re.compile(b"\x00")  # re searches a memoryview in place; memoryview has no .find

# "53.7 Message Formats": request codes sent in place of a protocol version.
SSL_REQUEST_CODE = 80877103
GSSENC_REQUEST_CODE = 80877104
CANCEL_REQUEST_CODE = 80877102
PROTOCOL_3_0 = 196608
PROTOCOL_3_2 = 196610


# --- frontend messages ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StartupMessage:
    protocol: int
    parameters: dict[str, str]


@dataclass(frozen=True, slots=True)
class SSLRequest:
    pass


@dataclass(frozen=True, slots=True)
class GSSENCRequest:
    pass


@dataclass(frozen=True, slots=True)
class CancelRequest:
    process_id: int
    secret_key: bytes


@dataclass(frozen=True, slots=True)
class Query:
    sql: str


@dataclass(frozen=True, slots=True)
class Parse:
    name: str
    sql: str
    param_oids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Bind:
    portal: str
    statement: str
    param_formats: tuple[int, ...]
    params: tuple[bytes | None, ...]
    result_formats: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Describe:
    kind: str  # 'S' prepared statement, 'P' portal
    name: str


@dataclass(frozen=True, slots=True)
class Execute:
    portal: str
    max_rows: int  # 0 (or negative) = no limit


@dataclass(frozen=True, slots=True)
class Close:
    kind: str
    name: str


@dataclass(frozen=True, slots=True)
class Sync:
    pass


@dataclass(frozen=True, slots=True)
class Flush:
    pass


@dataclass(frozen=True, slots=True)
class Terminate:
    pass


@dataclass(frozen=True, slots=True)
class CopyData:
    data: bytes | memoryview  # not copied: COPY FROM STDIN is a bulk path


@dataclass(frozen=True, slots=True)
class CopyDone:
    pass


@dataclass(frozen=True, slots=True)
class CopyFail:
    message: str


@dataclass(frozen=True, slots=True)
class PasswordMessage:
    data: bytes  # also SASLInitialResponse / SASLResponse: the auth state decides (auth.py)


@dataclass(frozen=True, slots=True)
class FunctionCall:
    data: bytes = b""  # the fast-path interface is not supported; kept opaque


FrontendMessage = (
    Query
    | Parse
    | Bind
    | Describe
    | Execute
    | Close
    | Sync
    | Flush
    | Terminate
    | CopyData
    | CopyDone
    | CopyFail
    | PasswordMessage
    | FunctionCall
)


class _Body:
    """A cursor over a message body; every read checks the bytes that remain."""

    __slots__ = ("buf", "name", "pos")

    def __init__(self, buf: bytes | memoryview, name: str) -> None:
        self.buf = buf
        self.name = name
        self.pos = 0

    def fail(self, what: str) -> ProtocolViolation:
        return ProtocolViolation(f"invalid {self.name} message: {what}")

    def remaining(self) -> int:
        return len(self.buf) - self.pos

    def cstr(self) -> str:
        found = _NUL.search(self.buf, self.pos)
        if found is None:
            raise self.fail("string is not NUL-terminated")
        end = found.start()
        try:
            text = str(self.buf[self.pos : end], "utf-8")
        except UnicodeDecodeError:
            raise self.fail("invalid UTF-8 in string") from None
        self.pos = end + 1
        return text

    def unpack(self, fmt: struct.Struct) -> int:
        if self.remaining() < fmt.size:
            raise self.fail("message is truncated")
        (value,) = fmt.unpack_from(self.buf, self.pos)
        self.pos += fmt.size
        return int(value)

    def raw(self, size: int) -> bytes:
        if size > self.remaining():
            raise self.fail("field length exceeds the message")
        data = bytes(self.buf[self.pos : self.pos + size])
        self.pos += size
        return data

    def kind(self) -> str:
        kind = chr(self.raw(1)[0])
        if kind not in ("S", "P"):
            raise self.fail(f"kind must be 'S' or 'P', not {kind!r}")
        return kind

    def formats(self) -> tuple[int, ...]:
        count = self.unpack(_U16)
        if 2 * count > self.remaining():  # checked before the tuple is sized by `count`
            raise self.fail("format code count exceeds the message")
        codes = struct.unpack_from(f"!{count}h", self.buf, self.pos)
        self.pos += 2 * count
        if any(code not in (0, 1) for code in codes):
            raise self.fail("format codes must be 0 (text) or 1 (binary)")
        return codes

    def end(self) -> None:
        if self.pos != len(self.buf):
            raise self.fail("unexpected bytes after the last field")


def _bind(body: _Body) -> Bind:
    portal, statement, param_formats = body.cstr(), body.cstr(), body.formats()
    count = body.unpack(_U16)
    if 4 * count > body.remaining():
        raise body.fail("parameter count exceeds the message")
    params: list[bytes | None] = []
    for _ in range(count):
        size = body.unpack(_I32)
        if size < -1:
            raise body.fail(f"invalid parameter length {size}")
        params.append(None if size == -1 else body.raw(size))
    return Bind(portal, statement, param_formats, tuple(params), body.formats())


def _parse(body: _Body) -> Parse:
    name, sql, count = body.cstr(), body.cstr(), body.unpack(_U16)
    if 4 * count > body.remaining():
        raise body.fail("parameter type count exceeds the message")
    oids = struct.unpack_from(f"!{count}I", body.buf, body.pos)
    body.pos += 4 * count
    return Parse(name, sql, oids)


def decode_frontend(type_code: int, body: bytes | memoryview) -> FrontendMessage:
    """Decode one regular message ("53.7 Message Formats"); raise ProtocolViolation if malformed."""
    message: FrontendMessage
    if type_code == 0x64:  # 'd' CopyData: the body is the payload
        return CopyData(body)
    if type_code == 0x70:  # 'p'
        return PasswordMessage(bytes(body))
    if type_code == 0x46:  # 'F'
        return FunctionCall(bytes(body))
    name = _NAMES.get(type_code)
    if name is None:
        raise ProtocolViolation(f"invalid frontend message type {type_code}")
    cur = _Body(body, name)
    if type_code == 0x51:  # 'Q'
        message = Query(cur.cstr())
    elif type_code == 0x50:  # 'P'
        message = _parse(cur)
    elif type_code == 0x42:  # 'B'
        message = _bind(cur)
    elif type_code == 0x44:  # 'D'
        message = Describe(cur.kind(), cur.cstr())
    elif type_code == 0x45:  # 'E'
        message = Execute(cur.cstr(), cur.unpack(_I32))
    elif type_code == 0x43:  # 'C'
        message = Close(cur.kind(), cur.cstr())
    elif type_code == 0x66:  # 'f'
        message = CopyFail(cur.cstr())
    else:
        message = _EMPTY[type_code]
    cur.end()
    return message


_NAMES = {
    0x51: "Query",
    0x50: "Parse",
    0x42: "Bind",
    0x44: "Describe",
    0x45: "Execute",
    0x43: "Close",
    0x66: "CopyFail",
    0x53: "Sync",
    0x48: "Flush",
    0x58: "Terminate",
    0x63: "CopyDone",
}
_EMPTY: dict[int, FrontendMessage] = {
    0x53: Sync(),
    0x48: Flush(),
    0x58: Terminate(),
    0x63: CopyDone(),
}


_TYPE_CODES: dict[type, int] = {
    Query: 0x51, Parse: 0x50, Bind: 0x42, Describe: 0x44, Execute: 0x45, Close: 0x43,
    CopyFail: 0x66, Sync: 0x53, Flush: 0x48, Terminate: 0x58, CopyDone: 0x63, CopyData: 0x64,
    PasswordMessage: 0x70, FunctionCall: 0x46,
}


def type_code(message: FrontendMessage) -> int:
    """The type byte ``message`` was sent with."""
    return _TYPE_CODES[type(message)]


def decode_startup(body: bytes) -> StartupMessage | SSLRequest | GSSENCRequest | CancelRequest:
    """Decode a startup packet body (after its length word), "53.7 Message Formats"."""
    cur = _Body(body, "startup packet")
    code = cur.unpack(_U32)
    if code in (SSL_REQUEST_CODE, GSSENC_REQUEST_CODE):
        cur.end()
        return SSLRequest() if code == SSL_REQUEST_CODE else GSSENCRequest()
    if code == CANCEL_REQUEST_CODE:
        process_id = cur.unpack(_I32)
        # Protocol 3.2 lets the key be up to 256 bytes; 3.0 keys are 4 bytes.
        if not 4 <= cur.remaining() <= 256:
            raise cur.fail("cancel key must be 4 to 256 bytes")
        return CancelRequest(process_id, cur.raw(cur.remaining()))
    if code >> 16 != 3:
        # As PostgreSQL: FATAL 0A000. Any 3.x minor is accepted so that the session can
        # answer a newer one with NegotiateProtocolVersion.
        raise UnsupportedProtocol(
            f"unsupported frontend protocol {code >> 16}.{code & 0xFFFF}: "
            "server supports 3.0 to 3.0"
        )
    parameters: dict[str, str] = {}
    while True:
        if cur.remaining() == 0:
            raise cur.fail("missing terminator after the parameters")
        name = cur.cstr()
        if not name:  # the empty name is the terminating NUL
            break
        if cur.remaining() == 0:
            raise cur.fail(f"parameter {name!r} has no value")
        parameters[name] = cur.cstr()
    cur.end()
    return StartupMessage(code, parameters)


# --- backend messages -------------------------------------------------------------------


def _message(type_code: bytes, body: bytes) -> bytes:
    return _HEADER.pack(type_code, len(body) + 4) + body


def _cstr(text: str) -> bytes:
    if "\x00" in text:  # an embedded NUL would end the string early and desync the client
        raise ValueError(f"NUL character in protocol string {text!r}")
    return text.encode() + b"\x00"


def authentication_ok() -> bytes:
    return b"R\x00\x00\x00\x08\x00\x00\x00\x00"


def authentication_cleartext_password() -> bytes:
    return b"R\x00\x00\x00\x08\x00\x00\x00\x03"


def authentication_sasl(mechanisms: list[str]) -> bytes:
    names = b"".join(_cstr(name) for name in mechanisms)
    return _message(b"R", _I32.pack(10) + names + b"\x00")


def authentication_sasl_continue(data: bytes) -> bytes:
    return _message(b"R", _I32.pack(11) + data)


def authentication_sasl_final(data: bytes) -> bytes:
    return _message(b"R", _I32.pack(12) + data)


def parameter_status(name: str, value: str) -> bytes:
    return _message(b"S", _cstr(name) + _cstr(value))


def backend_key_data(process_id: int, secret_key: bytes) -> bytes:
    return _message(b"K", _I32.pack(process_id) + secret_key)


def ready_for_query(status: str) -> bytes:
    if status not in ("I", "T", "E"):
        raise ValueError(f"transaction status must be I, T or E, not {status!r}")
    return b"Z\x00\x00\x00\x05" + status.encode()


def row_description(columns: Sequence[Column], formats: Sequence[int]) -> bytes:
    """RowDescription; ``formats`` as Bind gives them: none (all text), one for all, or one each."""
    if len(formats) not in (0, 1, len(columns)):
        raise ValueError(f"{len(formats)} result formats for {len(columns)} columns")
    parts = [_I16.pack(len(columns))]
    for i, col in enumerate(columns):
        fmt = formats[i] if len(formats) > 1 else (formats[0] if formats else 0)
        parts.append(_cstr(col.name))
        parts.append(
            _FIELD.pack(
                col.table_oid,
                col.column_number,
                col.type_oid,
                col.type_size,
                col.type_modifier,
                fmt,
            )
        )
    return _message(b"T", b"".join(parts))


def parameter_description(oids: Sequence[int]) -> bytes:
    return _message(b"t", struct.pack(f"!H{len(oids)}I", len(oids), *oids))


def no_data() -> bytes:
    return b"n\x00\x00\x00\x04"


def command_complete(tag: str) -> bytes:
    return _message(b"C", _cstr(tag))


def empty_query_response() -> bytes:
    return b"I\x00\x00\x00\x04"


def parse_complete() -> bytes:
    return b"1\x00\x00\x00\x04"


def bind_complete() -> bytes:
    return b"2\x00\x00\x00\x04"


def close_complete() -> bytes:
    return b"3\x00\x00\x00\x04"


def portal_suspended() -> bytes:
    return b"s\x00\x00\x00\x04"


def _fields(type_code: bytes, fields: Mapping[str, str]) -> bytes:
    # Error texts can carry user data: drop NULs and unencodable characters instead of
    # failing while reporting a failure ("53.8 Error and Notice Message Fields").
    parts = [
        code.encode("ascii") + value.replace("\x00", "").encode("utf-8", "replace") + b"\x00"
        for code, value in fields.items()
    ]
    return _message(type_code, b"".join(parts) + b"\x00")


def error_response(fields: Mapping[str, str]) -> bytes:
    return _fields(b"E", fields)


def notice_response(fields: Mapping[str, str]) -> bytes:
    return _fields(b"N", fields)


def error_fields(err: ForgeError) -> dict[str, str]:
    """ErrorResponse fields of ``err``: S and V (severity), C, M, then D, H, P, W if set."""
    fields = {"S": err.severity, "V": err.severity, "C": err.sqlstate, "M": err.message}
    if err.detail is not None:
        fields["D"] = err.detail
    if err.hint is not None:
        fields["H"] = err.hint
    if err.position is not None:
        fields["P"] = str(err.position)  # 1-based, in characters
    if err.context is not None:
        fields["W"] = err.context
    return fields


def _copy_response(type_code: bytes, binary: bool, column_count: int) -> bytes:
    # "53.7": overall format, then a format per column (all equal: we copy whole rows).
    fmt = 1 if binary else 0
    body = struct.pack(f"!bH{column_count}h", fmt, column_count, *([fmt] * column_count))
    return _message(type_code, body)


def copy_in_response(binary: bool, column_count: int) -> bytes:
    return _copy_response(b"G", binary, column_count)


def copy_out_response(binary: bool, column_count: int) -> bytes:
    return _copy_response(b"H", binary, column_count)


def copy_data(data: bytes | memoryview) -> bytes:
    return b"".join((_HEADER.pack(b"d", len(data) + 4), data))


def copy_done() -> bytes:
    return b"c\x00\x00\x00\x04"


def negotiate_protocol_version(minor: int, unsupported_options: list[str]) -> bytes:
    options = b"".join(_cstr(name) for name in unsupported_options)
    body = _I32.pack(3 << 16 | minor) + _I32.pack(len(unsupported_options)) + options
    return _message(b"v", body)


def data_row(values: Sequence[bytes | None]) -> bytes:
    """DataRow of already-encoded values; the per-row path, for small results and tests."""
    parts = [_I16.pack(len(values))]
    for value in values:
        if value is None:
            parts.append(b"\xff\xff\xff\xff")
        else:
            parts.append(_I32.pack(len(value)))
            parts.append(value)
    return _message(b"D", b"".join(parts))


def ssl_accepted() -> bytes:
    """The byte that accepts SSLRequest; the TLS handshake follows."""
    return b"S"


def ssl_refused() -> bytes:
    """The byte that declines SSLRequest/GSSENCRequest ("53.2.10 SSL Session Encryption")."""
    return b"N"
