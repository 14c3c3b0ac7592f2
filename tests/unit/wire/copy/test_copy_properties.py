"""Property tests: the decoder against byte-at-a-time reference parsers on random input,
encode -> decode round trips in random chunks, and psycopg's own COPY row format."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

import pyarrow as pa
import reference
from conftest import copy_in, decode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg._copy_base import (  # the pure-Python row codecs of psycopg's Copy
    _format_row_binary,
    _format_row_text,
    _parse_row_text,
)
from psycopg.adapt import Transformer
from psycopg.pq import Format

from forge_sql.errors import ForgeError
from forge_sql.seam import oids
from forge_sql.seam.backend import CopyFormat
from forge_sql.wire.copy.encoder import copy_header, copy_trailer, encode_copy

NAMES = ("a", "b", "c")
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_values = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"))
_tricky = st.text(st.sampled_from(list(",;|\t\n\r\"'\\. NAé€😀x")), max_size=12)
_cell = st.none() | _values | _tricky


def _cuts(size: int) -> st.SearchStrategy[list[int]]:
    return st.lists(st.integers(0, max(size, 0)), max_size=8)


def _compare(expected: Any, copy: Any, data: bytes, cuts: list[int], batch_bytes: int) -> None:
    try:
        got: Any = decode(copy, data, cuts, batch_bytes)
    except ForgeError as exc:
        got = exc
    if isinstance(expected, reference.Failure):
        assert isinstance(got, ForgeError), (expected, got)
        assert expected.message in got.message, (expected, got.message)
        line = re.match(r"COPY t, line (\d+)", got.context or "")
        assert line is not None and int(line.group(1)) == expected.line, (expected, got.context)
    else:
        assert not isinstance(got, ForgeError), (got, got.context)
        assert got == expected


# -- random bytes against the reference parsers ------------------------------------------

_TEXT_TOKENS = [
    *[b"a", b"b", b"1", b" ", "é".encode(), "😀".encode(), b"N"] * 3,
    *[b"\t", b"\n"] * 4,
    b"\r\n",
    b"\\\\",
    b"\\n",
    b"\\t",
    b"\\r",
    b"\\b",
    b"\\v",
    b"\\f",
    b"\\101",
    b"\\x4a",
    b"\\x4",
    b"\\x",
    b"\\q",
    b"\\.",
    b"\\N",
    b"\\",
    b"\\\t",
    b"\\\n",
    b"\\7",
    b"\\18",
    b"\\303\\251",
    b"|",
    b"\\|",
    b",",
    b"\\,",
    b"\\\r\n",
]
_TEXT_HOSTILE = [b"\\0", b"\\377", b"\xff", b"\r", b"\x00", b"\xe2\x82"]


@SETTINGS
@given(
    tokens=st.lists(st.sampled_from(_TEXT_TOKENS), max_size=60),
    hostile=st.lists(st.tuples(st.integers(0, 60), st.sampled_from(_TEXT_HOSTILE)), max_size=1),
    columns=st.integers(1, 3),
    delimiter=st.sampled_from([b"\t", b"|", b","]),
    null=st.sampled_from([b"\\N", b"", b"N"]),
    header=st.booleans(),
    data=st.data(),
)
def test_text_against_reference(
    tokens: list[bytes],
    hostile: list[tuple[int, bytes]],
    columns: int,
    delimiter: bytes,
    null: bytes,
    header: bool,
    data: st.DataObject,
) -> None:
    for at, token in hostile:
        tokens.insert(min(at, len(tokens)), token)
    raw = b"".join(tokens)
    names = NAMES[:columns]
    try:
        expected: Any = reference.text_rows(raw, delimiter, null, names, header)
    except reference.Failure as failure:
        expected = failure
    fmt = CopyFormat(delimiter=delimiter.decode(), null=null.decode(), header=header)
    cuts = data.draw(_cuts(len(raw)))
    batch_bytes = data.draw(st.sampled_from([1, 7, 64, 8 << 20]))
    _compare(expected, copy_in(fmt, *names), raw, cuts, batch_bytes)


_CSV_TOKENS = [
    *[b"a", b"x y", "é".encode(), b"NA"] * 3,
    *[b",", b"\n", b'"'] * 4,
    b"\r\n",
    b'""',
    b"\\",
    b"\\.",
    b"\\\\",
    b'\\"',
    b";",
    b"'",
    b" ",
]


@SETTINGS
@given(
    tokens=st.lists(st.sampled_from(_CSV_TOKENS), max_size=60),
    bare_cr=st.lists(st.integers(0, 60), max_size=1),
    columns=st.integers(1, 3),
    options=st.sampled_from(
        [
            (b",", b'"', b'"'),
            (b",", b'"', b"\\"),
            (b";", b"'", b"'"),
            (b",", b"'", b"\\"),
        ]
    ),
    null=st.sampled_from([b"", b"NA", b"\\N"]),
    header=st.booleans(),
    force=st.sampled_from([((), ()), (("a",), ()), ((), ("a", "b")), (("b",), ("b",))]),
    data=st.data(),
)
def test_csv_against_reference(
    tokens: list[bytes],
    bare_cr: list[int],
    columns: int,
    options: tuple[bytes, ...],
    null: bytes,
    header: bool,
    force: tuple[tuple[str, ...], tuple[str, ...]],
    data: st.DataObject,
) -> None:
    for at in bare_cr:
        tokens.insert(min(at, len(tokens)), b"\r")
    raw = b"".join(tokens)
    delimiter, quote, escape = options
    names = NAMES[:columns]
    force_null = tuple(n for n in force[0] if n in names)
    force_not_null = tuple(n for n in force[1] if n in names)
    try:
        expected: Any = reference.csv_rows(
            raw, delimiter, quote, escape, null, names, header, force_null, force_not_null
        )
    except reference.Failure as failure:
        expected = failure
    fmt = CopyFormat(
        kind="csv",
        delimiter=delimiter.decode(),
        quote=quote.decode(),
        escape=escape.decode(),
        null=null.decode(),
        header=header,
        force_null=force_null,
        force_not_null=force_not_null,
    )
    cuts = data.draw(_cuts(len(raw)))
    batch_bytes = data.draw(st.sampled_from([1, 7, 64, 8 << 20]))
    _compare(expected, copy_in(fmt, *names), raw, cuts, batch_bytes)


# -- encode -> decode round trips --------------------------------------------------------

_FORMATS = st.sampled_from(
    [
        CopyFormat(),
        CopyFormat(delimiter=",", null=""),
        CopyFormat(delimiter="|", null="NULL", header=True),
        CopyFormat(kind="csv", delimiter=",", null=""),
        CopyFormat(kind="csv", delimiter=";", null="NA", quote="'", escape="\\", header=True),
        CopyFormat(kind="csv", delimiter="\t", null="\\N", force_quote=("*",)),
        CopyFormat(kind="binary"),
    ]
)


@SETTINGS
@given(
    rows=st.lists(st.tuples(_cell, _cell), max_size=30),
    fmt=_FORMATS,
    data=st.data(),
)
def test_round_trip_in_random_chunks(
    rows: list[tuple[str | None, str | None]], fmt: CopyFormat, data: st.DataObject
) -> None:
    # A value equal to the text NULL marker cannot survive (PostgreSQL's own limitation).
    if fmt.kind == "text":
        rows = [tuple(None if v == fmt.null else v for v in row) for row in rows]  # type: ignore[misc]
    batch = pa.record_batch(
        {
            "a": pa.array([r[0] for r in rows], pa.string()),
            "b": pa.array([r[1] for r in rows], pa.string()),
        }
    )
    types = [oids.TEXT, oids.VARCHAR]
    raw = copy_header(fmt, ["a", "b"]) + bytes(encode_copy(batch, types, fmt)) + copy_trailer(fmt)
    copy = copy_in(fmt, "a", "b", types=types)
    cuts = data.draw(_cuts(len(raw)))
    batch_bytes = data.draw(st.sampled_from([1, 13, 8 << 20]))
    assert decode(copy, raw, cuts, batch_bytes) == rows


_TYPES = [oids.INT8, oids.TEXT, oids.FLOAT8, oids.BOOL, oids.TIMESTAMP]
_ROW = st.tuples(
    st.none() | st.integers(-(2**63), 2**63 - 1),
    st.none() | _values,
    st.none() | st.floats(allow_nan=False),
    st.none() | st.booleans(),
    st.none() | st.datetimes(dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31)),
)


def _batch(rows: list[tuple[Any, ...]]) -> pa.RecordBatch:
    typs = [pa.int64(), pa.string(), pa.float64(), pa.bool_(), pa.timestamp("us")]
    return pa.record_batch(
        [pa.array([r[i] for r in rows], t) for i, t in enumerate(typs)],
        names=["i", "t", "f", "b", "ts"],
    )


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(_ROW, max_size=20))
def test_text_matches_psycopg(rows: list[tuple[Any, ...]]) -> None:
    """Our text COPY rows are byte for byte what psycopg writes, and psycopg parses them."""
    dumper = Transformer()
    dumper.set_dumper_types(_TYPES, Format.TEXT)
    theirs = bytearray()
    for row in rows:
        _format_row_text(row, dumper, theirs)
    ours = bytes(encode_copy(_batch(rows), _TYPES, CopyFormat()))
    loader = Transformer()
    loader.set_loader_types(_TYPES, Format.TEXT)
    parsed = [_parse_row_text(line + b"\n", loader) for line in ours.split(b"\n")[:-1]]
    assert [_normal(r) for r in parsed] == [_normal(r) for r in rows]
    # psycopg prints floats with repr() and timestamps with isoformat: compare the other
    # columns byte for byte.
    pairs = zip(ours.split(b"\n")[:-1], bytes(theirs).split(b"\n")[:-1], strict=True)
    for our_line, their_line in pairs:
        ours_fields, theirs_fields = our_line.split(b"\t"), their_line.split(b"\t")
        assert [ours_fields[i] for i in (0, 1, 3)] == [theirs_fields[i] for i in (0, 1, 3)]
    decoded = decode(copy_in(CopyFormat(), *"itfbs", types=_TYPES), bytes(theirs))
    assert [r[1] for r in decoded] == [r[1] for r in rows]


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(_ROW, max_size=20), data=st.data())
def test_binary_matches_psycopg(rows: list[tuple[Any, ...]], data: st.DataObject) -> None:
    """Binary tuples: our bytes equal psycopg's, and we decode psycopg's to the same values."""
    dumper = Transformer()
    dumper.set_dumper_types(_TYPES, Format.BINARY)
    theirs = bytearray()
    for row in rows:
        _format_row_binary(row, dumper, theirs)
    fmt = CopyFormat(kind="binary")
    ours = bytes(encode_copy(_batch(rows), _TYPES, fmt)) if rows else b""
    assert ours == bytes(theirs)
    loader = Transformer()
    loader.set_loader_types(_TYPES, Format.BINARY)
    stream = copy_header(fmt, []) + bytes(theirs) + copy_trailer(fmt)
    cuts = data.draw(_cuts(len(stream)))
    decoded = decode(copy_in(fmt, *"itfbs", types=_TYPES), stream, cuts, 16)
    assert [_normal(r) for r in decoded] == [_normal(r) for r in rows]


def _normal(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(("nan" if isinstance(v, float) and math.isnan(v) else v) for v in row)


_SMALL = st.none() | st.sampled_from([0, 1, 2, 3, 255, 256, 512, 513, -1, -256, 0x7FFF])
_BYTES = (
    st.none()
    | st.binary(max_size=12)
    | st.sampled_from(
        [b"\x00\x03", b"\x00\x03\x00\x00\x00\x02", b"\xff\xff", b"\x00\x03\xff\xff\xff\xff"]
    )
)


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(st.tuples(_SMALL, _BYTES, _SMALL), max_size=40),
    data=st.data(),
)
def test_binary_tuples_that_look_like_tuples(
    rows: list[tuple[int | None, bytes | None, int | None]], data: st.DataObject
) -> None:
    """Values whose bytes resemble a field count (00 03) or a trailer do not confuse the
    tuple walk, whatever the chunking."""
    types = [oids.INT2, oids.BYTEA, oids.INT4]
    batch = pa.record_batch(
        [
            pa.array([r[0] for r in rows], pa.int16()),
            pa.array([r[1] for r in rows], pa.binary()),
            pa.array([r[2] for r in rows], pa.int32()),
        ],
        names=["a", "b", "c"],
    )
    fmt = CopyFormat(kind="binary")
    stream = copy_header(fmt, []) + bytes(encode_copy(batch, types, fmt)) + copy_trailer(fmt)
    cuts = data.draw(_cuts(len(stream)))
    batch_bytes = data.draw(st.sampled_from([1, 9, 8 << 20]))
    assert decode(copy_in(fmt, "a", "b", "c", types=types), stream, cuts, batch_bytes) == rows
