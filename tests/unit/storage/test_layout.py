"""Partition and sort keys as YAML migrations declare them, turned into DuckLake SQL."""

from __future__ import annotations

import pytest

from forge_sql.storage.layout import partition_key, partition_sql, sort_key, sort_sql


@pytest.mark.parametrize(
    ("key", "sql"),
    [
        ("region", '"region"'),
        (" Region ", '"Region"'),
        ("year(day)", 'year("day")'),
        ("MONTH( day )", 'month("day")'),
        ("bucket(16, id)", 'bucket(16, "id")'),
        ('"odd name"', '"odd name"'),
    ],
)
def test_partition_keys(key: str, sql: str) -> None:
    assert partition_key(key) == sql


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("lower(name)", "unsupported partition transform 'lower'"),
        ("bucket(id)", "bucket takes"),
        ("year(16, day)", "bucket takes"),
        ("a(b(c))", "invalid partition key"),
    ],
)
def test_bad_partition_keys(key: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        partition_key(key)


@pytest.mark.parametrize(
    ("key", "sql"),
    [
        ("amount", '"amount"'),
        ("amount desc", '"amount" DESC'),
        ("day ASC NULLS FIRST", '"day" ASC NULLS FIRST'),
        ("day nulls last", '"day" NULLS LAST'),
    ],
)
def test_sort_keys(key: str, sql: str) -> None:
    assert sort_key(key) == sql


def test_statements() -> None:
    assert partition_sql("sales", ["region", "year(day)"]) == (
        'ALTER TABLE sales SET PARTITIONED BY ("region", year("day"))'
    )
    assert partition_sql("sales", []) == "ALTER TABLE sales RESET PARTITIONED BY"
    assert sort_sql("sales", ["amount DESC", "id"]) == (
        'ALTER TABLE sales SET SORTED BY ("amount" DESC, "id")'
    )
    assert sort_sql("sales", []) == "ALTER TABLE sales RESET SORTED BY"
