"""Partition and sort keys of lake tables, set over the wire: files land in key=value
directories, filters on the key read only the matching files, rows are written sorted."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pyarrow.parquet as pq
import pytest
from psycopg import errors as pgerrors
from server import RunningServer

from forge_sql.storage.layout import partition_sql, sort_sql

ROWS = 6000  # more than inline_rows, so the insert writes Parquet files


def table_files(server: RunningServer, table: str) -> list[Path]:
    return sorted((server.data_dir / "lake" / "public" / table).rglob("*.parquet"))


def fill(conn: psycopg.Connection, table: str) -> None:
    conn.execute(f"CREATE TABLE {table} (id INTEGER, region VARCHAR, day DATE, amount DOUBLE)")
    conn.execute(partition_sql(table, ["region", "year(day)"]))
    conn.execute(sort_sql(table, ["amount DESC"]))
    conn.execute(
        f"INSERT INTO {table} SELECT range, ['eu', 'us', 'ap'][range % 3 + 1], "
        f"DATE '2024-06-01' + (range % 400)::INTEGER, (range * 7919) % 1000 FROM range({ROWS})"
    )


def test_partitioned_files_and_pruning(
    server: RunningServer, conn: psycopg.Connection, table_name: str
) -> None:
    fill(conn, table_name)
    layout = sorted(
        str(p.parent.relative_to(server.data_dir / "lake" / "public" / table_name))
        for p in table_files(server, table_name)
    )
    assert layout == [
        f"region={r}/year={y}" for r in ("ap", "eu", "us") for y in (2024, 2025)
    ]
    plan = "\n".join(
        row[1] for row in conn.execute(
            f"EXPLAIN ANALYZE SELECT sum(amount) FROM {table_name} WHERE region = 'eu'"
        ).fetchall()
    )
    assert "Total Files Read: 2" in plan
    assert conn.execute(
        f"SELECT count(*) FROM {table_name} WHERE region = 'eu'"
    ).fetchone() == (ROWS // 3,)


def test_rows_are_written_in_sort_key_order(
    server: RunningServer, conn: psycopg.Connection, table_name: str
) -> None:
    fill(conn, table_name)
    for path in table_files(server, table_name):
        amounts = pq.read_table(path, columns=["amount"]).column("amount").to_pylist()
        assert amounts == sorted(amounts, reverse=True) and len(amounts) > 100


def test_reset_and_unsupported_transforms(
    server: RunningServer, conn: psycopg.Connection, table_name: str
) -> None:
    fill(conn, table_name)
    conn.execute(partition_sql(table_name, []))
    conn.execute(sort_sql(table_name, []))
    before = set(table_files(server, table_name))
    conn.execute(f"INSERT INTO {table_name} SELECT range, 'eu', DATE '2030-01-01', 1 "
                 f"FROM range({ROWS})")
    (new,) = set(table_files(server, table_name)) - before
    assert new.parent.name == table_name  # no partition directory any more
    with pytest.raises(pgerrors.FeatureNotSupported, match="partition function"):
        conn.execute(f"ALTER TABLE {table_name} SET PARTITIONED BY (lower(region))")
    assert conn.execute(f"SELECT count(*) FROM {table_name}").fetchone() == (2 * ROWS,)
