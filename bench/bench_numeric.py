"""What the unconstrained numeric's DECIMAL(38,10) costs against DuckDB's DECIMAL(18,3).

In-process DuckDB, N rows: the aggregates bench_server.py runs (sum, avg, GROUP BY) over a
column of each type, and the server's text and binary encoders over the column's Arrow
batches (DECIMAL(18,3) is int64 inside DuckDB, DECIMAL(38,10) int128; both are decimal128 in
Arrow; the unconstrained numeric's text also drops trailing zeros). Prints medians and ratios.

    python bench/bench_numeric.py --rows 1000000 --runs 5
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import duckdb
import pyarrow as pa

from forge_sql.seam import oids
from forge_sql.wire.encode.binary import binary_of
from forge_sql.wire.encode.text import text_of

TYPES = {"numeric(18,3)": "DECIMAL(18,3)", "numeric": "DECIMAL(38,10)"}
QUERIES = {
    "sum, avg": "SELECT sum(x), avg(x) FROM {t}",
    "group by k": "SELECT k, count(*), sum(x), avg(x) FROM {t} GROUP BY k",
    "x * 2 + 1": "SELECT max(x * 2 + 1) FROM {t}",
}


def median(run: Callable[[], object], runs: int) -> float:
    run()  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    con = duckdb.connect()
    results: dict[str, dict[str, float]] = {}
    for name, kind in TYPES.items():
        table = "t_" + kind.replace("(", "_").replace(",", "_").rstrip(")")
        con.execute(
            f"CREATE TABLE {table} AS SELECT range % 1000 AS k, "
            f"CAST(round(random() * 1000000, 3) AS {kind}) AS x FROM range({args.rows})"
        )
        timings = {}
        for label, sql in QUERIES.items():
            query = sql.format(t=table)
            timings[label] = median(lambda q=query: con.execute(q).fetchall(), args.runs)
        column = con.execute(f"SELECT x FROM {table}").to_arrow_table().column(0)
        chunks: list[pa.Array] = list(column.chunks)
        timings["text encode"] = median(
            lambda c=chunks: [text_of(a, oids.NUMERIC) for a in c], args.runs)
        timings["binary encode"] = median(
            lambda c=chunks: [binary_of(a, oids.NUMERIC) for a in c], args.runs)
        results[name] = timings
    base, wide = results["numeric(18,3)"], results["numeric"]
    print(f"{args.rows} rows, median of {args.runs} runs (s)")
    print(f"{'workload':<16}{'DECIMAL(18,3)':>16}{'DECIMAL(38,10)':>16}{'ratio':>8}")
    for label in base:
        print(f"{label:<16}{base[label]:>16.4f}{wide[label]:>16.4f}"
              f"{wide[label] / base[label]:>8.2f}")


if __name__ == "__main__":
    main()
