"""Type promotions, checked against what DuckLake itself accepts in place."""

from __future__ import annotations

import itertools
from pathlib import Path

import duckdb
import pytest

from forge_sql.migrate.promotion import Promotion, classify
from forge_sql.storage import ducklake
from forge_sql.storage.catalogs import Lake

TYPES = ["TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
         "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE", "DECIMAL(9,2)", "DECIMAL(18,2)", "VARCHAR",
         "DATE", "TIMESTAMP"]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    root = Path(tmp_path_factory.mktemp("promotion"))
    con = duckdb.connect(str(root / "x.duckdb"))
    ducklake.attach(con, Lake(str(root / "catalog.ducklake"), str(root / "lake") + "/",
                              shared=False), "lake", 0)
    con.execute("USE lake")
    return con


def test_in_place_changes_are_exactly_what_ducklake_accepts(
    lake: duckdb.DuckDBPyConnection,
) -> None:
    columns = ", ".join(f"c{i} {kind}" for i, kind in enumerate(TYPES))
    lake.execute(f"CREATE TABLE p ({columns})")
    disagree = []
    for (i, old), (_, new) in itertools.permutations(enumerate(TYPES), 2):
        # Each change in a transaction rolled back: DuckLake checks it when it runs.
        lake.execute("BEGIN")
        try:
            lake.execute(f"ALTER TABLE p ALTER c{i} SET DATA TYPE {new}")
            accepted = True
        except duckdb.Error:
            accepted = False
        lake.execute("ROLLBACK")
        if accepted != (classify(old, new) is not Promotion.REWRITE):
            disagree.append((old, new, accepted, classify(old, new)))
    assert disagree == []


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("INTEGER", "BIGINT", Promotion.WIDENING),
    ("SMALLINT", "FLOAT", Promotion.WIDENING),
    ("INTEGER", "DOUBLE", Promotion.WIDENING),
    ("INTEGER", "FLOAT", Promotion.LOSSY),
    ("BIGINT", "DOUBLE", Promotion.LOSSY),
    ("DECIMAL(9,2)", "DECIMAL(18,4)", Promotion.WIDENING),
    ("DECIMAL(18,2)", "DECIMAL(9,2)", Promotion.REWRITE),
    ("BIGINT", "INTEGER", Promotion.REWRITE),
    ("TINYINT", "UTINYINT", Promotion.REWRITE),
    ("VARCHAR", "VARCHAR", Promotion.SAME),
    ("decimal(10, 2)", "DECIMAL(10,2)", Promotion.SAME),
])
def test_classify(old: str, new: str, expected: Promotion) -> None:
    assert classify(old, new) is expected
