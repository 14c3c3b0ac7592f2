"""The ML extension (extensions/ml) through the server against scikit-learn in process.

- train: ``ml.train`` on N rows x 10 features vs the same estimator fitted in process on
  the same rows read with DuckDB (target: within 1.2x); the metrics must be equal;
- predict: ``SELECT ml.predict('p', t) FROM t`` over N rows fetched through psycopg vs
  reading the same rows through psycopg plus predicting them in process (target: 1.5x);
- peak server RSS while training on a large table with the default sampling (``--large``).

Run: ``.venv/bin/python bench/bench_ml.py [--rows 1000000] [--runs 3]
[--large 10000000,100000000 [--only-large]]`` (BENCH_DIR: where the lake goes).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import select
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import psycopg

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "extensions"
SEED = 42
# The server's training sets this too (extensions/ml): OpenMP's busy-waiting is slow on a
# busy machine; the in-process reference runs under the same policy.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def table_sql(rows: int, name: str = "t") -> str:
    features = ", ".join(
        f"(hash(i, {k}) % 100000) / 100000.0 AS f{k}" for k in range(10)
    )
    label = (" + ".join(f"{(k % 3) + 1} * (hash(i, {k}) % 100000) / 100000.0" for k in range(10))
             + " + (hash(i, 99) % 1000) / 500.0")
    return (f"CREATE TABLE {name} AS SELECT i AS id, {features}, ({label}) > 11.0 AS y "
            f"FROM range({rows}) AS r(i)")


SERVER_PID = 0  # set once the server runs: its CPU time (and its children's) is counted


def median(run: Callable[[], object], runs: int) -> tuple[float, float, object]:
    """Median wall time, median CPU time (the server and its training processes plus this
    process and its threads: what the work cost, whatever the machine's load), result."""
    times, cpus = [], []
    result: object = None
    for _ in range(runs):
        cpu = cpu_seconds(SERVER_PID) + time.process_time()
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
        cpus.append(cpu_seconds(SERVER_PID) + time.process_time() - cpu)
    return statistics.median(times), statistics.median(cpus), result


def start_server(data: Path) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "forge_sql", "serve", "--port", "0", "--data-dir",
               str(data), "--extensions", str(SHIPPED), "--log-level", "WARNING",
               "--no-restart-after-crash"]  # the pid measured is the server's
    process = subprocess.Popen(command, cwd=data.parent, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    while True:
        ready, _, _ = select.select([process.stdout], [], [], 120)
        line = process.stdout.readline() if ready else ""
        if line.startswith("listening on "):
            host, _, port = line.split()[-1].rpartition(":")
            return process, f"host={host} port={port} dbname=forge user=bench"
        if not line:
            process.kill()
            raise RuntimeError("the server did not start")


def status(pid: int, field: str) -> int:
    """A /proc/PID/status memory figure (VmHWM: the peak, VmRSS: now), in bytes."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def children(pid: int) -> list[int]:
    """The process's living children (the ml extension's training processes)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children, living and reaped."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for each in (pid, *children(pid)):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15 if each == pid else 13]) / ticks
    return total


def reset_peak(pid: int) -> None:
    """Start VmHWM again from the current RSS (Linux: 5 > /proc/PID/clear_refs)."""
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")


def large(dsn: str, pid: int, rows: int) -> None:
    """Train on a table of ``rows`` rows with the default sampling (cap 1M): the server's
    and the training process's peak RSS during that training only."""
    name = f"big{rows}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        began = time.perf_counter()
        conn.execute(table_sql(rows, name))
        made = time.perf_counter() - began
        base = status(pid, "VmRSS")
        reset_peak(pid)
        for child in children(pid):
            reset_peak(child)
        stop = threading.Event()
        worker_peak = [0]

        def sample() -> None:
            while not stop.is_set():
                for child in children(pid):
                    worker_peak[0] = max(worker_peak[0], status(child, "VmHWM"))
                time.sleep(0.5)

        watcher = threading.Thread(target=sample)
        watcher.start()
        cpu = cpu_seconds(pid)
        began = time.perf_counter()
        conn.execute(f"SELECT * FROM ml.train('{name}', 'classification', '{name}', 'y', "
                     "algorithm => 'gradient_boosting')").fetchall()
        took = time.perf_counter() - began
        cpu = cpu_seconds(pid) - cpu
        stop.set()
        watcher.join()
        trained = conn.execute("SELECT rows_read, rows_trained FROM ml.models "
                               f"WHERE project = '{name}'").fetchone()
        print(f"large   {rows:,} rows (table made in {made:.0f} s), default sampling: "
              f"{took:.1f} s wall, {cpu:.1f} s CPU; rows read/trained {trained}; server "
              f"peak RSS {status(pid, 'VmHWM') / 2**20:.0f} MiB (before {base / 2**20:.0f} "
              f"MiB), training process peak {worker_peak[0] / 2**20:.0f} MiB; "
              f"load {os.getloadavg()[0]:.1f}", flush=True)


