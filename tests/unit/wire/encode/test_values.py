"""A few rows held as Python values are encoded to the same DataRow bytes as the same
rows read as Arrow, in text and binary."""

from __future__ import annotations

import pyarrow as pa
import pytest

from forge_sql.errors import InternalError
from forge_sql.seam import oids
from forge_sql.wire.encode.rows import encode_batch
from forge_sql.wire.encode.values import ENCODED, encode_values

COLUMNS = [
    (oids.BOOL, pa.bool_(), [True, False, None]),
    (oids.INT2, pa.int16(), [-32768, 32767, None]),
    (oids.INT2, pa.int8(), [-128, 127, 0]),  # TINYINT is announced as int2
    (oids.INT4, pa.int32(), [1, -2147483648, None]),
    (oids.INT8, pa.int64(), [9223372036854775807, -1, None]),
    (oids.TEXT, pa.string(), ["", "é", None]),
    (oids.VARCHAR, pa.string(), ["abc", None, "x y"]),
]


@pytest.mark.parametrize("code", [0, 1])
@pytest.mark.parametrize("oid,kind,values", COLUMNS)
def test_one_column_as_arrow_encodes_it(oid: int, kind: pa.DataType, values: list[object],
                                        code: int) -> None:
    batch = pa.RecordBatch.from_arrays([pa.array(values, kind)], names=["c"])
    expected = bytes(encode_batch(batch, [oid], [code]))
    assert encode_values([(v,) for v in values], [oid], [code]) == expected


@pytest.mark.parametrize("codes", [[0] * len(COLUMNS), [1] * len(COLUMNS),
                                   [i % 2 for i in range(len(COLUMNS))]])
def test_rows_of_every_type_and_mixed_formats(codes: list[int]) -> None:
    arrays = [pa.array(values, kind) for _, kind, values in COLUMNS]
    batch = pa.RecordBatch.from_arrays(arrays, names=[f"c{i}" for i in range(len(arrays))])
    type_oids = [oid for oid, _, _ in COLUMNS]
    rows = list(zip(*(values for _, _, values in COLUMNS), strict=True))
    assert encode_values(rows, type_oids, codes) == bytes(
        encode_batch(batch, type_oids, codes))


def test_no_rows_no_bytes() -> None:
    assert encode_values([], [oids.INT4], [0]) == b""


def test_only_plain_types() -> None:
    assert {oids.BOOL, oids.INT2, oids.INT4, oids.INT8, oids.TEXT, oids.VARCHAR} == ENCODED


@pytest.mark.parametrize("code", [0, 1])
def test_a_value_of_another_type_is_an_internal_error(code: int) -> None:
    with pytest.raises(InternalError):
        encode_values([(1.5,)], [oids.INT4], [code])
