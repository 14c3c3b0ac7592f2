"""A SELECT without FROM is read as Python values: the same Arrow values DuckDB's
export gives, and the streaming path for everything else."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from forge_sql.engine import constant_rows
from forge_sql.engine.result import RowsResult
from forge_sql.seam import oids
from forge_sql.seam.backend import Column
from forge_sql.sql.statements import split

SAME = [
    "SELECT 1",
    "SELECT 1 AS a, 'x' AS b, true AS c, NULL::INTEGER AS d, 2::BIGINT AS e",
    "SELECT (-128)::TINYINT, 32767::SMALLINT, 9223372036854775807, '', 'é'",
    "VALUES (1, 'a'), (2, NULL), (NULL, 'c')",
    "SELECT 1 UNION ALL SELECT 2",
    "SELECT 1 WHERE false",
]


@pytest.mark.parametrize("sql", SAME)
def test_rows_are_those_of_duckdbs_arrow_export(sql: str) -> None:
    con = duckdb.connect()
    [statement] = split(sql)
    cursor = con.execute(sql)
    assert constant_rows.applies(statement, cursor.description or ())
    rows, types = constant_rows.fetch(cursor)
    table = constant_rows.table(rows, types, [str(d[0]) for d in cursor.description or ()])
    expected = con.execute(sql).to_arrow_table()
    assert table.schema.types == expected.schema.types
    assert table.to_pylist() == expected.to_pylist()
    assert table.num_rows == expected.num_rows


@pytest.mark.parametrize("sql", [
    "SELECT * FROM range(3)",
    "SELECT unnest([1, 2, 3])",
    "SELECT u(range(3))",  # a macro that unnests: rows not bounded by the text
    "SELECT abs(-1)",
    "SELECT 1.5",  # DECIMAL
    "SELECT now()",  # TIMESTAMP WITH TIME ZONE
    "SELECT [1, 2]",
])
def test_other_statements_stream(sql: str) -> None:
    con = duckdb.connect()
    con.execute("CREATE MACRO u(x) AS unnest(x)")
    [statement] = split(sql)
    assert not constant_rows.applies(statement, con.execute(sql).description or ())


def test_rows_result_hands_out_rows_once_either_way() -> None:
    rows: list[tuple[object, ...]] = [(1, "a"), (2, None), (3, "c")]
    types = [pa.int32(), pa.string()]
    columns = (Column("n", oids.INT4), Column("s", oids.TEXT))
    taken = RowsResult(list(rows), types, columns)
    assert taken.take_rows(2) == rows[:2]
    batch = taken.next_batch()  # the rest, in a batch
    assert batch is not None and batch.to_pylist() == [{"n": 3, "s": "c"}]
    assert taken.take_rows(5) == [] and taken.next_batch() is None
    assert taken.command_tag() == "SELECT 3"
    # char(n) is blank-padded by the batch path only
    padded = RowsResult([("ab",)], [pa.string()], (Column("c", oids.BPCHAR, -1, 4 + 4),))
    assert padded.take_rows(10) is None
    padded_batch = padded.next_batch()
    assert padded_batch is not None and padded_batch.to_pylist() == [{"c": "ab  "}]
    assert padded.command_tag() == "SELECT 1"
