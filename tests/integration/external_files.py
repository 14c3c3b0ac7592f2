"""Files for external dataset tests: hive-partitioned Parquet, a CSV and JSON lines."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

REGIONS = ("eu", "us", "ap")


def write_datasets(root: Path) -> None:
    events = pa.table(
        {
            "id": list(range(300)),
            "amount": [float(i) / 4 for i in range(300)],
            "region": [REGIONS[i % 3] for i in range(300)],
            "year": [2024 + i % 2 for i in range(300)],
        }
    )
    ds.write_dataset(
        events, root / "events", format="parquet",
        partitioning=ds.partitioning(pa.schema([("region", pa.string()), ("year", pa.int64())]),
                                     flavor="hive"),
    )
    (root / "rates").mkdir()
    (root / "rates" / "rates.csv").write_text("code;rate\nEUR;1.0\nUSD;0.92\n")
    (root / "extra").mkdir()
    (root / "extra" / "codes.csv").write_text("code,label\n1,one\n2,two\n")
    (root / "logs").mkdir()
    for day in (1, 2):
        lines = [json.dumps({"day": day, "level": lvl, "n": day * 10 + i})
                 for i, lvl in enumerate(("info", "warn"))]
        (root / "logs" / f"day{day}.json").write_text("\n".join(lines) + "\n")


def corrupt_region(root: Path, region: str) -> None:
    """Overwrite one region's Parquet files: a query that opened them would fail. (Keep
    region=ap intact: it is first in path order, and binding reads its schema.)"""
    assert region != "ap"
    for path in (root / "events").rglob("*.parquet"):
        if f"region={region}" in str(path):
            path.write_bytes(b"not parquet at all")


def assert_pruned(dsn: str, unfiltered: str) -> None:
    """With region us's files corrupted: a filter on region eu never opens them (100 rows
    read), and ``unfiltered``, a query that needs them, fails."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute(
            "SELECT count(*), min(id) FROM events WHERE region = 'eu'"
        ).fetchone() == (100, 0)
        with pytest.raises(psycopg.Error, match=r"not parquet|Parquet|magic"):
            conn.execute(unfiltered)
