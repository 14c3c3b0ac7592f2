"""COPY csv format: quoting, NULL versus empty string, FORCE_* options, errors; byte-exact."""

from __future__ import annotations

import pyarrow as pa
import pytest
from conftest import CSV, copy_in, decode, decode_batches

from forge_sql.errors import BadCopyFileFormat
from forge_sql.seam import oids
from forge_sql.seam.backend import CopyFormat
from forge_sql.wire.copy.encoder import copy_header, copy_trailer, encode_copy

ABC = copy_in(CSV, "a", "b", "c")


@pytest.mark.parametrize(
    ("data", "rows"),
    [
        (b'1,x,y\n2,"x","y"\n', [("1", "x", "y"), ("2", "x", "y")]),
        (b',"",\n', [(None, "", None)]),  # unquoted empty: NULL; quoted: empty string
        (b'"a,b","c""d","e\nf"\n', [("a,b", 'c"d', "e\nf")]),
        (b'"x\r\ny",2,3\r\n4,5,6\r\n', [("x\r\ny", "2", "3"), ("4", "5", "6")]),
        (b'a"b,c"d,"" ,3\n', [("ab,cd", " ", "3")]),  # quotes may start mid-field
        (b'"a""","""",""""""\n', [('a"', '"', '""')]),
        (b'"",x,""y\n', [("", "x", "y")]),
        (b" a , b ,\n", [(" a ", " b ", None)]),  # spaces are data
        (b"1,\\N,3\n", [("1", "\\N", "3")]),  # backslashes are data
        (b'"\\.",2,3\n', [("\\.", "2", "3")]),
        (b"1,2,3", [("1", "2", "3")]),
    ],
)
def test_decode(data: bytes, rows: list[tuple[object, ...]]) -> None:
    assert decode(ABC, data) == rows
    for cut in range(1, len(data)):
        assert decode(ABC, data, [cut], batch_bytes=1) == rows


def test_null_string() -> None:
    copy = copy_in(CopyFormat(kind="csv", delimiter=",", null="NA"), "a", "b", "c")
    assert decode(copy, b'NA,"NA",\n') == [(None, "NA", "")]


def test_force_null_and_force_not_null() -> None:
    fmt = CopyFormat(kind="csv", delimiter=",", null="", force_null=("a",), force_not_null=("b",))
    copy = copy_in(fmt, "a", "b", "c")
    assert decode(copy, b'"",,""\n,"",\n') == [(None, "", ""), (None, "", None)]
    both = CopyFormat(kind="csv", delimiter=",", null="", force_null=("a",), force_not_null=("a",))
    copy = copy_in(both, "a", "b", "c")
    # As NextCopyFrom: FORCE_NOT_NULL turns unquoted NULLs into '', FORCE_NULL quoted '' NULL.
    assert decode(copy, b',x,y\n"",x,y\n') == [("", "x", "y"), (None, "x", "y")]
    star = CopyFormat(kind="csv", delimiter=",", null="", force_not_null=("*",))
    assert decode(copy_in(star, "a", "b", "c"), b",,\n") == [("", "", "")]


def test_escape_other_than_quote() -> None:
    fmt = CopyFormat(kind="csv", delimiter=",", null="", escape="\\")
    copy = copy_in(fmt, "a", "b", "c")
    rows = [('a"b', "c\\d", "e\\\\f")]
    assert decode(copy, b'"a\\"b","c\\\\d",e\\\\f\n') == rows
    # The escape only works inside quotes, and only before a quote or an escape.
    assert decode(copy, b'\\"x,y",\\a,"\\a"\n') == [("\\x,y", "\\a", "\\a")]
    assert decode(copy, b'"\\\\",2,3\n') == [("\\", "2", "3")]


def test_other_delimiter_and_quote() -> None:
    fmt = CopyFormat(kind="csv", delimiter=";", null="", quote="'", escape="'")
    copy = copy_in(fmt, "a", "b")
    assert decode(copy, b"'a;b';'it''s'\n;''\n") == [("a;b", "it's"), (None, "")]


def test_header_and_end_marker() -> None:
    fmt = CopyFormat(kind="csv", delimiter=",", null="", header=True)
    copy = copy_in(fmt, "a", "b")
    data = b'"a\nstill header",b\n1,2\n\\.\nnot,read,at all\n'
    batches = decode_batches(copy, data)
    assert [b.first_line for b in batches] == [3]  # the header has two lines
    assert decode(copy, data) == [("1", "2")]


