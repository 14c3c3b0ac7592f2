"""Arrow's CSV reader as the first decoder of text and CSV COPY data: every value it takes
it reads as DuckDB's cast from text would, and it leaves everything else to the general
decoder."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from conftest import CSV, TEXT, copy_in, decode_batches
from hypothesis import given, settings
from hypothesis import strategies as st

from forge_sql.errors import BadCopyFileFormat
from forge_sql.seam import oids
from forge_sql.seam.backend import Column, CopyFormat, CopyIn
from forge_sql.wire.copy import decoder
from forge_sql.wire.copy.arrow_in import ArrowReader

_KINDS = {
    oids.INT2: "SMALLINT",
    oids.INT4: "INTEGER",
    oids.INT8: "BIGINT",
    oids.FLOAT8: "DOUBLE",
    oids.BOOL: "BOOLEAN",
    oids.DATE: "DATE",
    oids.TIMESTAMP: "TIMESTAMP",
}
_SPELLINGS = {
    oids.INT2: ["5", "-32768", "32767", "32768", " 7 ", "0x10", "0b1", "+5", "1e2", "1.0", ""],
    oids.INT4: ["2147483647", "2147483648", "-0", "007", "1_000"],
    oids.INT8: ["9223372036854775807", "9223372036854775808", "-", "0o7"],
    oids.FLOAT8: ["1.5", "nan", "-inf", "Infinity", "1e308", "2e308", "4.9e-324", ".5", "5.",
                  "+1.5", " 1.5 ", "1d5", "0x1p3", "1,5"],
    oids.BOOL: ["t", "f", "true", "false", "TRUE", "1", "0", "yes", "on", "x"],
    oids.DATE: ["2024-01-01", "2024-02-29", "2023-02-29", "0000-01-01", "-0001-01-01",
                " 2024-01-01", "2024-1-1", "20240101", "2024-01-01 00:00:00"],
    oids.TIMESTAMP: [
        "2024-01-01 00:00:00", "2024-01-01T00:00:00", "2024-01-01", "2024-01-01 10",
        "2024-01-01T10", "2024-01-01 10:00", "2024-01-01 00:00:00Z", "2024-01-01 00:00:00+02",
        "2024-01-01 00:00:00.123456789", "2024-01-01 00:00:00.5", "2024-1-1 00:00:00",
        "0001-01-01 00:00:00", "0000-06-01 00:00:00", "2024-01-01 24:00:00",
        "2024-01-01 00:00:00.", "infinity", "2024-01-01 00:00:00 BC", " 2024-01-01 00:00:00",
        "12024-01-01 00:00:00",
    ],
}


def _duckdb_cast(value: str, kind: str) -> Any:
    try:
        return duckdb.sql(f"SELECT CAST(? AS {kind})::VARCHAR", params=[value]).fetchone()[0]  # type: ignore[index]
    except duckdb.Error:
        return "error"


@pytest.mark.parametrize(
    ("oid", "value"), [(oid, value) for oid, values in _SPELLINGS.items() for value in values]
)
def test_a_value_taken_is_read_as_duckdb_casts_it(oid: int, value: str) -> None:
    reader = ArrowReader(CopyIn(TEXT, (Column("a", oid),), "t"))
    read = reader.read(value.encode() + b"\n", final=False)
    if read is None:
        return  # left to the general decoder and the engine's cast: nothing to compare
    (got,) = read[0].column(0).to_pylist()
    expected = _duckdb_cast(value, _KINDS[oid])
    assert expected != "error", f"Arrow took {value!r}, which DuckDB refuses"
    back = duckdb.sql(f"SELECT CAST(? AS {_KINDS[oid]})::VARCHAR", params=[got]).fetchone()
    assert back is not None and (back[0] == expected or (
        oid == oids.FLOAT8 and math.isnan(float(expected)) and math.isnan(got)))


def test_plain_data_is_read_typed() -> None:
    columns = (Column("i", oids.INT8), Column("s", oids.TEXT), Column("f", oids.FLOAT8),
               Column("t", oids.TIMESTAMP), Column("b", oids.BOOL), Column("d", oids.DATE),
               Column("n", oids.NUMERIC))
    data = b"1\tx\t1.5\t2024-01-01 10:00:00.25\tt\t2024-02-29\t1.50\n" + b"\t".join([b"\\N"] * 7)
    read = ArrowReader(CopyIn(TEXT, columns, "t")).read(data, final=True)
    assert read is not None
    batch, used = read
    assert used == len(data)
    assert batch.schema.types == [pa.int64(), pa.string(), pa.float64(), pa.timestamp("us"),
                                  pa.bool_(), pa.date32(), pa.string()]
    assert batch.to_pylist() == [
        {"i": 1, "s": "x", "f": 1.5, "t": dt.datetime(2024, 1, 1, 10, 0, 0, 250000), "b": True,
         "d": dt.date(2024, 2, 29), "n": "1.50"},
        dict.fromkeys("isftbdn"),
    ]


def test_only_complete_lines_are_read() -> None:
    reader = ArrowReader(copy_in(TEXT, "a", "b"))
    read = reader.read(b"1\tx\n2\ty\n3\tz", final=False)
    assert read is not None and read[1] == 8 and read[0].num_rows == 2
    assert reader.read(b"3\tz", final=False) is None  # no complete line yet


@pytest.mark.parametrize(
    ("fmt", "data"),
    [
        (TEXT, b"a\\tb\tc\n"),  # an escape
        (TEXT, b"a\\N\tc\n"),  # \N inside a field is an escaped N
        (TEXT, b"\\\\N\tc\n"),  # an escaped backslash, then N
        (TEXT, b"a\tb\r\n"),  # CR LF
        (TEXT, b"a\tb\x00\n"),  # NUL
        (TEXT, b"a\tb\n\na\tb\n"),  # an empty line: one field, too few
        (TEXT, b"a\tb\n\\.\n"),  # the end-of-data marker
        (TEXT, b"a\tb\tc\n"),  # a field too many
        (TEXT, b"a\n"),  # a field too few
        (TEXT, b"a\t\xff\n"),  # not UTF-8
        (CSV, b'"a",b\n'),  # quotes
        (CSV, b"a,b\n\\.\n"),
    ],
)
def test_data_left_to_the_general_decoder(fmt: Any, data: bytes) -> None:
    assert ArrowReader(copy_in(fmt, "a", "b")).read(data, final=True) is None


def test_options_the_reader_does_not_take() -> None:
    forced = CopyFormat(kind="csv", delimiter=",", null="", force_not_null=("a",))
    assert not ArrowReader(copy_in(forced, "a")).usable
    assert not ArrowReader(copy_in(CopyFormat(kind="binary"), "a")).usable


def test_line_numbers_continue_after_typed_batches() -> None:
    """A fault after batches Arrow read is reported on the line the general decoder counts."""
    copy = CopyIn(TEXT, (Column("a", oids.INT8), Column("b", oids.TEXT)), "t")
    data = b"".join(b"%d\tx\n" % i for i in range(1000)) + b"1\tx\ty\n"
    with pytest.raises(BadCopyFileFormat) as info:
        decode_batches(copy, data, cuts=[1000, 3000], batch_bytes=512)
    assert info.value.context == 'COPY t, line 1001: "1\tx\ty"'


_plain_text = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF,
                                    exclude_characters='\\"\x7f,'), max_size=6)
_rows = st.lists(
    st.tuples(st.none() | st.integers(-(2**63), 2**63 - 1), st.none() | _plain_text,
              st.none() | st.floats(allow_nan=False), st.none() | st.booleans()),
    min_size=1, max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(_rows, st.sampled_from([TEXT, CSV]), st.integers(16, 400))
def test_same_rows_as_the_general_decoder(
    rows: list[tuple[Any, ...]], fmt: Any, batch_bytes: int
) -> None:
    delimiter, null = fmt.delimiter, fmt.null
    lines = []
    for row in rows:
        fields = [null if v is None else ("t" if v else "f") if isinstance(v, bool) else str(v)
                  for v in row]
        lines.append(delimiter.join(fields))
    data = ("\n".join(lines) + "\n").encode()
    copy = CopyIn(fmt, (Column("i", oids.INT8), Column("s", oids.TEXT), Column("f", oids.FLOAT8),
                        Column("b", oids.BOOL)), "t")
    got = {}
    for arrow in (True, False):
        saved, decoder.ARROW_READER = decoder.ARROW_READER, arrow
        try:
            batches = decode_batches(copy, data, batch_bytes=batch_bytes)
        finally:
            decoder.ARROW_READER = saved
        decoded = pa.Table.from_batches([b.batch for b in batches])
        got[arrow] = duckdb.sql(
            "SELECT i::BIGINT, s, f::DOUBLE, b::BOOLEAN FROM decoded"
        ).fetchall()
        del decoded  # read by name by DuckDB's replacement scan
        assert [b.first_line for b in batches] == sorted({b.first_line for b in batches})
        typed = [b.batch.schema.field("i").type == pa.int64() for b in batches]
        assert all(typed) if arrow else not any(typed)
    assert got[True] == got[False]