def reference_train(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, float], object]:
    """Read with DuckDB (in the extension's deterministic order), split, fit, score."""
    from sklearn import metrics as m
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import train_test_split

    columns = con.execute(
        "SELECT q.* FROM (SELECT * FROM t) AS q ORDER BY hash(q, 42::BIGINT)"
    ).fetchnumpy()
    x = np.column_stack([columns["id"]] + [columns[f"f{k}"] for k in range(10)])
    y = columns["y"]
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.2, random_state=SEED, stratify=y)
    model = HistGradientBoostingClassifier(random_state=SEED).fit(x_train, y_train)
    predicted = model.predict(x_test)
    return {
        "accuracy": float(m.accuracy_score(y_test, predicted)),
        "f1": float(m.f1_score(y_test, predicted)),
        "roc_auc": float(m.roc_auc_score(y_test, model.predict_proba(x_test)[:, 1])),
    }, model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--large", default="",
                        help="comma-separated row counts: train on a table of each size with "
                             "the default sampling and report peak RSS")
    parser.add_argument("--only-large", action="store_true",
                        help="skip the 1M-row train/predict comparison")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as tmp:
        process, dsn = start_server(Path(tmp) / "data")
        try:
            global SERVER_PID
            SERVER_PID = process.pid
            if not args.only_large:
                run(dsn, process, args)
            for size in (int(n) for n in args.large.split(",") if n):
                large(dsn, process.pid, size)
        finally:
            process.terminate()
            process.wait(60)


def run(dsn: str, process: subprocess.Popen[str], args: argparse.Namespace) -> None:
    rows, runs = args.rows, args.runs
    local = duckdb.connect()
    local.execute(table_sql(rows))
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(table_sql(rows))
        print(f"rows {rows:,}, 10 features, runs {runs}; load average {os.getloadavg()[0]:.1f}")

        train_sql = ("SELECT metric, value, model_id FROM ml.train('bench', 'classification', "
                     f"'t', 'y', algorithm => 'gradient_boosting', seed => {SEED}, "
                     f"max_rows => {rows}, deploy => 'always')")
        server_train, server_cpu, result = median(lambda: conn.execute(train_sql).fetchall(),
                                                  runs)
        server_metrics = {metric: value for metric, value, _ in result}  # type: ignore[attr-defined]
        local_train, local_cpu, fitted = median(lambda: reference_train(local), runs)
        local_metrics, _ = fitted  # type: ignore[misc]
        equal = all(abs(server_metrics[k] - v) < 1e-12 for k, v in local_metrics.items())
        print(f"train   server {server_train:7.2f} s   in process {local_train:7.2f} s   "
              f"ratio {server_train / local_train:.2f}x (target <= 1.2x);   CPU server "
              f"{server_cpu:.1f} s   in process {local_cpu:.1f} s   "
              f"ratio {server_cpu / local_cpu:.2f}x")
        print(f"metrics equal to in process: {equal}  server {json.dumps(server_metrics)}")
        print(f"        in process {json.dumps(local_metrics)}")

        def predict_server() -> int:
            with conn.cursor() as cur:
                cur.execute("SELECT ml.predict('bench', t) FROM t")
                return len(cur.fetchall())

        def read_server() -> int:
            with conn.cursor() as cur:
                cur.execute("SELECT * FROM t")
                return len(cur.fetchall())

        predicted, predicted_cpu, count = median(predict_server, runs)
        read, read_cpu, _ = median(read_server, runs)
        model = fitted[1]  # type: ignore[index]
        columns = local.execute("SELECT * FROM t").fetchnumpy()
        x = np.column_stack([columns["id"]] + [columns[f"f{k}"] for k in range(10)])
        in_process, in_process_cpu, _ = median(
            lambda: model.predict(x), runs)  # type: ignore[attr-defined]
        reference = read + in_process
        reference_cpu = read_cpu + in_process_cpu
        print(f"predict server {predicted:7.2f} s ({count:,} rows)   read {read:.2f} s + "
              f"in-process predict {in_process:.2f} s = {reference:.2f} s   "
              f"ratio {predicted / reference:.2f}x (target <= 1.5x);   CPU {predicted_cpu:.1f} s"
              f" vs {read_cpu:.1f} + {in_process_cpu:.1f} s   "
              f"ratio {predicted_cpu / reference_cpu:.2f}x")

        def predictions_server() -> int:
            with conn.cursor() as cur:
                cur.execute("SELECT prediction FROM ml.predictions('bench', 't')")
                return len(cur.fetchall())

        table_form, table_cpu, count = median(predictions_server, runs)
        print(f"predict table form ml.predictions {table_form:7.2f} s ({count:,} rows)   "
              f"ratio {table_form / reference:.2f}x (target <= 1.5x);   CPU {table_cpu:.1f} s "
              f"ratio {table_cpu / reference_cpu:.2f}x")
        print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
