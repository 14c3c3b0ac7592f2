"""``forge-sql export TABLE DIR``: hive-partitioned Parquet that pyarrow and polars read
back with the same contents."""

from __future__ import annotations

import decimal
from pathlib import Path

import polars as pl
import psycopg
import pyarrow.dataset as ds
from click.testing import CliRunner, Result
from server import start_server

from forge_sql.cli import main

QUIET = "[maintenance]\ninterval = 0\n"


def run_cli(*args: str) -> Result:
    """The command line, in process (``forge-sql ARGS``); stdout and stderr apart."""
    return CliRunner().invoke(main, list(args))


def test_export_reads_back_in_pyarrow_and_polars(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = start_server(data_dir, config=QUIET)
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute(
                "CREATE TABLE sales (id BIGINT, region VARCHAR, year INTEGER, "
                "amount DECIMAL(10,2), note VARCHAR)"
            )
            conn.execute(
                "INSERT INTO sales SELECT range, ['eu', 'us', 'ap'][range % 3 + 1], "
                "2024 + range % 2, (range % 1000) / 4, CASE WHEN range % 5 = 0 THEN NULL "
                "ELSE 'n' || range END FROM range(5000)"
            )
            (version,) = conn.execute(
                "SELECT max(snapshot_id) FROM forge_snapshots()"
            ).fetchone()
            conn.execute("DELETE FROM sales WHERE id >= 4000")
            expected = conn.execute("SELECT * FROM sales ORDER BY id").fetchall()
        busy = run_cli("export", "sales", str(tmp_path / "busy"), "--data-dir", str(data_dir))
        assert busy.exit_code == 1 and "in use by process" in busy.stderr
    finally:
        server.stop()

    out = tmp_path / "export"
    done = run_cli("export", "sales", str(out), "--partition-by", "region",
                   "--partition-by", "year", "--data-dir", str(data_dir))
    assert done.exit_code == 0, (done.stderr, done.exception)
    assert "exported 4000 rows of sales" in done.stdout
    assert sorted(p.name for p in out.iterdir()) == ["region=ap", "region=eu", "region=us"]
    assert sorted(p.name for p in (out / "region=eu").iterdir()) == ["year=2024", "year=2025"]

    columns = ["id", "region", "year", "amount", "note"]
    dataset = ds.dataset(out, format="parquet", partitioning="hive")
    table = dataset.to_table().sort_by("id")
    rows = list(zip(*(table.column(c).to_pylist() for c in columns), strict=True))
    assert [(i, r, int(y), a, n) for i, r, y, a, n in rows] == expected
    assert isinstance(rows[1][3], decimal.Decimal)
    # Partition pruning in another engine: only eu's files are read.
    assert dataset.to_table(filter=ds.field("region") == "eu").num_rows == sum(
        1 for row in expected if row[1] == "eu"
    )

    frame = pl.scan_parquet(f"{out}/**/*.parquet", hive_partitioning=True).sort("id").collect()
    assert frame.height == len(expected)
    assert frame.select(columns).rows() == [
        (i, r, y, a, n) for i, r, y, a, n in expected
    ]

    old = tmp_path / "old"
    done = run_cli("export", "public.sales", str(old), "--version", str(version),
                   "--data-dir", str(data_dir))
    assert done.exit_code == 0, (done.stderr, done.exception)
    assert ds.dataset(old, format="parquet").count_rows() == 5000

    again = run_cli("export", "sales", str(out), "--data-dir", str(data_dir))
    assert again.exit_code == 1 and "is not empty" in again.stderr
    again = run_cli("export", "sales", str(out), "--overwrite", "--data-dir", str(data_dir))
    assert again.exit_code == 0 and ds.dataset(out).count_rows() == 4000
    for args, message in (
        (["nope", str(tmp_path / "x")], 'relation "nope" does not exist'),
        (["sales", str(tmp_path / "y"), "--partition-by", "nope"], 'column "nope"'),
    ):
        failed = run_cli("export", *args, "--data-dir", str(data_dir))
        assert failed.exit_code == 1 and message in failed.stderr
