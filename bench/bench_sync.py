#!/usr/bin/env python
"""Syncs through the server vs the same loads done in process, measured in one run.

1. ``CALL forge_sync`` of N rows from a local JSON API (pages of 10k, page paginator) into
   an empty lake table (merge by key), against the same pages fetched with httpx and
   inserted as Arrow into a DuckLake table in process (skipped with --no-http).
2. A merge sync of M changed rows (the cursor moved on) from that API into that N-row
   table, against DuckDB's own ``MERGE INTO`` of the same M rows (an Arrow table) into an
   N-row DuckLake table in process.
3. With a real PostgreSQL (bench/pg.py; skipped with --no-pg), through a declared
   connection (``[connections.src]``): a sync of N rows from a query into an empty lake
   table, against ``INSERT ... SELECT FROM postgres_scan`` of them in process; and a merge
   sync of M changed rows into a --merge-rows (default 10M) row table, against
   ``INSERT ... SELECT FROM postgres_scan`` + ``MERGE INTO`` of the same rows in process
   and against a bare ``MERGE INTO`` of them from Arrow.

Rows/s per measurement, the server's peak RSS (VmHWM), medians over --runs, ratios.

    python bench/bench_sync.py                       # 1M rows, 100k changed, 1 run
    python bench/bench_sync.py --rows 200000 --changed 20000 --runs 3
    python bench/bench_sync.py --no-http --merge-rows 10000000
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import duckdb
import httpx
import psycopg
import pyarrow as pa

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(REPO / "tests" / "integration"))

from bench_server import ForgeServer  # noqa: E402
from http_api import running_api  # noqa: E402
from pg import PostgresServer  # noqa: E402

from forge_sql.storage.ducklake import load_extension  # noqa: E402

PAGE = 10_000
SOURCE = '''
from forge_sql.ext import Context, source


@source(columns={"id": "BIGINT", "name": "VARCHAR", "updated_at": "BIGINT"},
        primary_key="id", cursor="updated_at")
def bench_items(base: str, since: int = 0, *, ctx: Context):
    yield from ctx.http.paginate(base + "/pages",
                                 params={"since": since, "per_page": PAGE},
                                 paginator="page", records="data")
'''.replace("PAGE", str(PAGE))


def vm_kb(pid: int, field: str = "VmHWM") -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    raise LookupError(field)


def lake(path: Path) -> duckdb.DuckDBPyConnection:
    path.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    load_extension(con, "ducklake")
    con.execute(f"ATTACH 'ducklake:{path}/meta.ducklake' AS lake (DATA_PATH '{path}/data/')")
    con.execute("USE lake")
    return con


def in_process_http(base: str, rows: int, workdir: Path) -> float:
    """Seconds to fetch every page with httpx and insert it as Arrow into DuckLake."""
    con = lake(workdir)
    con.execute("CREATE TABLE t (id BIGINT, name VARCHAR, updated_at BIGINT)")
    started = time.perf_counter()
    with httpx.Client(timeout=60) as client:
        page = 1
        while True:
            data = client.get(f"{base}/pages", params={"page": page, "per_page": PAGE}
                              ).json()["data"]
            if not data:
                break
            batch = pa.Table.from_pylist(data)
            con.register("batch", batch)
            con.execute("INSERT INTO t SELECT id, name, updated_at FROM batch")
            con.unregister("batch")
            page += 1
    seconds = time.perf_counter() - started
    assert con.execute("SELECT count(*) FROM t").fetchone() == (rows,)
    con.close()
    return seconds


def in_process_merge(rows: int, changed: int, workdir: Path) -> float:
    con = lake(workdir)
    con.execute("CREATE TABLE t AS SELECT i AS id, 'item ' || i AS name, i AS updated_at "
                "FROM range(1, ? + 1) r(i)", [rows])
    batch = pa.table({"id": pa.array(range(1, changed + 1), pa.int64()),
                      "name": pa.array([f"changed {i}" for i in range(changed)]),
                      "updated_at": pa.array(range(rows + 1, rows + changed + 1), pa.int64())})
    con.register("batch", batch)
    started = time.perf_counter()
    con.execute("MERGE INTO t USING batch AS s ON t.id = s.id WHEN MATCHED THEN UPDATE SET "
                "name = s.name, updated_at = s.updated_at WHEN NOT MATCHED THEN INSERT "
                "VALUES (s.id, s.name, s.updated_at)")
    seconds = time.perf_counter() - started
    con.close()
    return seconds


def _forge(work: Path, migration: str, config: str | None = None) -> tuple[ForgeServer, str]:
    """A server over a fresh data directory in ``work``, migrated; and its DSN."""
    (work / "migrations").mkdir(parents=True)
    (work / "migrations" / "V1__sync.yaml").write_text(textwrap.dedent(migration))
    env = {"FORGE_SQL_EXTENSIONS": str(work / "extensions")}
    if config is not None:
        (work / "forge.toml").write_text(config)
        env["FORGE_SQL_CONFIG"] = str(work / "forge.toml")
    server = ForgeServer(work, env=env)
    server.start()
    assert server.endpoint is not None and server.process is not None
    dsn = server.endpoint.conninfo
    params = dict(p.split("=", 1) for p in dsn.split())
    url = f"postgresql://{params['user']}@{params['host']}:{params['port']}/forge"
    migrated = subprocess.run([sys.executable, "-m", "forge_sql", "migrate", "--dir",
                               str(work / "migrations"), "--url", url],
                              capture_output=True, text=True, cwd=REPO)
    if migrated.returncode != 0:
        server.stop()
        raise RuntimeError(migrated.stderr + migrated.stdout)
    return server, dsn


def _changes(changed: int, rows: int) -> pa.Table:
    """The M changed rows: keys 1..M, a new name, a cursor past every row's."""
    return pa.table({"id": pa.array(range(1, changed + 1), pa.int64()),
                     "name": pa.array([f"changed {i}" for i in range(1, changed + 1)]),
                     "updated_at": pa.array(range(rows + 1, rows + changed + 1), pa.int64())})


