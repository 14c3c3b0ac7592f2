"""Byte-level fixtures, round trips and fuzzing of forge_sql.wire.messages."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from forge_sql.errors import FatalError, ForgeError, ProtocolViolation, UndefinedTable
from forge_sql.seam.backend import Column
from forge_sql.wire import messages as m

# --- a test-side frontend encoder ("53.7 Message Formats") -----------------------------


def cstr(text: str) -> bytes:
    return text.encode() + b"\x00"


def encode(msg: object) -> tuple[int, bytes]:
    """(type byte, body) of a frontend message, written independently of the decoder."""
    if isinstance(msg, m.Query):
        return ord("Q"), cstr(msg.sql)
    if isinstance(msg, m.Parse):
        oids = struct.pack(f"!H{len(msg.param_oids)}I", len(msg.param_oids), *msg.param_oids)
        return ord("P"), cstr(msg.name) + cstr(msg.sql) + oids
    if isinstance(msg, m.Bind):
        body = cstr(msg.portal) + cstr(msg.statement)
        body += struct.pack(
            f"!H{len(msg.param_formats)}h", len(msg.param_formats), *msg.param_formats
        )
        body += struct.pack("!H", len(msg.params))
        for value in msg.params:
            size = -1 if value is None else len(value)
            body += struct.pack("!i", size) + (value or b"")
        body += struct.pack(
            f"!H{len(msg.result_formats)}h", len(msg.result_formats), *msg.result_formats
        )
        return ord("B"), body
    if isinstance(msg, m.Describe | m.Close):
        code = "D" if isinstance(msg, m.Describe) else "C"
        return ord(code), msg.kind.encode() + cstr(msg.name)
    if isinstance(msg, m.Execute):
        return ord("E"), cstr(msg.portal) + struct.pack("!i", msg.max_rows)
    if isinstance(msg, m.CopyData):
        return ord("d"), bytes(msg.data)
    if isinstance(msg, m.CopyFail):
        return ord("f"), cstr(msg.message)
    if isinstance(msg, m.PasswordMessage):
        return ord("p"), msg.data
    if isinstance(msg, m.FunctionCall):
        return ord("F"), msg.data
    codes = {m.Sync: "S", m.Flush: "H", m.Terminate: "X", m.CopyDone: "c"}
    return ord(codes[type(msg)]), b""


def startup_body(protocol: int, params: dict[str, str]) -> bytes:
    pairs = b"".join(cstr(k) + cstr(v) for k, v in params.items())
    return struct.pack("!I", protocol) + pairs + b"\x00"


text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"))
formats = st.lists(st.sampled_from([0, 1]), max_size=4).map(tuple)
frontend = st.one_of(
    st.builds(m.Query, text),
    st.builds(m.Parse, text, text, st.lists(st.integers(0, 2**32 - 1), max_size=5).map(tuple)),
    st.lists(st.one_of(st.none(), st.binary(max_size=20)), max_size=5).flatmap(
        lambda params: st.builds(
            m.Bind,
            text,
            text,
            st.sampled_from([(), (0,), (1,), tuple(i % 2 for i in range(len(params)))]),
            st.just(tuple(params)),
            formats,
        )
    ),
    st.builds(m.Describe, st.sampled_from("SP"), text),
    st.builds(m.Close, st.sampled_from("SP"), text),
    st.builds(m.Execute, text, st.integers(-(2**31), 2**31 - 1)),
    st.builds(m.CopyData, st.binary()),
    st.builds(m.CopyFail, text),
    st.builds(m.PasswordMessage, st.binary()),
    st.builds(m.FunctionCall, st.binary()),
    st.sampled_from([m.Sync(), m.Flush(), m.Terminate(), m.CopyDone()]),
)

TYPE_CODES = [ord(c) for c in "QPBDECSHXdcfpF"]


# --- frontend: fixtures and round trips ------------------------------------------------


def test_parse_fixture() -> None:
    body = b"s1\x00SELECT $1\x00\x00\x01\x00\x00\x00\x17"
    assert m.decode_frontend(ord("P"), body) == m.Parse("s1", "SELECT $1", (23,))


def test_bind_fixture_with_null_and_binary_format() -> None:
    body = (
        b"\x00s1\x00"  # unnamed portal, statement s1
        b"\x00\x01\x00\x01"  # one parameter format: binary, for all parameters
        b"\x00\x02\xff\xff\xff\xff\x00\x00\x00\x04\x00\x00\x00\x2a"  # NULL, int4 42
        b"\x00\x01\x00\x01"  # results in binary
    )
    bind = m.decode_frontend(ord("B"), memoryview(body))
    assert bind == m.Bind("", "s1", (1,), (None, b"\x00\x00\x00*"), (1,))


def test_small_fixtures() -> None:
    assert m.decode_frontend(ord("Q"), b"SELECT 1\x00") == m.Query("SELECT 1")
    assert m.decode_frontend(ord("D"), b"Pcur\x00") == m.Describe("P", "cur")
    assert m.decode_frontend(ord("E"), b"\x00\x00\x00\x00\x0a") == m.Execute("", 10)
    assert m.decode_frontend(ord("C"), b"S\x00") == m.Close("S", "")
    assert m.decode_frontend(ord("S"), b"") == m.Sync()


def test_copy_data_is_not_copied() -> None:
    view = memoryview(b"1\t2\n")
    msg = m.decode_frontend(ord("d"), view)
    assert isinstance(msg, m.CopyData) and msg.data is view


@given(frontend)
def test_round_trip(msg: object) -> None:
    type_code, body = encode(msg)
    decoded = m.decode_frontend(type_code, memoryview(body))
    if isinstance(msg, m.CopyData):
        assert isinstance(decoded, m.CopyData) and bytes(decoded.data) == msg.data
    else:
        assert decoded == msg


@pytest.mark.parametrize(
    ("code", "body", "reason"),
    [
        ("Q", b"SELECT 1", "NUL-terminated"),
        ("Q", b"SELECT 1\x00x", "after the last field"),
        ("Q", b"SELECT \xff\x00", "UTF-8"),
        ("P", b"s\x00q\x00\x00\x02\x00\x00\x00\x17", "count exceeds"),
        ("P", b"s\x00q\x00\x00", "truncated"),
        ("B", b"\x00\x00\x00\x00\x00\x01\xff\xff\xff\xfe\x00\x00", "length -2"),
        ("B", b"\x00\x00\x00\x00\x00\x01\x00\x00\x00\x09ab\x00\x00", "exceeds the message"),
        ("B", b"\x00\x00\x00\x01\x00\x02\x00\x00\x00\x00", "format codes"),
        ("B", b"\x00\x00\x7f\xff", "count exceeds"),
        ("B", b"\x00\x00\x00\x00\xff\xff", "parameter count exceeds"),
        ("D", b"X\x00", "kind must be"),
        ("C", b"", "exceeds"),
        ("E", b"\x00\x00\x01", "truncated"),
        ("S", b"\x00", "after the last field"),
        ("f", b"oops", "NUL-terminated"),
    ],
)
def test_malformed(code: str, body: bytes, reason: str) -> None:
    with pytest.raises(ProtocolViolation, match=reason) as info:
        m.decode_frontend(ord(code), body)
    assert info.value.sqlstate == "08P01" and info.value.severity == "FATAL"


def test_unknown_type() -> None:
    with pytest.raises(ProtocolViolation, match="invalid frontend message type 122"):
        m.decode_frontend(ord("z"), b"")


@pytest.mark.parametrize("code", TYPE_CODES)
@given(body=st.binary(max_size=64))
def test_fuzz_frontend(code: int, body: bytes) -> None:
    with contextlib.suppress(FatalError):
        m.decode_frontend(code, memoryview(body))


@given(frontend, st.data())
def test_fuzz_mutated_frontend(msg: object, data: st.DataObject) -> None:
    """Valid messages, truncated and with one byte changed."""
    type_code, body = encode(msg)
    mutated = bytearray(body[: data.draw(st.integers(0, len(body)))])
    if mutated:
        mutated[data.draw(st.integers(0, len(mutated) - 1))] ^= data.draw(st.integers(1, 255))
    with contextlib.suppress(FatalError):
        m.decode_frontend(type_code, bytes(mutated))


# --- startup packets --------------------------------------------------------------------


def test_startup_messages() -> None:
    params = {"user": "alice", "database": "lake", "application_name": "psql"}
    assert m.decode_startup(startup_body(196608, params)) == m.StartupMessage(196608, params)
    assert m.decode_startup(startup_body(196610, {})) == m.StartupMessage(196610, {})
    assert m.decode_startup(struct.pack("!I", 80877103)) == m.SSLRequest()
    assert m.decode_startup(struct.pack("!I", 80877104)) == m.GSSENCRequest()
    cancel = struct.pack("!Ii", 80877102, 42)
    assert m.decode_startup(cancel + b"abcd") == m.CancelRequest(42, b"abcd")
    assert m.decode_startup(cancel + b"k" * 256) == m.CancelRequest(42, b"k" * 256)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            struct.pack("!I", 131072) + b"user\x00a\x00\x00",
            "unsupported frontend protocol 2.0: server supports 3.0 to 3.0",
        ),
        (struct.pack("!Ii", 80877102, 1) + b"abc", "4 to 256"),
        (struct.pack("!Ii", 80877102, 1) + b"k" * 257, "4 to 256"),
        (struct.pack("!I", 80877103) + b"\x00", "after the last field"),
        (struct.pack("!I", 196608) + b"user\x00a\x00", "missing terminator"),
        (struct.pack("!I", 196608) + b"user\x00a\x00db\x00", "no value"),
        (struct.pack("!I", 196608) + b"user\x00a", "NUL-terminated"),
        (struct.pack("!I", 196608) + b"user\x00\xff\x00\x00", "UTF-8"),
        (struct.pack("!I", 196608) + b"\x00\x00", "after the last field"),
        (b"\x00\x03", "truncated"),
    ],
)
def test_malformed_startup(body: bytes, reason: str) -> None:
    with pytest.raises(FatalError, match=reason):
        m.decode_startup(body)


@given(st.binary(max_size=64))
def test_fuzz_startup(body: bytes) -> None:
    with contextlib.suppress(FatalError):
        m.decode_startup(body)


@given(st.sampled_from([196608, 196610, 80877102, 80877103]), st.binary(max_size=40))
def test_fuzz_startup_known_codes(code: int, rest: bytes) -> None:
    with contextlib.suppress(FatalError):
        m.decode_startup(struct.pack("!I", code) + rest)


# --- backend messages -------------------------------------------------------------------


def test_backend_fixtures() -> None:
    assert m.ready_for_query("I") == b"Z\x00\x00\x00\x05I"
    assert m.authentication_ok() == b"R\x00\x00\x00\x08\x00\x00\x00\x00"
    assert m.authentication_cleartext_password() == b"R\x00\x00\x00\x08\x00\x00\x00\x03"
    assert m.authentication_sasl(["SCRAM-SHA-256"]) == (
        b"R\x00\x00\x00\x17\x00\x00\x00\x0aSCRAM-SHA-256\x00\x00"
    )
    assert m.authentication_sasl_continue(b"r=x") == b"R\x00\x00\x00\x0b\x00\x00\x00\x0br=x"
    assert m.authentication_sasl_final(b"v=") == b"R\x00\x00\x00\x0a\x00\x00\x00\x0cv="
    assert m.parameter_status("a", "b") == b"S\x00\x00\x00\x08a\x00b\x00"
    assert m.backend_key_data(7, b"abcd") == b"K\x00\x00\x00\x0c\x00\x00\x00\x07abcd"
    assert m.command_complete("SELECT 1") == b"C\x00\x00\x00\x0dSELECT 1\x00"
    assert m.data_row([b"1", None]) == b"D\x00\x00\x00\x0f\x00\x02\x00\x00\x00\x011\xff\xff\xff\xff"
    assert m.parameter_description([23, 25]) == (
        b"t\x00\x00\x00\x0e\x00\x02\x00\x00\x00\x17\x00\x00\x00\x19"
    )
    assert m.copy_in_response(False, 2) == b"G\x00\x00\x00\x0b\x00\x00\x02\x00\x00\x00\x00"
    assert m.copy_out_response(True, 1) == b"H\x00\x00\x00\x09\x01\x00\x01\x00\x01"
    assert m.copy_data(memoryview(b"ab")) == b"d\x00\x00\x00\x06ab"
    assert m.negotiate_protocol_version(2, ["_pq_.x"]) == (
        b"v\x00\x00\x00\x13\x00\x03\x00\x02\x00\x00\x00\x01_pq_.x\x00"
    )
    assert m.ssl_refused() == b"N"
    fixed = {
        m.no_data: b"n",
        m.empty_query_response: b"I",
        m.parse_complete: b"1",
        m.bind_complete: b"2",
        m.close_complete: b"3",
        m.portal_suspended: b"s",
        m.copy_done: b"c",
    }
    for build, code in fixed.items():
        assert build() == code + b"\x00\x00\x00\x04"


def test_row_description() -> None:
    col = Column("a", 23, 4, -1, 0, 0)
    expected = (
        b"T\x00\x00\x00\x1a\x00\x01a\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x17"
        b"\x00\x04\xff\xff\xff\xff\x00\x00"
    )
    assert m.row_description([col], []) == expected
    assert m.row_description([col], [1]) == expected[:-1] + b"\x01"
    two = m.row_description([col, Column("b", 25, table_oid=16384, column_number=2)], [0, 1])
    assert two.endswith(
        b"b\x00\x00\x00\x40\x00\x00\x02\x00\x00\x00\x19\xff\xff\xff\xff\xff\xff\x00\x01"
    )
    with pytest.raises(ValueError):
        m.row_description([col, col], [0, 1, 1])


def test_error_response() -> None:
    err = UndefinedTable('relation "t" does not exist', hint="Create it.", position=15)
    fields = m.error_fields(err)
    assert list(fields) == ["S", "V", "C", "M", "H", "P"]
    assert fields["C"] == "42P01" and fields["P"] == "15"
    body = (
        b'SERROR\x00VERROR\x00C42P01\x00Mrelation "t" does not exist\x00HCreate it.\x00P15\x00\x00'
    )
    assert m.error_response(fields) == b"E" + struct.pack("!I", len(body) + 4) + body
    notice = m.notice_response({"S": "NOTICE", "M": "a\x00b"})
    assert notice == b"N\x00\x00\x00\x11SNOTICE\x00Mab\x00\x00"
    fatal = m.error_fields(ProtocolViolation("bad", detail="d", context="c"))
    assert fatal == {"S": "FATAL", "V": "FATAL", "C": "08P01", "M": "bad", "D": "d", "W": "c"}
    assert m.error_fields(ForgeError("x"))["C"] == "XX000"


def test_backend_rejects_bad_strings() -> None:
    with pytest.raises(ValueError):
        m.parameter_status("a\x00", "b")
    with pytest.raises(ValueError):
        m.ready_for_query("X")
