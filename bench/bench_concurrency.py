"""Concurrent writers: forge-sql against PostgreSQL in the same run.

  tpcb      pgbench's builtin TPC-B-like script (pgbench -n), 4 and 16 clients, on tables
            made by ``pgbench -i -s 1`` itself (``--init sql``: the same tables made by
            bench/pgbench_tables.py's statements): tps and failed transactions
  inserts   N sessions committing two-row INSERT transactions: transactions/s, p99
            latency, errors

Each figure is the median of ``--runs`` runs; the last column is forge-sql / PostgreSQL.
Usage: python bench/bench_concurrency.py [--seconds 10] [--runs 3] [--sessions 200]
       [--init pgbench|sql]

  --swaps SOURCE   instead: dbt's table swap (CREATE TABLE AS, information_schema.columns,
            two RENAMEs, COMMENT ON, COMMIT, DROP) by 4 sessions, each on its own table,
            --swaps-each times per run: median seconds a swap of this tree's forge-sql
            against the forge-sql of the checkout SOURCE, servers alternating run by run
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import pgbench_tables  # noqa: E402
from bench_server import ForgeServer  # noqa: E402
from pg import PostgresServer  # noqa: E402

PGBENCH = Path("/usr/lib/postgresql/15/bin/pgbench")


def pgbench(dsn: str, clients: int, seconds: int) -> dict[str, float]:
    info = conninfo_to_dict(dsn)
    completed = subprocess.run(
        [str(PGBENCH), "-n", "-c", str(clients), "-j", "2", "-T", str(seconds),
         "-h", str(info["host"]), "-p", str(info["port"]), "-U", str(info["user"]),
         str(info["dbname"])],
        capture_output=True, text=True, timeout=seconds + 300,
    )
    out = completed.stdout + completed.stderr

    def number(pattern: str) -> float:
        match = re.search(pattern, out)
        return float(match.group(1)) if match else float("nan")

    return {
        "tps": number(r"tps = ([\d.]+)"),
        "failed": number(r"number of failed transactions: (\d+)"),
        "aborted": float(completed.returncode != 0),
    }


def pgbench_init(dsn: str, scale: int = 1) -> None:
    """``pgbench -i -s scale``: pgbench makes its tables and rows itself."""
    info = conninfo_to_dict(dsn)
    completed = subprocess.run(
        [str(PGBENCH), "-i", "-q", "-s", str(scale),
         "-h", str(info["host"]), "-p", str(info["port"]), "-U", str(info["user"]),
         str(info["dbname"])],
        capture_output=True, text=True, timeout=900,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"pgbench -i failed:\n{completed.stdout}{completed.stderr}")


def inserts(dsn: str, sessions: int, seconds: float) -> dict[str, float]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_inserts")
        conn.execute("CREATE TABLE bench_inserts (session INTEGER, seq INTEGER, part INTEGER)")
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()
    # Connected one by one first: 200 connections at once time out on a busy machine.
    connections = [psycopg.connect(dsn, autocommit=True) for _ in range(sessions)]
    start = threading.Barrier(sessions + 1)

    def work(session: int) -> None:
        try:
            with connections[session] as conn:
                start.wait(timeout=300)
                seq = 0
                while not stop.is_set():
                    began = time.perf_counter()
                    try:
                        with conn.transaction():
                            for part in (1, 2):
                                conn.execute(
                                    "INSERT INTO bench_inserts VALUES (%s, %s, %s)",
                                    (session, seq, part),
                                )
                    except psycopg.Error as exc:
                        with lock:
                            errors.append(str(exc.sqlstate))
                        continue
                    with lock:
                        latencies.append(time.perf_counter() - began)
                    seq += 1
        except BaseException as exc:
            with lock:
                errors.append(type(exc).__name__)

    threads = [threading.Thread(target=work, args=(s,), daemon=True) for s in range(sessions)]
    for thread in threads:
        thread.start()
    start.wait(timeout=300)
    began = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(600)
    elapsed = time.perf_counter() - began
    ordered = sorted(latencies) or [float("nan")]
    return {
        "tps": len(latencies) / elapsed,
        "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        "errors": float(len(errors)),
    }


def swaps(dsn: str, sessions: int, each: int) -> dict[str, float]:
    """Seconds a table swap takes, all sessions together (wall time / swaps)."""
    barrier = threading.Barrier(sessions + 1)
    errors: list[str] = []

    def work(session: int) -> None:
        table = f"bench_swap_{session}"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {table}")
            conn.execute(f"CREATE TABLE {table} AS SELECT -1 AS v")
            barrier.wait(timeout=300)
            for i in range(each):
                try:
                    with conn.transaction():
                        conn.execute(f"CREATE TABLE {table}__tmp AS SELECT {i} AS v, 'x' AS s")
                        conn.execute(
                            "SELECT column_name FROM information_schema.columns "
                            "WHERE table_name = %s ORDER BY ordinal_position",
                            (f"{table}__tmp",),
                        ).fetchall()
                        conn.execute(f"ALTER TABLE {table} RENAME TO {table}__bak")
                        conn.execute(f"ALTER TABLE {table}__tmp RENAME TO {table}")
                        conn.execute(f"COMMENT ON TABLE {table} IS 'iteration {i}'")
                    conn.execute(f"DROP TABLE {table}__bak")
                except psycopg.Error as exc:
                    errors.append(str(exc.sqlstate))
                    conn.execute(f"DROP TABLE IF EXISTS {table}__tmp")
                    conn.execute(f"DROP TABLE IF EXISTS {table}__bak")

    threads = [threading.Thread(target=work, args=(s,), daemon=True) for s in range(sessions)]
    for thread in threads:
        thread.start()
    barrier.wait(timeout=300)
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return {"s/swap": elapsed / (sessions * each), "errors": float(len(errors))}


def compare_swaps(source: Path, runs: int, each: int) -> int:
    """This tree's forge-sql against ``source``'s, alternating, medians of ``runs``."""
    samples: dict[str, list[dict[str, float]]] = {"reference": [], "this tree": []}
    with tempfile.TemporaryDirectory(prefix="forge-bench-swaps-") as workdir:
        for name in ("reference", "this"):
            (Path(workdir) / name).mkdir()
        servers = {
            "reference": ForgeServer(Path(workdir) / "reference", source=source),
            "this tree": ForgeServer(Path(workdir) / "this"),
        }
        for server in servers.values():
            server.start()
        try:
            for _ in range(runs):
                for name, server in servers.items():
                    assert server.endpoint is not None
                    samples[name].append(swaps(server.endpoint.conninfo, 4, each))
        finally:
            for server in servers.values():
                server.stop()
    medians = {
        name: {key: statistics.median(s[key] for s in found) for key in found[0]}
        for name, found in samples.items()
    }
    print(f"{'figure':<8} {'reference':>12} {'this tree':>12} {'ratio':>8}")
    for key, value in medians["this tree"].items():
        reference = medians["reference"][key]
        ratio = value / reference if reference else float("nan")
        print(f"{key:<8} {reference:>12.3f} {value:>12.3f} {ratio:>8.2f}")
    return 0


def median_of(runs: int, measure: Callable[[], dict[str, float]]) -> dict[str, float]:
    samples = [measure() for _ in range(runs)]
    return {key: statistics.median(s[key] for s in samples) for key in samples[0]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--init", choices=("pgbench", "sql"), default="pgbench",
                        help="make pgbench's tables with pgbench -i, or with SQL statements")
    parser.add_argument("--swaps", type=Path, metavar="SOURCE",
                        help="measure table swaps against the forge-sql of this checkout")
    parser.add_argument("--swaps-each", type=int, default=10)
    args = parser.parse_args()
    if args.swaps is not None:
        return compare_swaps(args.swaps.resolve(), args.runs, args.swaps_each)
    # Both servers admit 100 connections by default.
    os.environ["FORGE_SQL_MAX_CONNECTIONS"] = str(args.sessions + 50)
    rows: list[tuple[str, str, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="forge-bench-conc-") as workdir, \
            PostgresServer(settings=[f"max_connections={args.sessions + 50}"]) as pg, \
            ForgeServer(Path(workdir)) as forge:
        assert forge.endpoint is not None
        targets = {"postgres": pg.dsn, "forge-sql": forge.endpoint.conninfo}
        results: dict[str, dict[str, dict[str, float]]] = {}
        for name, dsn in targets.items():
            if args.init == "pgbench":
                pgbench_init(dsn)
            else:
                with psycopg.connect(dsn, autocommit=True) as conn:
                    pgbench_tables.create(conn)
            found = results.setdefault(name, {})
            for clients in (4, 16):
                found[f"tpcb {clients} clients"] = median_of(
                    args.runs, lambda c=clients, d=dsn: pgbench(d, c, args.seconds)
                )
            found[f"inserts {args.sessions} sessions"] = median_of(
                args.runs, lambda d=dsn: inserts(d, args.sessions, args.seconds)
            )
        for workload, forge_figures in results["forge-sql"].items():
            pg_figures = results["postgres"][workload]
            for key, value in forge_figures.items():
                rows.append((workload, key, pg_figures[key], value))
    print(f"{'workload':<24} {'figure':<8} {'postgres':>12} {'forge-sql':>12} {'ratio':>8}")
    for workload, key, pg_value, forge_value in rows:
        ratio = forge_value / pg_value if pg_value else float("nan")
        print(f"{workload:<24} {key:<8} {pg_value:>12.3f} {forge_value:>12.3f} {ratio:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
