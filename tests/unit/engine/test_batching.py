"""Gathered INSERT rows as an Arrow table, or row by row when Arrow cannot hold them."""

from __future__ import annotations

import uuid

from forge_sql.engine import batching
from forge_sql.sql.statements import classify


def pending(sql: str, *rows: tuple[object, ...]) -> batching.PendingInsert:
    shape = batching.insert_shape(classify(sql))
    assert shape is not None
    batch = batching.PendingInsert(shape, (None,) * len(shape.placeholders))
    batch.rows.extend(rows)
    return batch


def test_rows_become_columns() -> None:
    table = pending("INSERT INTO t VALUES ($1, $2)", (1, "a"), (2, None)).table()
    assert table is not None
    assert table.to_pydict() == {"c0": [1, 2], "c1": ["a", None]}


def test_values_arrow_does_not_implement_fall_back_to_rows() -> None:
    """asyncpg binds a uuid[] parameter as a list of UUID objects."""
    ids = [uuid.UUID(int=1)]
    assert pending("INSERT INTO t VALUES ($1)", (ids,), (ids,)).table() is None
