"""COPY text format: decoding (escapes, NULL, end marker, errors) and encoding, byte-exact."""

from __future__ import annotations

import datetime as dt
import decimal

import pyarrow as pa
import pytest
from conftest import TEXT, copy_in, decode, decode_batches

from forge_sql.errors import BadCopyFileFormat, CharacterNotInRepertoire, ForgeError
from forge_sql.seam import oids
from forge_sql.seam.backend import CopyFormat
from forge_sql.wire.copy.encoder import copy_header, copy_trailer, encode_copy

AB = copy_in(TEXT, "a", "b")


@pytest.mark.parametrize(
    ("data", "rows"),
    [
        (b"1\tx\n2\ty\n", [("1", "x"), ("2", "y")]),
        (b"1\tx\n2\ty", [("1", "x"), ("2", "y")]),  # no newline after the last row
        (b"1\tx\r\n2\ty\r\n", [("1", "x"), ("2", "y")]),
        (b"\\N\t\n", [(None, "")]),
        (b"\\\\N\t\\N\n", [("\\N", None)]),  # the marker is compared before unescaping
        (b"a\\tb\tc\\nd\n", [("a\tb", "c\nd")]),
        (b"\\b\\f\\n\\r\\t\\v\t\\\\\n", [("\b\f\n\r\t\v", "\\")]),
        (b"\\101\\x41\\x4a\t\\7\\18\n", [("AAJ", "\x07\x018")]),
        (b"\\q\\.\\N1\t\\\tx\n", [("q.N1", "\tx")]),  # backslash + other byte: that byte
        (b"a\\\nb\tc\n", [("a\nb", "c")]),  # an escaped newline is data
        (b"\xc3\xa9\\303\\251\t\\xc3\\xa9\n", [("éé", "é")]),  # escapes make UTF-8 bytes
        (b"", []),
        (b"\n\n", None),  # empty lines: one field each, so too few for two columns
    ],
)
def test_decode(data: bytes, rows: list[tuple[object, ...]] | None) -> None:
    if rows is None:
        with pytest.raises(BadCopyFileFormat, match='missing data for column "b"'):
            decode(AB, data)
    else:
        assert decode(AB, data) == rows


def test_single_column_empty_lines() -> None:
    assert decode(copy_in(TEXT, "a"), b"\n\\N\nx\n") == [("",), (None,), ("x",)]


def test_end_marker() -> None:
    data = b"1\tx\n\\.\ngarbage\xff\tmore\n"
    assert decode(AB, data) == [("1", "x")]
    for cut in range(len(data)):
        assert decode(AB, data, [cut], batch_bytes=1) == [("1", "x")]
    assert decode(AB, b"1\tx\n\\.") == [("1", "x")]
    assert decode(AB, b"1\tx\r\n\\.\r\n") == [("1", "x")]
    assert decode(AB, b"\\.x\ty\n") == [(".x", "y")]  # not alone on its line


def test_other_delimiter_and_null() -> None:
    fmt = CopyFormat(delimiter="|", null="NULL")
    copy = copy_in(fmt, "a", "b", "c")
    assert decode(copy, b"NULL|a\\|b|\\N\n") == [(None, "a|b", "N")]


def test_header_is_skipped_and_counted() -> None:
    copy = copy_in(CopyFormat(header=True), "a", "b")
    # The header may have any number of fields; line 3 is the short one.
    with pytest.raises(BadCopyFileFormat) as info:
        decode(copy, b"a\tb\tc\n1\t2\n3\n")
    assert info.value.context == 'COPY t, line 3: "3"'
    batches = decode_batches(copy, b"a\tb\n1\t2\n3\t4\n")
    assert [b.first_line for b in batches] == [2]
    assert decode(copy, b"a\tb\n") == []


@pytest.mark.parametrize(
    ("data", "message", "where"),
    [
        (b"1\tx\n2\ty\tz\n", "extra data after last expected column", 'line 2: "2\ty\tz"'),
        (b"1\tx\n2\n", 'missing data for column "b"', 'line 2: "2"'),
        (b"1\tx\n2\n3\ty\tz\n", 'missing data for column "b"', 'line 2: "2"'),
        (b"1\ta\rb\n", "literal carriage return found in data", 'line 1: "1\ta\rb"'),
    ],
)
def test_format_errors(data: bytes, message: str, where: str) -> None:
    with pytest.raises(BadCopyFileFormat, match=message) as info:
        decode(AB, data)
    assert info.value.sqlstate == "22P04"
    assert info.value.context == f"COPY t, {where}"


def test_line_numbers_across_batches() -> None:
    data = b"".join(b"%d\tx\n" % i for i in range(100)) + b"oops\n"
    with pytest.raises(BadCopyFileFormat) as info:
        decode(AB, data, range(0, len(data), 50), batch_bytes=64)
    assert info.value.context == 'COPY t, line 101: "oops"'
    batches = decode_batches(AB, data[:-5], range(0, len(data) - 5, 50), batch_bytes=64)
    assert len(batches) > 1
    line = 1
    for batch in batches:
        assert batch.first_line == line
        line += batch.batch.num_rows


def test_long_error_line_is_cut() -> None:
    with pytest.raises(BadCopyFileFormat) as info:
        decode(AB, b"x" * 300 + b"\n")
    assert info.value.context == 'COPY t, line 1: "' + "x" * 100 + '..."'


