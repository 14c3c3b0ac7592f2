"""Extension functions through the server against the same functions in process.

- a vectorized (Arrow) scalar over 10M rows: through forge-sql vs registered on an
  in-process DuckDB connection as an Arrow UDF (target: within 1.3x);
- a row-wise scalar over 1M rows: through forge-sql vs DuckDB's native Python UDF in
  process (target: within 1.2x);
- a table function yielding 10M rows in batches, read with ``COPY (SELECT * FROM f(n)) TO
  STDOUT``: its rate against ``COPY (SELECT * FROM range(n)) TO STDOUT`` (target: >= 70%),
  with the server's peak RSS (target: < 1 GiB);
- the server's RSS growth for those 10M rows called directly, through a view, a view of
  a view, SQL PREPARE / EXECUTE, the extended protocol and a LATERAL join;
- start-up: what loading and registering the shipped extensions adds (target: < 200 ms).

Each query aggregates the function's results, so the time is the function's, not the
transfer of rows. Run: ``.venv/bin/python bench/bench_extensions.py [--rows N] [--table-rows N]``.
"""

from __future__ import annotations

import argparse
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import psycopg
import pyarrow as pa
import pyarrow.compute as pc

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "extensions"
FUNCTIONS = '''
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from forge_sql.ext import scalar, table


@scalar(vectorized=True, args=["DOUBLE"], returns="DOUBLE")
def bench_vector(x: pa.Array) -> pa.Array:
    return pc.add(pc.multiply(x, 1.8), 32.0)


@scalar
def bench_row(x: float) -> float:
    return x * 1.8 + 32.0


@table(columns={"range": "BIGINT"})
def bench_rows(n: int):
    """range(n)'s rows, 65,536 a batch."""
    for start in range(0, n, 65536):
        yield pa.record_batch([pa.array(np.arange(start, min(n, start + 65536)))],
                              names=["range"])
'''


def vector(x: pa.Array) -> pa.Array:
    return pc.add(pc.multiply(x, 1.8), 32.0)


def row(x: float) -> float:
    return x * 1.8 + 32.0


