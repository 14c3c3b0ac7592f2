"""The rows of a SELECT without FROM (``SELECT 1``, what pools and health checks send),
taken as Python values: DuckDB's Arrow stream costs more to set up than such a row, and
so do Arrow arrays built from them (the wire encodes them as they are)."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import duckdb
import pyarrow as pa

from forge_sql.sql.statements import Statement

# DuckDB types whose Python values become the same Arrow values DuckDB's export gives.
_ARROW_TYPES = {
    "BOOLEAN": pa.bool_(),
    "TINYINT": pa.int8(),
    "SMALLINT": pa.int16(),
    "INTEGER": pa.int32(),
    "BIGINT": pa.int64(),
    "VARCHAR": pa.string(),
}


def applies(statement: Statement, description: Sequence[Sequence[Any]]) -> bool:
    """Whether ``statement`` reads no table and calls no function, so its rows are as few
    as its text spells, and every column has one of the plain types above."""
    if statement.kind != "SELECT" or not description:
        return False
    tokens = statement.tokens
    if any(t.upper in ("FROM", "UNNEST") for t in tokens):
        return False
    # A function call may be a macro that unnests (``CREATE MACRO u(x) AS unnest(x)``):
    # its rows are not bounded by the text, so they stream with bounded memory.
    if any(t.kind == "identifier" and n.text == "(" for t, n in pairwise(tokens)):
        return False
    return all(str(d[1]) in _ARROW_TYPES for d in description)


def fetch(cursor: duckdb.DuckDBPyConnection) -> tuple[list[tuple[Any, ...]], list[pa.DataType]]:
    """The executed statement's rows (``applies`` was true for it) as Python values, and
    the Arrow types DuckDB's export gives their columns."""
    description = cursor.description or ()
    return cursor.fetchall(), [_ARROW_TYPES[str(d[1])] for d in description]


def table(rows: list[tuple[Any, ...]], types: Sequence[pa.DataType], names: Sequence[str]
          ) -> pa.Table:
    """``fetch``'s rows as an Arrow table."""
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(types)
    return pa.Table.from_arrays(
        [pa.array(values, kind) for values, kind in zip(columns, types, strict=True)],
        names=list(names),
    )