@pytest.mark.parametrize(
    ("data", "message", "where"),
    [
        (b"1,2,3\n1,2\n", 'missing data for column "c"', 'line 2: "1,2"'),
        (b'1,2,"3,4"\n1,2,3,4\n', "extra data after last expected column", 'line 2: "1,2,3,4"'),
        (b'1,2,"3\n', "unterminated CSV quoted field", 'line 2: "1,2,\\"3\n"'),
        (b"1,2,3\r4\n", "unquoted carriage return found in data", 'line 1: "1,2,3\r4"'),
    ],
)
def test_format_errors(data: bytes, message: str, where: str) -> None:
    with pytest.raises(BadCopyFileFormat, match=message) as info:
        decode(ABC, data)
    assert info.value.context == f"COPY t, {where}".replace('\\"', '"')


def test_lines_of_multi_line_records() -> None:
    """As PostgreSQL counts: a newline in a quoted field is a line, a record is numbered by
    its last line; batches are cut so that first_line + i stays right, or carry ``lines``."""
    copy = copy_in(CSV, "a")
    data = b'1\n"x\ny"\n2\n3\n"\n\n"\n4\n'
    batches = decode_batches(copy, data)
    assert [(b.first_line, b.batch.num_rows, b.lines) for b in batches] == [
        (1, 1, None),
        (3, 3, None),
        (8, 2, None),
    ]
    with pytest.raises(BadCopyFileFormat) as info:
        decode(copy_in(CSV, "a", "b"), data)
    assert info.value.context == 'COPY t, line 1: "1"'
    with pytest.raises(BadCopyFileFormat) as info:
        decode(copy_in(CSV, "a"), b'"x\ny"\n2,3\n')
    assert info.value.context == 'COPY t, line 3: "2,3"'
    many = b"".join(b'"%d\n"\n' % i for i in range(40))
    [batch] = decode_batches(copy, many)
    assert batch.lines is not None
    assert [batch.line(i) for i in (0, 1, 39)] == [2, 4, 80]


def test_unterminated_quote_after_end_marker_is_ignored() -> None:
    assert decode(ABC, b'1,2,3\n\\.\n"open') == [("1", "2", "3")]


# -- encoding -------------------------------------------------------------------------


def _encode(batch: pa.RecordBatch, types: list[int], fmt: CopyFormat = CSV) -> bytes:
    header = copy_header(fmt, batch.schema.names)
    return header + bytes(encode_copy(batch, types, fmt)) + copy_trailer(fmt)


def test_encode_quoting() -> None:
    batch = pa.record_batch(
        {
            "a": pa.array(["plain", "", None, "a,b", 'say "hi"', "two\nlines", "cr\r", "\\."]),
            "n": pa.array([1, 2, None, 4, 5, 6, 7, 8], pa.int64()),
        }
    )
    assert _encode(batch, [oids.TEXT, oids.INT8]) == (
        b'plain,1\n"",2\n,\n"a,b",4\n"say ""hi""",5\n"two\nlines",6\n"cr\r",7\n\\.,8\n'
    )


def test_encode_single_column_end_marker_is_quoted() -> None:
    batch = pa.record_batch({"a": ["\\.", "x"]})
    assert _encode(batch, [oids.TEXT]) == b'"\\."\nx\n'


def test_encode_null_string_and_force_quote() -> None:
    fmt = CopyFormat(kind="csv", delimiter=",", null="NA", force_quote=("b",))
    batch = pa.record_batch(
        {
            "a": pa.array(["NA", "", None]),
            "b": pa.array([1.5, None, 2.0]),
        }
    )
    assert _encode(batch, [oids.TEXT, oids.FLOAT8], fmt) == b'"NA","1.5"\n,NA\nNA,"2"\n'
    star = CopyFormat(kind="csv", delimiter=",", null="", force_quote=("*",))
    assert _encode(batch, [oids.TEXT, oids.FLOAT8], star) == b'"NA","1.5"\n"",\n,"2"\n'


def test_encode_escape_other_than_quote() -> None:
    fmt = CopyFormat(kind="csv", delimiter="|", null="", quote="'", escape="\\")
    batch = pa.record_batch({"a": ["it's", "back\\slash", "a|b", "no\\quote"]})
    assert _encode(batch, [oids.TEXT], fmt) == b"'it\\'s'\nback\\slash\n'a|b'\nno\\quote\n"


def test_encode_header() -> None:
    fmt = CopyFormat(kind="csv", delimiter=",", null="", header=True)
    assert copy_header(fmt, ["id", "a,b", 'q"', ""]) == b'id,"a,b","q""",""\n'
    assert copy_header(fmt, ["\\."]) == b'"\\."\n'
    assert copy_header(CSV, ["id"]) == b""
