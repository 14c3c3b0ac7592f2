"""The compiled row framing (``_framer``) against the pure Python framing: the same bytes
for DataRows and every COPY TO format, and a refusal of buffers that do not hold the rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forge_sql.seam import oids
from forge_sql.seam.backend import CopyFormat
from forge_sql.wire.copy import binary_out
from forge_sql.wire.copy.encoder import encode_copy
from forge_sql.wire.encode import framer
from forge_sql.wire.encode.rows import encode_batch

_framer = pytest.importorskip("forge_sql.wire.encode._framer")

_COLUMNS: list[tuple[str, pa.DataType, int, st.SearchStrategy[Any]]] = [
    ("i", pa.int64(), oids.INT8, st.integers(-(2**63), 2**63 - 1)),
    ("s", pa.string(), oids.TEXT, st.text(st.characters(exclude_categories=["Cs"]), max_size=8)),
    ("f", pa.float64(), oids.FLOAT8, st.floats(width=64)),
    ("t", pa.timestamp("us"), oids.TIMESTAMP,
     st.datetimes(dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31))),
    ("b", pa.bool_(), oids.BOOL, st.booleans()),
    ("l", pa.large_string(), oids.TEXT, st.text(max_size=3)),
    ("h", pa.int16(), oids.INT2, st.integers(-(2**15), 2**15 - 1)),
    ("n", pa.int32(), oids.INT4, st.integers(-(2**31), 2**31 - 1)),
    ("r", pa.float32(), oids.FLOAT4, st.floats(width=32)),
    ("d", pa.date32(), oids.DATE, st.dates()),
    ("z", pa.timestamp("us", "UTC"), oids.TIMESTAMPTZ,
     st.datetimes(dt.datetime(1, 1, 2), dt.datetime(9999, 12, 30), timezones=st.just(dt.UTC))),
]


def both(encode: Callable[..., Any], *args: Any) -> tuple[bytes, bytes]:
    """Run an encoder with the compiled framing, then without: both outputs as bytes."""
    saved = framer.compiled
    try:
        framer.compiled = _framer
        fast = bytes(encode(*args))
        framer.compiled = None
        slow = bytes(encode(*args))
    finally:
        framer.compiled = saved
    return fast, slow


@st.composite
def batches(draw: st.DrawFn) -> tuple[pa.RecordBatch, list[int]]:
    rows = draw(st.integers(17, 60))  # above encode_batch's per-row path for tiny batches
    chosen = draw(st.lists(st.sampled_from(_COLUMNS), min_size=1, max_size=6))
    # Offsets into the buffers: none, mid-byte of the validity bitmap, and byte-aligned
    # (where fixed-width values are framed from numpy with the bitmap sliced).
    skip = draw(st.sampled_from([0, 3, 8, 16]))
    arrays, names = [], []
    for index, (name, typ, _, values) in enumerate(chosen):
        column = draw(st.lists(st.none() | values, min_size=rows + skip, max_size=rows + skip))
        arrays.append(pa.array(column, typ).slice(skip))
        names.append(f"{name}{index}")
    return pa.RecordBatch.from_arrays(arrays, names=names), [c[2] for c in chosen]


@settings(max_examples=40, deadline=None)
@given(batches())
def test_same_bytes_as_python(drawn: tuple[pa.RecordBatch, list[int]]) -> None:
    batch, types = drawn
    for formats in ([0], [1]):
        fast, slow = both(encode_batch, batch, types, formats)
        assert fast == slow and fast[:1] == b"D"
    for fmt in (CopyFormat(), CopyFormat(kind="csv", delimiter=",", null=""),
                CopyFormat(kind="binary")):
        for first in (None, b"", binary_out.HEADER):
            fast, slow = both(encode_copy, batch, types, fmt, first)
            assert fast == slow and len(fast) >= batch.num_rows


def test_fixed_width_columns() -> None:
    """A numpy column (one fixed-width value per row) frames as its rows of bytes."""
    matrix = np.arange(6, dtype=np.uint8).reshape(3, 2)
    out = _framer.fields(3, [framer.spec(matrix)], b"", b"")
    assert out == b"".join(b"\x00\x01\x00\x00\x00\x02" + bytes(r) for r in matrix.tolist())


def test_null_strings_per_column() -> None:
    values = pa.array([b"a", None, b"ccc"])
    out = _framer.delimited(3, [framer.spec(values)] * 2, [b"N", b""], b"|", True, b"H")
    assert out == (b"d\x00\x00\x00\x09Ha|a\n" + b"d\x00\x00\x00\x07N|\n"
                   + b"d\x00\x00\x00\x0cccc|ccc\n")


@pytest.mark.parametrize(
    ("column", "message"),
    [
        ((None, None, b"abc", 0, 2), "data too short"),  # 2 rows of 2 bytes need 4
        ((None, np.array([0, 1], np.int32).tobytes(), b"abc", 0, -1), "offsets too short"),
        ((None, np.array([0, 5, 6], np.int32).tobytes(), b"abc", 0, -1), "outside the data"),
        ((None, np.array([2, 1, 3], np.int32).tobytes(), b"abc", 0, -1), "out of order"),
        ((None, np.array([0, 1, 2], np.int64).tobytes(), b"ab", 0, -3), "bad offset or width"),
        ((b"", np.array([0, 1, 2], np.int32).tobytes(), b"ab", 0, -1), "bitmap too short"),
    ],
)
def test_refuses_buffers_that_do_not_hold_the_rows(column: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _framer.fields(2, [column], b"D", b"")
    with pytest.raises(ValueError, match=message):
        _framer.delimited(2, [column], [b""], b",", False, b"")


def test_fallback_is_selected_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORGE_SQL_PURE_PYTHON", "1")
    assert framer._load() is None
    monkeypatch.delenv("FORGE_SQL_PURE_PYTHON")
    assert framer._load() is _framer