def median(run: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def arrow_read(con: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    """The result read as the server reads results: a stream of Arrow batches."""
    return con.execute(sql).to_arrow_reader(65536).read_all()


def server_cpu(pid: int) -> float:
    """User and system CPU seconds of the server process, all its threads."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_kb(pid: int, field: str = "VmRSS") -> int:
    """A /proc/PID/status memory figure in kB (VmRSS now, VmHWM the peak)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    raise LookupError(field)


def reset_peak(pid: int) -> None:
    """Start VmHWM again from the RSS now (proc(5), clear_refs)."""
    with open(f"/proc/{pid}/clear_refs", "w") as clear:
        clear.write("5")


def copy_out(conn: psycopg.Connection, sql: str) -> int:
    """Bytes of COPY ... TO STDOUT, read and dropped."""
    total = 0
    with conn.cursor().copy(sql) as copy:
        for block in copy:
            total += len(block)
    return total


def table_functions(conn: psycopg.Connection, pid: int, rows: int, runs: int) -> None:
    """COPY of a table function against COPY of range(), then RSS growth per form."""
    function_sql = f"COPY (SELECT * FROM bench_rows({rows})) TO STDOUT"
    range_sql = f"COPY (SELECT * FROM range({rows})) TO STDOUT"
    assert copy_out(conn, function_sql) == copy_out(conn, range_sql)
    times: dict[str, list[float]] = {"f": [], "r": []}
    cpu: dict[str, list[float]] = {"f": [], "r": []}
    peaks: list[int] = []
    for _ in range(runs):
        for key, sql in (("f", function_sql), ("r", range_sql)):
            before_cpu = server_cpu(pid)
            reset_peak(pid)
            before = memory_kb(pid)
            times[key].append(median(lambda sql=sql: copy_out(conn, sql), 1))
            cpu[key].append(server_cpu(pid) - before_cpu)
            if key == "f":
                peaks.append(memory_kb(pid, "VmHWM") - before)
    f, r = statistics.median(times["f"]), statistics.median(times["r"])
    cf, cr = statistics.median(cpu["f"]), statistics.median(cpu["r"])
    print(f"table function, {rows:,} rows by COPY TO STDOUT: {f:.2f} s, range() {r:.2f} s; "
          f"rate {r / f:.0%} of range() (target >= 70%); CPU seconds {cf:.2f} / {cr:.2f}, "
          f"rate {cr / cf:.0%}; server peak RSS {memory_kb(pid, 'VmHWM') / 1024:.0f} MiB, "
          f"growth during the COPY {statistics.median(peaks) / 1024:.0f} MiB (median)")
    conn.execute(f"CREATE OR REPLACE VIEW bench_view AS SELECT * FROM bench_rows({rows})")
    conn.execute("CREATE OR REPLACE VIEW bench_outer AS SELECT * FROM bench_view")
    conn.execute("PREPARE bench_prepared AS SELECT count(*), sum(range) FROM bench_rows($1)")
    summary = "SELECT count(*), sum(range) FROM "
    forms: list[tuple[str, Callable[[], object]]] = [
        ("direct", lambda: conn.execute(summary + f"bench_rows({rows})").fetchall()),
        ("view", lambda: conn.execute(summary + "bench_view").fetchall()),
        ("view of a view", lambda: conn.execute(summary + "bench_outer").fetchall()),
        ("PREPARE / EXECUTE",
         lambda: conn.execute(f"EXECUTE bench_prepared({rows})").fetchall()),
        ("extended protocol", lambda: conn.execute(
            summary + "bench_rows(%s)", (rows,), prepare=True).fetchall()),
        ("LATERAL", lambda: conn.execute(
            summary + f"(VALUES ({rows})) t(n), LATERAL bench_rows(t.n)").fetchall()),
    ]
    growth = []
    for name, run in forms:
        reset_peak(pid)
        before = memory_kb(pid)
        start = time.perf_counter()
        got = run()
        took = time.perf_counter() - start
        assert [tuple(r) for r in got] == [(rows, rows * (rows - 1) // 2)], (name, got)  # type: ignore[union-attr]
        growth.append(f"{name} +{(memory_kb(pid, 'VmHWM') - before) / 1024:.0f} MiB "
                      f"({took:.1f} s)")
    print(f"server peak RSS growth, {rows:,} rows summed: " + "; ".join(growth))


def own_cpu(_pid: int) -> float:
    """User and system CPU seconds of this process, all its threads."""
    return time.process_time()


def start_server(data: Path, extensions: Path) -> tuple[subprocess.Popen[str], str, float]:
    """The server, its DSN and the seconds until it listened."""
    command = [sys.executable, "-m", "forge_sql", "serve", "--port", "0", "--data-dir",
               str(data), "--extensions", str(extensions), "--log-level", "WARNING",
               "--no-restart-after-crash"]  # the pid measured is the server's
    began = time.perf_counter()
    process = subprocess.Popen(command, cwd=data.parent, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    while True:
        ready, _, _ = select.select([process.stdout], [], [], 60)
        line = process.stdout.readline() if ready else ""
        if line.startswith("listening on "):
            host, _, port = line.split()[-1].rpartition(":")
            return process, f"host={host} port={port} dbname=forge user=bench", (
                time.perf_counter() - began)
        if not line:
            process.kill()
            raise RuntimeError("forge-sql did not start")


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    process.wait(timeout=30)


def loading_cost(runs: int) -> float:
    """Seconds to import the shipped extensions and register them on a DuckDB database
    (what start-up adds), median of ``runs`` fresh processes."""
    code = (
        # The server has these loaded before it reads extensions.
        "import time, duckdb, pyarrow, pyarrow.compute\n"
        "from forge_sql.plugins import loader, scalars\n"
        "con = duckdb.connect()\n"
        "start = time.perf_counter()\n"
        f"registry = loader.load([{str(SHIPPED)!r}], shipped=None)\n"
        "scalars.register(con, registry, scalars.Environment(lambda t: None, {}, {}))\n"
        "print(time.perf_counter() - start)\n"
    )
    times = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, cwd=REPO).stdout
        times.append(float(out.strip()))
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="vectorized rows")
    parser.add_argument("--row-rows", type=int, default=1_000_000, help="row-wise rows")
    parser.add_argument("--table-rows", type=int, default=10_000_000,
                        help="table function rows")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    con = duckdb.connect()
    con.create_function("bench_vector", vector, ["DOUBLE"], "DOUBLE", type="arrow")
    con.create_function("bench_row", row, ["DOUBLE"], "DOUBLE")
    vector_sql = f"SELECT sum(bench_vector(range::DOUBLE)) FROM range({args.rows})"
    row_sql = f"SELECT sum(bench_row(range::DOUBLE)) FROM range({args.row_rows})"
    expected = (con.execute(vector_sql).fetchall(), con.execute(row_sql).fetchall())

    with tempfile.TemporaryDirectory(prefix="bench-ext-") as tmp:
        root = Path(tmp)
        (root / "ext").mkdir()
        (root / "ext" / "bench.py").write_text(FUNCTIONS)
        (root / "none").mkdir()
        process, dsn, _ = start_server(root / "data", root / "ext")
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                got = (conn.execute(vector_sql).fetchall(), conn.execute(row_sql).fetchall())
                assert [tuple(r) for r in got[0]] == expected[0], (got, expected)
                # Alternated run by run, so that the machine's load weighs on both alike.
                # In process both ways: fetchall() of the result, and an Arrow reader of
                # it, which is how the server reads every result it sends.
                keys = ("sv", "lv", "lva", "sr", "lr", "lra")
                times: dict[str, list[float]] = {k: [] for k in keys}
                # CPU seconds too (the server process's, or this process's): on a loaded
                # machine they vary far less than wall time, which counts the waits for
                # a core.
                cpu: dict[str, list[float]] = {k: [] for k in keys}
                for _ in range(args.runs):
                    for key, run in (
                        ("sv", lambda: conn.execute(vector_sql).fetchall()),
                        ("lv", lambda: con.execute(vector_sql).fetchall()),
                        ("lva", lambda: arrow_read(con, vector_sql)),
                        ("sr", lambda: conn.execute(row_sql).fetchall()),
                        ("lr", lambda: con.execute(row_sql).fetchall()),
                        ("lra", lambda: arrow_read(con, row_sql)),
                    ):
                        used = server_cpu if key.startswith("s") else own_cpu
                        before = used(process.pid)
                        times[key].append(median(run, 1))
                        cpu[key].append(used(process.pid) - before)
                (served_vector, local_vector, local_vector_arrow, served_row, local_row,
                 local_row_arrow) = (statistics.median(times[k]) for k in keys)
                cpu_medians = {k: statistics.median(v) for k, v in cpu.items()}
                table_functions(conn, process.pid, args.table_rows, args.runs)
        finally:
            stop(process)
        starts = {}
        for name, directory in (("without", root / "none"), ("shipped", SHIPPED)):
            times = []
            for run in range(3):
                process, _, took = start_server(root / f"data-{name}-{run}", directory)
                stop(process)
                times.append(took)
            starts[name] = statistics.median(times)
    load = loading_cost(args.runs)

    print(f"vectorized scalar, {args.rows:,} rows: server {served_vector:.3f} s, "
          f"in-process Arrow UDF {local_vector:.3f} s (fetchall), "
          f"{local_vector_arrow:.3f} s (Arrow reader); ratio {served_vector / local_vector:.2f}x"
          f" / {served_vector / local_vector_arrow:.2f}x (target <= 1.3x)")
    print(f"row-wise scalar, {args.row_rows:,} rows: server {served_row:.3f} s, "
          f"in-process native UDF {local_row:.3f} s (fetchall), "
          f"{local_row_arrow:.3f} s (Arrow reader); ratio {served_row / local_row:.2f}x"
          f" / {served_row / local_row_arrow:.2f}x (target <= 1.2x)")
    c = cpu_medians
    print(f"CPU seconds (medians): vectorized server {c['sv']:.2f}, in process {c['lv']:.2f} "
          f"(fetchall) / {c['lva']:.2f} (Arrow reader), ratio {c['sv'] / c['lv']:.2f}x / "
          f"{c['sv'] / c['lva']:.2f}x; row-wise server {c['sr']:.2f}, in process "
          f"{c['lr']:.2f} / {c['lra']:.2f}, ratio {c['sr'] / c['lr']:.2f}x / "
          f"{c['sr'] / c['lra']:.2f}x")
    print(f"start-up: loading and registering the shipped extensions {load * 1000:.0f} ms "
          "(target < 200 ms); server start to listening, without extensions "
          f"{starts['without']:.2f} s, with the shipped ones {starts['shipped']:.2f} s")


if __name__ == "__main__":
    main()
