"""A handful of rows take the per-row path: the same DataRows as the columnar one."""

from __future__ import annotations

import pyarrow as pa
import pytest

from forge_sql.seam import oids
from forge_sql.wire.encode.rows import BINARY, TEXT, _few_rows, _few_values
from forge_sql.wire.encode.text import text_of
from forge_sql.wire.messages import data_row

INTEGERS = [
    pa.array([0, -1, None, -(2**7)], pa.int8()),
    pa.array([2**15 - 1, None], pa.int16()),
    pa.array([-(2**31), 2**31 - 1], pa.int32()),
    pa.array([-(2**63), 2**63 - 1, None], pa.int64()),
    pa.array([0, 2**64 - 1, None], pa.uint64()),
    pa.array([None, None], pa.int32()),
]


@pytest.mark.parametrize("array", INTEGERS, ids=lambda a: str(a.type))
def test_integers_print_as_the_cast_kernel_prints_them(array: pa.Array) -> None:
    assert _few_values(array, oids.INT8, TEXT) == text_of(array, oids.INT8).to_pylist()


def test_a_row_of_select_1() -> None:
    batch = pa.record_batch([pa.array([1], pa.int32())], names=["?column?"])
    assert _few_rows(batch, [oids.INT4], [TEXT]) == data_row([b"1"])
    assert _few_rows(batch, [oids.INT4], [BINARY]) == data_row([b"\x00\x00\x00\x01"])