@pytest.mark.parametrize(
    ("data", "shown", "line"),
    [
        (b"1\tx\n2\t\xff\n", "0xff", 2),
        (b"1\t\xe2\x82\n", "0xe2 0x82 0x0a", 1),  # as many bytes as the lead byte says
        (b"1\tx\x00y\n", "0x00", 1),
        (b"1\tx\\000y\n", "0x00", 1),  # NUL from an escape
        (b"1\t\\377\n", "0xff", 1),  # invalid UTF-8 from an escape
    ],
)
def test_invalid_encoding(data: bytes, shown: str, line: int) -> None:
    with pytest.raises(CharacterNotInRepertoire) as info:
        decode(AB, data)
    assert info.value.message == f'invalid byte sequence for encoding "UTF8": {shown}'
    assert info.value.context is not None
    assert info.value.context.startswith(f"COPY t, line {line}")


def test_very_long_field_in_small_chunks() -> None:
    value = "é" * 300_000 + "\\" * 3
    data = "1\t{}\n2\tend\n".format(value.replace("\\", "\\\\")).encode()
    cuts = list(range(1000, len(data), 4096))
    assert decode(AB, data, cuts, batch_bytes=1 << 12) == [("1", value), ("2", "end")]


# -- encoding -------------------------------------------------------------------------


def _encode(batch: pa.RecordBatch, types: list[int], fmt: CopyFormat = TEXT) -> bytes:
    header = copy_header(fmt, batch.schema.names)
    return header + bytes(encode_copy(batch, types, fmt)) + copy_trailer(fmt)


def test_encode_escapes_and_nulls() -> None:
    batch = pa.record_batch(
        {
            "a": pa.array(["x\ty", "back\\slash", "\b\f\n\r\v\x01", None, ""]),
            "b": pa.array([1, None, -3, 4, 5], pa.int64()),
        }
    )
    assert _encode(batch, [oids.TEXT, oids.INT8]) == (
        b"x\\ty\t1\nback\\\\slash\t\\N\n\\b\\f\\n\\r\\v\x01\t-3\n\\N\t4\n\t5\n"
    )


def test_encode_other_delimiter_is_escaped() -> None:
    fmt = CopyFormat(delimiter=",", null="")
    batch = pa.record_batch({"a": ["1,2", None], "b": pa.array([1.5, None])})
    assert _encode(batch, [oids.TEXT, oids.FLOAT8], fmt) == b"1\\,2,1.5\n,\n"
    fmt = CopyFormat(delimiter="-", null="N")
    batch = pa.record_batch({"f": pa.array([-1.5, None]), "d": pa.array([dt.date(2024, 1, 2)] * 2)})
    assert _encode(batch, [oids.FLOAT8, oids.DATE], fmt) == (
        b"\\-1.5-2024\\-01\\-02\nN-2024\\-01\\-02\n"
    )


def test_encode_types_as_postgres_prints_them() -> None:
    batch = pa.record_batch(
        {
            "b": pa.array([True, False]),
            "arr": pa.array([[1, 2], [None, 3]], pa.list_(pa.int32())),
            "ts": pa.array([dt.datetime(2024, 1, 31, 10, 0, 0, 500000), dt.datetime(1999, 1, 1)]),
            "n": pa.array([decimal.Decimal("1.50"), decimal.Decimal("-2.00")], pa.decimal128(5, 2)),
            "by": pa.array([b"\x00\xff", b""]),
            "t": pa.array(['a "q" {b}', "c,d"]),
        }
    )
    types = [oids.BOOL, oids.INT4_ARRAY, oids.TIMESTAMP, oids.NUMERIC, oids.BYTEA, oids.TEXT]
    assert _encode(batch, types) == (
        b't\t{1,2}\t2024-01-31 10:00:00.5\t1.50\t\\\\x00ff\ta "q" {b}\n'
        b"f\t{NULL,3}\t1999-01-01 00:00:00\t-2.00\t\\\\x\tc,d\n"
    )


def test_encode_header() -> None:
    fmt = CopyFormat(header=True)
    assert copy_header(fmt, ["a", "b\tc", "d\\e"]) == b"a\tb\\tc\td\\\\e\n"
    assert copy_header(TEXT, ["a"]) == b""
    assert encode_copy(pa.record_batch({"a": pa.array([], pa.int64())}), [oids.INT8], TEXT) == b""


@pytest.mark.parametrize(
    ("fmt", "message"),
    [
        (CopyFormat(delimiter="ab"), "single one-byte character"),
        (CopyFormat(delimiter="é"), "single one-byte character"),
        (CopyFormat(delimiter="\n"), "cannot be newline"),
        (CopyFormat(delimiter="."), 'cannot be "."'),
        (CopyFormat(null="a\rb"), "null representation cannot use newline"),
        (CopyFormat(delimiter=",", null="a,b"), "must not appear in the NULL"),
        (CopyFormat(kind="csv", delimiter=",", quote=","), "delimiter and quote must be different"),
        (CopyFormat(kind="csv", delimiter=",", null='"'), "quote character must not appear"),
        (CopyFormat(kind="binary", header=True), "cannot specify HEADER in BINARY mode"),
        (CopyFormat(kind="json"), 'COPY format "json" not recognized'),
    ],
)
def test_bad_options(fmt: CopyFormat, message: str) -> None:
    with pytest.raises(ForgeError, match=message):
        copy_header(fmt, ["a"])
    with pytest.raises(ForgeError, match=message):
        decode(copy_in(fmt, "a"), b"")
