"""Sessions changing the catalog at once (dbt's table swap with several threads): the
server stays up, no statement fails, and every table ends with what its session wrote."""

from __future__ import annotations

import threading
import time
from collections import Counter

import psycopg
import pytest
from server import RunningServer, start_server


def _swap_tables(
    server: RunningServer, sessions: int, iterations: int, wait: float = 600
) -> Counter[str]:
    """Each session swaps its own table ``iterations`` times, as ``dbt run --threads``
    materialises a table model; returns the errors seen, by SQLSTATE and message."""
    failures: Counter[str] = Counter()
    barrier = threading.Barrier(sessions)
    done = Counter[int]()  # swaps finished, by worker; read by the progress line

    def work(worker: int) -> None:
        table = f"swap_{worker}"
        try:
            with psycopg.connect(server.dsn(), autocommit=True) as conn:
                conn.execute(f"DROP TABLE IF EXISTS {table}")
                conn.execute(f"CREATE TABLE {table} AS SELECT -1 AS v")
                barrier.wait(timeout=60)
                for i in range(iterations):
                    try:
                        with conn.transaction():
                            conn.execute(f"CREATE TABLE {table}__tmp AS SELECT {i} AS v, 'x' AS s")
                            columns = conn.execute(
                                "SELECT column_name FROM information_schema.columns "
                                "WHERE table_name = %s ORDER BY ordinal_position",
                                (f"{table}__tmp",),
                            ).fetchall()
                            assert columns == [("v",), ("s",)], columns
                            conn.execute(f"ALTER TABLE {table} RENAME TO {table}__bak")
                            conn.execute(f"ALTER TABLE {table}__tmp RENAME TO {table}")
                            conn.execute(f"COMMENT ON TABLE {table} IS 'iteration {i}'")
                        conn.execute(f"DROP TABLE {table}__bak")
                        row = conn.execute(f"SELECT v FROM {table}").fetchone()
                        assert row == (i,), row
                        done[worker] += 1
                    except psycopg.Error as exc:
                        failures[f"{exc.sqlstate}: {str(exc).splitlines()[0][:120]}"] += 1
                        if conn.closed:
                            return
                        conn.execute(f"DROP TABLE IF EXISTS {table}__tmp")
                        conn.execute(f"DROP TABLE IF EXISTS {table}__bak")
        except BaseException as exc:  # a lost connection, a failed assertion
            failures[f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"] += 1

    threads = [threading.Thread(target=work, args=(w,), daemon=True) for w in range(sessions)]
    for thread in threads:
        thread.start()
    started = time.monotonic()
    ends = started + wait
    for thread in threads:
        while thread.is_alive() and time.monotonic() < ends:
            thread.join(min(60.0, max(0.0, ends - time.monotonic())))
            if thread.is_alive():  # a progress line a minute (run with -s to see it)
                print(
                    f"{time.monotonic() - started:.0f} s: {sum(done.values())} swaps, "
                    f"failures {dict(failures)}",
                    flush=True,
                )
    assert not any(t.is_alive() for t in threads), "a session hung"
    return failures


def _check_catalog(server: RunningServer, sessions: int, iterations: int) -> None:
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        for worker in range(sessions):
            table = f"swap_{worker}"
            assert conn.execute(f"SELECT v FROM {table}").fetchall() == [(iterations - 1,)]
            comment = conn.execute(
                "SELECT obj_description(%s::regclass, 'pg_class')", (table,)
            ).fetchone()
            assert comment == (f"iteration {iterations - 1}",)
        leftovers = conn.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_name LIKE 'swap\\_%\\_\\_%'"
        ).fetchall()
        assert leftovers == []


def _swap_on_a_new_server(
    tmp_path_factory: pytest.TempPathFactory, sessions: int, iterations: int, wait: float = 600
) -> None:
    own = start_server(tmp_path_factory.mktemp("swaps") / "data")
    try:
        started = time.monotonic()
        failures = _swap_tables(own, sessions, iterations, wait)
        took = time.monotonic() - started
        swaps = sessions * iterations
        print(
            f"\n{swaps} swaps by {sessions} sessions in {took:.0f} s: "
            f"{took / swaps:.3f} s a swap, failures {dict(failures)}"
        )
        assert failures == Counter()
        assert own.process.poll() is None, "the server died"
        _check_catalog(own, sessions, iterations)
    finally:
        log = own.stop()
    assert "Traceback" not in log, log[-3000:]
    assert "server process (PID" not in log, log[-3000:]  # it never crashed and restarted


@pytest.mark.timeout(600)
# 4 sessions in the default run (~30 s); 8 with the slow tests.
@pytest.mark.parametrize("sessions", [4, pytest.param(8, marks=pytest.mark.slow)])
def test_table_swaps_in_parallel(tmp_path_factory: pytest.TempPathFactory, sessions: int) -> None:
    """Forty-eight swaps: before catalog changes ran alone, the server died
    within 4 to 20 seconds of this workload (a segfault or a DuckDB FATAL)."""
    _swap_on_a_new_server(tmp_path_factory, sessions, 48 // sessions)


# 2000 swaps take 20 to 50 minutes (a swap's DDL and commit run one at a time).
@pytest.mark.slow
@pytest.mark.timeout(7200)
@pytest.mark.parametrize("sessions", [4, 8])
def test_table_swaps_thousands(tmp_path_factory: pytest.TempPathFactory, sessions: int) -> None:
    _swap_on_a_new_server(tmp_path_factory, sessions, 2000 // sessions, wait=7000)


def test_a_swap_keeps_what_the_tables_declared(conn: psycopg.Connection) -> None:
    """A swap renames tables with declared keys and lengths (their records follow the
    new name) and tables without (nothing to follow)."""
    conn.autocommit = True
    conn.execute("DROP TABLE IF EXISTS keyed, keyed__tmp, keyed__bak")
    conn.execute("CREATE TABLE keyed (id integer PRIMARY KEY, code varchar(7))")
    with conn.transaction():
        conn.execute("CREATE TABLE keyed__tmp AS SELECT 1 AS id, 'abc' AS code")
        conn.execute("ALTER TABLE keyed RENAME TO keyed__bak")
        conn.execute("ALTER TABLE keyed__tmp RENAME TO keyed")
    columns = (
        "SELECT table_name, data_type, character_maximum_length FROM "
        "information_schema.columns WHERE table_name LIKE 'keyed%' AND column_name = 'code' "
        "ORDER BY table_name"
    )
    keys = (
        "SELECT table_name, constraint_type FROM information_schema.table_constraints "
        "WHERE table_name LIKE 'keyed%' AND constraint_type = 'PRIMARY KEY'"
    )
    assert conn.execute(columns).fetchall() == [
        ("keyed", "character varying", None),
        ("keyed__bak", "character varying", 7),
    ]
    assert conn.execute(keys).fetchall() == [("keyed__bak", "PRIMARY KEY")]
    with conn.transaction():  # and back: the records follow again
        conn.execute("ALTER TABLE keyed RENAME TO keyed__tmp")
        conn.execute("ALTER TABLE keyed__bak RENAME TO keyed")
    assert conn.execute(columns).fetchall() == [
        ("keyed", "character varying", 7),
        ("keyed__tmp", "character varying", None),
    ]
    assert conn.execute(keys).fetchall() == [("keyed", "PRIMARY KEY")]
    conn.execute("DROP TABLE keyed, keyed__tmp")
