"""Stress: catalog reads as an ordinary role, catalog changes and the job scheduler, all at
once, for minutes, looking for a crash of the server process (a segfault or a DuckDB FATAL
in the DuckLake extension). Not a benchmark: it prints what failed and whether the server
process died or was restarted.

  python bench/stress_catalog.py [--seconds 300] [--readers 3] [--writers 2]

Readers (role ``bob``) run SQLAlchemy's reflection queries (a new connection every few
rounds, as a pool does) and information_schema / pg_catalog queries; writers (superuser
``admin``) create, rename, comment, grant and drop tables; a job runs every second
(``cron.schedule``) and another session schedules and unschedules jobs, so the scheduler
reads and writes the lake's job tables all the time. At the end it prints the errors by
SQLSTATE, whether the server process is alive, crashes the log names, and the kernel's
traps (``dmesg``) since the start.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "integration"))

from server import start_server

from forge_sql.wire.auth import make_verifier

PASSWORD = "pw"
READS = (
    "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
    "ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')",
    "SELECT table_name, column_name, data_type FROM information_schema.columns "
    "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
    "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull "
    "FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
    "WHERE c.relname LIKE 's\\_%' AND a.attnum > 0 AND NOT a.attisdropped",
    "SELECT obj_description(c.oid, 'pg_class'), has_table_privilege(c.oid, 'SELECT') "
    "FROM pg_catalog.pg_class c WHERE c.relname LIKE 's\\_%'",
    "SELECT conname FROM pg_catalog.pg_constraint",
)


def dmesg_lines() -> list[str]:
    try:
        out = subprocess.run(["dmesg"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line for line in out.splitlines() if "traps:" in line or "segfault" in line]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--readers", type=int, default=3)
    parser.add_argument("--writers", type=int, default=2)
    args = parser.parse_args()

    traps_before = set(dmesg_lines())
    verifier = make_verifier(PASSWORD)
    config = (f'[users.admin]\npassword = "{verifier}"\nsuperuser = true\n\n'
              f'[users.bob]\npassword = "{verifier}"\n')
    data = Path(tempfile.mkdtemp(prefix="stress-catalog-")) / "data"
    server = start_server(data, config=config)
    print(f"server on port {server.port}, log {server.log_file}", flush=True)
    errors: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    stop = threading.Event()
    sa = None
    with contextlib.suppress(ImportError):
        import sqlalchemy as sa

    def dsn(user: str) -> str:
        return server.dsn(user=user, password=PASSWORD)

    def failed(exc: BaseException) -> None:
        code = getattr(exc, "sqlstate", None) or type(exc).__name__
        errors[f"{code}: {str(exc).splitlines()[0][:100] if str(exc) else ''}"] += 1

    def reader() -> None:
        engine = None if sa is None else sa.create_engine(
            f"postgresql+psycopg://bob:{PASSWORD}@{server.host}:{server.port}/{server.database}",
            pool_size=1, max_overflow=0)
        rounds = 0
        while not stop.is_set():
            try:
                with psycopg.connect(dsn("bob"), autocommit=True) as conn:
                    for _ in range(5):
                        for sql in READS:
                            conn.execute(sql).fetchall()
                        counts["catalog reads"] += len(READS)
                if engine is not None:
                    inspector = sa.inspect(engine)
                    for table in inspector.get_table_names()[:4]:
                        inspector.get_columns(table)
                        inspector.get_pk_constraint(table)
                    counts["reflections"] += 1
                    rounds += 1
                    if rounds % 3 == 0:
                        engine.dispose()  # new connections, as a pool that recycles
            except Exception as exc:
                failed(exc)
                time.sleep(0.2)
        if engine is not None:
            engine.dispose()

    def writer(worker: int) -> None:
        n = 0
        while not stop.is_set():
            name = f"s_{worker}_{n % 4}"
            try:
                with psycopg.connect(dsn("admin"), autocommit=True) as conn:
                    for _ in range(10):
                        if stop.is_set():
                            break
                        conn.execute(f"DROP TABLE IF EXISTS {name}, {name}_r")
                        conn.execute(f"CREATE TABLE {name} AS SELECT {n} AS id, 'x' AS v")
                        conn.execute(f"GRANT SELECT ON {name} TO bob")
                        with conn.transaction():
                            conn.execute(f"ALTER TABLE {name} RENAME TO {name}_r")
                            conn.execute(f"COMMENT ON TABLE {name}_r IS 'n {n}'")
                        conn.execute(f"ALTER TABLE {name}_r ADD COLUMN w INTEGER")
                        counts["catalog changes"] += 5
                        n += 1
                        name = f"s_{worker}_{n % 4}"
            except Exception as exc:
                failed(exc)
                time.sleep(0.2)

    def jobs() -> None:
        n = 0
        while not stop.is_set():
            try:
                with psycopg.connect(dsn("admin"), autocommit=True) as conn:
                    conn.execute("SELECT cron.schedule('every second', '1 seconds', "
                                 "'SELECT count(*) FROM pg_class')")
                    while not stop.wait(0.5):
                        conn.execute("SELECT cron.schedule(%s, '30 seconds', 'SELECT 1')",
                                     [f"churn {n % 3}"])
                        conn.execute("SELECT cron.unschedule(%s)", [f"churn {(n + 1) % 3}"])
                        counts["job changes"] += 2
                        n += 1
            except Exception as exc:
                if "could not find valid entry" not in str(exc):
                    failed(exc)
                time.sleep(0.2)

    threads = [threading.Thread(target=reader, daemon=True) for _ in range(args.readers)]
    threads += [threading.Thread(target=writer, args=(w,), daemon=True)
                for w in range(args.writers)]
    threads.append(threading.Thread(target=jobs, daemon=True))
    started = time.monotonic()
    for thread in threads:
        thread.start()
    died = False
    while time.monotonic() - started < args.seconds:
        time.sleep(10)
        log = server.log_file.read_text(errors="replace")
        restarts = log.count("was terminated by signal") + log.count("exited with exit code")
        print(f"{time.monotonic() - started:.0f} s: {dict(counts)}, errors "
              f"{sum(errors.values())}, restarts {restarts}", flush=True)
        if server.process.poll() is not None:
            died = True
            break
    stop.set()
    for thread in threads:
        thread.join(30)
    took = time.monotonic() - started
    code = server.process.poll()
    log = server.stop()
    crashes = [line for line in log.splitlines()
               if "terminated by signal" in line or "exited with exit code" in line
               or "FATAL" in line or "INTERNAL Error" in line]
    traps = [line for line in dmesg_lines() if line not in traps_before]
    print(f"\n{took:.0f} s, {dict(counts)}")
    print(f"errors: {dict(errors) or 'none'}")
    print(f"server process: {'died, exit code ' + str(code) if died else 'alive until stopped'}")
    print("crashes in the log:", *(crashes or ["none"]), sep="\n  ")
    print("kernel traps:", *(traps or ["none"]), sep="\n  ")
    print(f"log: {server.log_file}")
    return 1 if died or crashes or traps else 0


if __name__ == "__main__":
    sys.exit(main())
