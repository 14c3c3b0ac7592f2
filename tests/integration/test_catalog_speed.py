"""Browsing a 100-table, 20-column schema stays interactive: each catalog operation of
psql, SQLAlchemy and DBeaver under a second (medians printed with -s)."""

from __future__ import annotations

import shutil
import statistics
import time
from collections.abc import Callable, Iterator

import psycopg
import pytest
from server import RunningServer, start_server
from sqlalchemy import Engine, create_engine, inspect
from test_psql import psql

# Creating the schema and timing each operation several times takes about a minute.

TABLES = 100
COLUMNS = 20
BOUND_SECONDS = 1.0
RUNS = 3

DBEAVER = {
    "schemas": "SELECT n.oid,n.*,d.description FROM pg_catalog.pg_namespace n "
    "LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=n.oid AND d.objsubid=0 "
    "AND d.classoid='pg_namespace'::regclass ORDER BY nspname",
    "tables": "SELECT c.oid,c.*,d.description FROM pg_catalog.pg_class c "
    "LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0 "
    "AND d.classoid='pg_class'::regclass WHERE c.relnamespace=2200 "
    "AND c.relkind not in ('i','I','c')",
    "columns": "SELECT c.relname,a.*,pg_catalog.pg_get_expr(ad.adbin, ad.adrelid, true) "
    "as def_value,dsc.description FROM pg_catalog.pg_attribute a "
    "INNER JOIN pg_catalog.pg_class c ON (a.attrelid=c.oid) "
    "LEFT OUTER JOIN pg_catalog.pg_attrdef ad ON (a.attrelid=ad.adrelid AND a.attnum = ad.adnum) "
    "LEFT OUTER JOIN pg_catalog.pg_description dsc ON (c.oid=dsc.objoid "
    "AND a.attnum = dsc.objsubid) WHERE NOT a.attisdropped AND c.relkind not in ('i','I','c') "
    "AND c.relnamespace=2200 ORDER BY a.attnum",
    "constraints": "SELECT c.oid,c.*,t.relname as tabrelname,rt.relnamespace as refnamespace,"
    "d.description FROM pg_catalog.pg_constraint c "
    "INNER JOIN pg_catalog.pg_class t ON t.oid=c.conrelid "
    "LEFT OUTER JOIN pg_catalog.pg_class rt ON rt.oid=c.confrelid "
    "LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0 "
    "AND d.classoid='pg_constraint'::regclass WHERE t.relnamespace=2200 ORDER BY c.oid",
}


@pytest.fixture(scope="module")
def wide(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("wide") / "data")
    kinds = ("BIGINT", "VARCHAR", "DECIMAL(12,2)", "TIMESTAMPTZ", "BOOLEAN")
    with psycopg.connect(running.dsn(), autocommit=True) as conn:
        conn.execute("BEGIN")
        for t in range(TABLES):
            columns = ", ".join(f"c{c} {kinds[c % len(kinds)]}" for c in range(COLUMNS))
            conn.execute(f"CREATE TABLE w{t:03d} ({columns})")
            conn.execute(f"COMMENT ON TABLE w{t:03d} IS 'table {t}'")
            conn.execute(
                "INSERT INTO forge_meta.constraints (schema_name, table_name, name, kind, "
                "columns) VALUES ('public', %s, %s, 'p', ['c0'])", [f"w{t:03d}", f"w{t:03d}_pkey"])
        conn.execute("COMMIT")
    yield running
    running.stop()


def median_seconds(action: Callable[[], object]) -> float:
    action()  # the first run also loads what later ones reuse, as a browsing client would
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def check(name: str, seconds: float) -> None:
    print(f"{name}: {seconds * 1000:.0f} ms")
    assert seconds < BOUND_SECONDS, f"{name} took {seconds:.2f} s"


@pytest.mark.skipif(shutil.which("psql") is None, reason="psql is not installed")
@pytest.mark.parametrize("command", [r"\dt", r"\d w050", r"\d+ w050", r"\di"])
def test_psql(wide: RunningServer, command: str) -> None:
    def run() -> None:
        done = psql(wide, "-c", command)
        assert done.returncode == 0 and "w050" in done.stdout, done.stderr

    check(f"psql {command}", median_seconds(run))


@pytest.fixture(scope="module")
def engine(wide: RunningServer) -> Iterator[Engine]:
    created = create_engine(f"postgresql+psycopg://forge@{wide.host}:{wide.port}/forge")
    yield created
    created.dispose()


@pytest.mark.parametrize("operation", ["table_names", "columns", "all_columns", "pk", "indexes"])
def test_sqlalchemy(engine: Engine, operation: str) -> None:
    actions: dict[str, Callable[[], object]] = {
        "table_names": lambda: inspect(engine).get_table_names(),
        "columns": lambda: inspect(engine).get_columns("w050"),
        "all_columns": lambda: inspect(engine).get_multi_columns(),
        "pk": lambda: inspect(engine).get_pk_constraint("w050"),
        "indexes": lambda: inspect(engine).get_indexes("w050"),
    }
    expected = {"table_names": TABLES, "columns": COLUMNS, "all_columns": TABLES}
    result = actions[operation]()
    if operation in expected:
        assert isinstance(result, list | dict) and len(result) == expected[operation]
    check(f"sqlalchemy {operation}", median_seconds(actions[operation]))


@pytest.mark.parametrize("query", sorted(DBEAVER))
def test_dbeaver(wide: RunningServer, query: str) -> None:
    with psycopg.connect(wide.dsn(), autocommit=True) as conn:
        rows = conn.execute(DBEAVER[query]).fetchall()
        assert len(rows) >= {"schemas": 3, "tables": TABLES, "columns": TABLES * COLUMNS,
                             "constraints": TABLES}[query]
        check(f"dbeaver {query}", median_seconds(lambda: conn.execute(DBEAVER[query]).fetchall()))
