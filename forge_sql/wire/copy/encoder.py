"""COPY TO STDOUT data: the header, whole batches of rows, the trailer."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from forge_sql.errors import FeatureNotSupported
from forge_sql.seam.backend import CopyFormat
from forge_sql.wire.copy import binary_out
from forge_sql.wire.copy.csv_out import csv_header, csv_rows
from forge_sql.wire.copy.options import check_format
from forge_sql.wire.copy.text_out import text_header, text_rows


def copy_header(copy: CopyFormat, names: Sequence[str]) -> bytes:
    """What precedes the rows: the HEADER line (text, csv) or the binary file header."""
    check_format(copy)
    if copy.kind == "binary":
        return binary_out.HEADER
    if not copy.header:
        return b""
    if copy.kind == "csv":
        return csv_header(names, copy)
    return text_header(names, copy)


def encode_copy(
    batch: pa.RecordBatch, type_oids: Sequence[int], copy: CopyFormat, first: bytes | None = None
) -> bytes | pa.Buffer:
    """Every row of ``batch`` in the COPY format, encoded column-wise.

    With ``first`` given, the result is CopyData messages, one per row, ``first``
    (e.g. the binary file header) opening the first message.
    """
    if len(type_oids) != batch.num_columns:
        raise ValueError(f"{len(type_oids)} type OIDs for {batch.num_columns} columns")
    if batch.num_rows == 0:
        return b""
    check_format(copy)
    if copy.kind == "text":
        return text_rows(batch, type_oids, copy, first)
    if copy.kind == "csv":
        return csv_rows(batch, type_oids, copy, first)
    if copy.kind == "binary":
        return binary_out.binary_rows(batch, type_oids, first)
    raise FeatureNotSupported(f'COPY format "{copy.kind}" not recognized')


def copy_trailer(copy: CopyFormat) -> bytes:
    """What follows the rows: the binary file trailer (int16 -1); nothing for text and csv."""
    return binary_out.TRAILER if copy.kind == "binary" else b""