def pg_run(rows: int, changed: int, merge_rows: int, pg: PostgresServer) -> dict[str, Any]:
    """Part 3: syncs from PostgreSQL through a connection, and their references."""
    result: dict[str, Any] = {}
    scan_dsn = pg.dsn.replace(" connect_timeout=10", "")
    with psycopg.connect(pg.dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS items, changes")
        conn.execute("CREATE TABLE items (id BIGINT PRIMARY KEY, name TEXT, updated_at BIGINT)")
        conn.execute("INSERT INTO items SELECT i, 'item ' || i, i FROM generate_series(1, %s) i",
                     (rows,))
        conn.execute("CREATE TABLE changes (id BIGINT PRIMARY KEY, name TEXT, "
                     "updated_at BIGINT)")
        conn.execute("INSERT INTO changes SELECT i, 'changed ' || i, %s + i "
                     "FROM generate_series(1, %s) i", (merge_rows, changed))
        conn.execute("VACUUM ANALYZE items, changes")
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp:
        work = Path(tmp)
        (work / "extensions").mkdir()
        server, dsn = _forge(work, '''
            syncs:
              - name: from_pg
                connection: src
                query: SELECT id, name, updated_at FROM src.public.items
                primary_key: [id]
                cursor: updated_at
                into: pg_copy
                mode: merge
              - name: pg_changes
                connection: src
                query: SELECT id, name, updated_at FROM src.public.changes
                primary_key: [id]
                cursor: updated_at
                into: big
                mode: merge
        ''', f'[connections.src]\ndsn = "{scan_dsn}"\n')
        try:
            assert server.process is not None
            with psycopg.connect(dsn, autocommit=True) as conn:
                started = time.perf_counter()
                conn.execute("CALL forge_sync('from_pg')")
                result["pg_sync_seconds"] = time.perf_counter() - started
                assert conn.execute("SELECT count(*) FROM pg_copy").fetchone() == (rows,)
                conn.execute("CREATE TABLE big (id BIGINT, name VARCHAR, updated_at BIGINT)")
                conn.execute("INSERT INTO big SELECT i, 'item ' || i, i "
                             "FROM range(1, %s + 1) r(i)", (merge_rows,))
                started = time.perf_counter()
                conn.execute("CALL forge_sync('pg_changes')")
                result["pg_merge_sync_seconds"] = time.perf_counter() - started
                run = conn.execute("SELECT rows_read, rows_inserted, rows_updated "
                                   "FROM forge_sync_runs ORDER BY run_id DESC LIMIT 1"
                                   ).fetchone()
                assert run == (changed, 0, changed), run
                assert conn.execute("SELECT count(*), count(*) FILTER (name LIKE 'changed%') "
                                    "FROM big").fetchone() == (merge_rows, changed)
            pid = server.endpoint.pid or server.process.pid
            result["pg_server_peak_rss_mib"] = vm_kb(pid) / 1024
        finally:
            server.stop()
        con = lake(work / "ref")
        load_extension(con, "postgres_scanner")
        con.execute("CREATE TABLE t (id BIGINT, name VARCHAR, updated_at BIGINT)")
        started = time.perf_counter()
        con.execute("INSERT INTO t SELECT * FROM postgres_scan(?, 'public', 'items')",
                    [scan_dsn])
        result["pg_insert_select_seconds"] = time.perf_counter() - started
        con.execute("CREATE TABLE big AS SELECT i AS id, 'item ' || i AS name, i AS updated_at "
                    "FROM range(1, ? + 1) r(i)", [merge_rows])
        started = time.perf_counter()
        con.execute("BEGIN")
        con.execute("CREATE TEMP TABLE c AS SELECT * FROM postgres_scan(?, 'public', 'changes')",
                    [scan_dsn])
        con.execute("MERGE INTO big USING c AS s ON big.id = s.id WHEN MATCHED THEN UPDATE "
                    "SET name = s.name, updated_at = s.updated_at WHEN NOT MATCHED THEN "
                    "INSERT VALUES (s.id, s.name, s.updated_at)")
        con.execute("COMMIT")
        result["pg_scan_merge_seconds"] = time.perf_counter() - started
        con.execute("DROP TABLE c")
        batch = _changes(changed, 2 * merge_rows)
        con.register("batch", batch)
        started = time.perf_counter()
        con.execute("MERGE INTO big USING batch AS s ON big.id = s.id WHEN MATCHED THEN "
                    "UPDATE SET name = s.name, updated_at = s.updated_at WHEN NOT MATCHED "
                    "THEN INSERT VALUES (s.id, s.name, s.updated_at)")
        result["arrow_merge_seconds"] = time.perf_counter() - started
        con.close()
    return result


def one_run(rows: int, changed: int) -> dict[str, Any]:
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp, running_api() as api:
        work = Path(tmp)
        api.set_items(rows)
        (work / "extensions").mkdir()
        (work / "extensions" / "bench_sources.py").write_text(SOURCE)
        (work / "migrations").mkdir()
        (work / "migrations" / "V1__sync.yaml").write_text(textwrap.dedent(f'''
            syncs:
              - name: bench
                source: bench_items
                args: {{base: "{api.base}"}}
                into: bench_items_copy
                mode: merge
        '''))
        server = ForgeServer(work, env={"FORGE_SQL_EXTENSIONS": str(work / "extensions")})
        server.start()
        try:
            assert server.endpoint is not None and server.process is not None
            dsn = server.endpoint.conninfo
            params = dict(p.split("=", 1) for p in dsn.split())
            url = f"postgresql://{params['user']}@{params['host']}:{params['port']}/forge"
            migrated = subprocess.run([sys.executable, "-m", "forge_sql", "migrate", "--dir",
                                       str(work / "migrations"), "--url", url],
                                      capture_output=True, text=True, cwd=REPO)
            assert migrated.returncode == 0, migrated.stderr + migrated.stdout
            with psycopg.connect(dsn, autocommit=True) as conn:
                started = time.perf_counter()
                conn.execute("CALL forge_sync('bench')")
                result["sync_seconds"] = time.perf_counter() - started
                assert conn.execute("SELECT count(*) FROM bench_items_copy").fetchone() == (rows,)
                for item in api.items[:changed]:
                    item["updated_at"] += rows
                    item["name"] = f"changed {item['id']}"
                api.items.sort(key=lambda i: i["updated_at"])
                started = time.perf_counter()
                conn.execute("CALL forge_sync('bench')")
                result["merge_sync_seconds"] = time.perf_counter() - started
                run = conn.execute("SELECT rows_read, rows_updated FROM forge_sync_runs "
                                   "ORDER BY run_id DESC LIMIT 1").fetchone()
                assert run is not None and run[1] >= changed, run  # >= the cursor: one more
                result["merge_rows_read"] = run[0]
            pid = server.endpoint.pid or server.process.pid
            result["server_peak_rss_mib"] = vm_kb(pid) / 1024
        finally:
            server.stop()
        api.set_items(rows)
        result["http_in_process_seconds"] = in_process_http(api.base, rows, work / "ref1")
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp:
        result["merge_in_process_seconds"] = in_process_merge(rows, changed, Path(tmp) / "ref3")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--changed", type=int, default=100_000)
    parser.add_argument("--merge-rows", type=int, default=10_000_000,
                        help="rows of the table the PostgreSQL merge sync changes")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--no-pg", action="store_true", help="skip the PostgreSQL part")
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP part")
    args = parser.parse_args()
    runs: list[dict[str, Any]] = []
    with contextlib.ExitStack() as stack:
        pg = None if args.no_pg else stack.enter_context(
            PostgresServer(log=lambda m: print(m, file=sys.stderr)))
        for _ in range(args.runs):
            run: dict[str, Any] = {}
            if not args.no_http:
                run.update(one_run(args.rows, args.changed))
            if pg is not None:
                run.update(pg_run(args.rows, args.changed, args.merge_rows, pg))
            runs.append(run)
            print(json.dumps(run), file=sys.stderr)
    median = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    n, m, big = args.rows, args.changed, args.merge_rows
    print(f"rows {n}, changed {m}, merge table {big}, runs {args.runs} (medians)")
    if not args.no_http:
        print(f"sync from HTTP through the server   {n / median['sync_seconds']:>12,.0f} rows/s")
        print(f"same pages in process (httpx+Arrow) "
              f"{n / median['http_in_process_seconds']:>12,.0f} rows/s  ratio "
              f"{median['sync_seconds'] / median['http_in_process_seconds']:.2f}x")
        print(f"merge sync of {m} changed rows (HTTP) {median['merge_sync_seconds']:.2f} s "
              f"({median['merge_rows_read']:.0f} read)")
        print(f"MERGE INTO of the same in process    {median['merge_in_process_seconds']:.2f} s"
              f"  ratio "
              f"{median['merge_sync_seconds'] / median['merge_in_process_seconds']:.2f}x")
        print(f"server peak RSS (HTTP part)          {median['server_peak_rss_mib']:>8,.0f} MiB")
    if not args.no_pg:
        sync, ref = median["pg_sync_seconds"], median["pg_insert_select_seconds"]
        print(f"sync of {n} rows from PostgreSQL     {n / sync:>12,.0f} rows/s ({sync:.2f} s)")
        print(f"INSERT ... SELECT FROM postgres_scan {n / ref:>12,.0f} rows/s ({ref:.2f} s)"
              f"  ratio {sync / ref:.2f}x")
        merge = median["pg_merge_sync_seconds"]
        print(f"merge sync of {m} rows into {big}    {merge:.2f} s")
        for key, what in (("pg_scan_merge_seconds", "postgres_scan + MERGE INTO in process"),
                          ("arrow_merge_seconds", "MERGE INTO from Arrow in process")):
            print(f"{what:<38}{median[key]:.2f} s  ratio {merge / median[key]:.2f}x")
        print(f"server peak RSS (PostgreSQL part)    {median['pg_server_peak_rss_mib']:>8,.0f} MiB")
    print(json.dumps(median))


if __name__ == "__main__":
    main()
