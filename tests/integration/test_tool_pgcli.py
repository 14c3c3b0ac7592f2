"""pgcli's completion loader (pgcli.pgexecute.PGExecute, the real queries it sends) on
forge-sql and on a real PostgreSQL with the same tables: schemas, relations, columns,
foreign keys, functions, types, the search path, view definitions and ::regproc."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from pgcli.pgexecute import PGExecute
from postgres import PostgresServer, postgres  # noqa: F401
from server import RunningServer

SCHEMA = f"cli_{uuid.uuid4().hex[:8]}"

DDL = [
    f"CREATE SCHEMA {SCHEMA}",
    f"CREATE TABLE {SCHEMA}.team (id BIGINT PRIMARY KEY, name VARCHAR)",
    f"CREATE TABLE {SCHEMA}.player (id INTEGER, team BIGINT REFERENCES {SCHEMA}.team (id), "
    "score DECIMAL(5,1) DEFAULT 0)",
    f"CREATE VIEW {SCHEMA}.team_size AS SELECT team, count(*) AS n FROM {SCHEMA}.player "
    "WHERE id > 1 GROUP BY team",
]
# The same function in each server's own dialect (DuckDB's macro; PostgreSQL's SQL function).
FUNCTION = {
    "forge": f"CREATE MACRO {SCHEMA}.add_one(x) AS x + 1",
    "postgres": f"CREATE FUNCTION {SCHEMA}.add_one(x integer) RETURNS integer "
    "AS 'SELECT x + 1' LANGUAGE sql",
}



@pytest.fixture(scope="module")
def executors(server: RunningServer, postgres: PostgresServer  # noqa: F811
              ) -> Iterator[dict[str, PGExecute]]:
    database = f"cli_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres.dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    targets = {
        "forge": (server.dsn(), {"database": server.database, "user": "forge",
                                 "host": server.host, "port": server.port}),
        "postgres": (f"host=127.0.0.1 port={postgres.port} dbname={database} user=postgres",
                     {"database": database, "user": "postgres", "host": "127.0.0.1",
                      "port": postgres.port}),
    }
    made: dict[str, PGExecute] = {}
    for name, (dsn, params) in targets.items():
        with psycopg.connect(dsn, autocommit=True) as conn:
            for statement in [*DDL, FUNCTION[name]]:
                conn.execute(statement)
        made[name] = PGExecute(**params)
    yield made
    for executor in made.values():
        executor.conn.close()
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {SCHEMA} CASCADE")


def _ours(rows: Any) -> list[tuple[Any, ...]]:
    """The rows of the test's schema (the servers hold other objects too)."""
    return [tuple(row) for row in rows if row[0] == SCHEMA]


def test_schemata(executors: dict[str, PGExecute]) -> None:
    forge, pg = (e.schemata() for e in executors.values())
    assert SCHEMA in forge and SCHEMA in pg
    assert {"public", "pg_catalog", "information_schema"} <= set(forge)
    assert "main" not in forge  # DuckDB's own default schema: not one PostgreSQL has


def test_search_path(executors: dict[str, PGExecute]) -> None:
    forge, pg = (e.search_path() for e in executors.values())
    assert forge == pg


# pgcli sends relkind = ANY(%s) with a Python list: a text[] parameter.
@pytest.mark.parametrize("method", ["tables", "views", "table_columns", "view_columns"])
def test_relations_and_columns(executors: dict[str, PGExecute], method: str) -> None:
    forge, pg = (_ours(getattr(e, method)()) for e in executors.values())
    assert forge == pg
    assert forge


def test_foreign_keys(executors: dict[str, PGExecute]) -> None:
    forge, pg = (_ours(e.foreignkeys()) for e in executors.values())
    assert forge == pg == [(SCHEMA, "team", "id", SCHEMA, "player", "team")]


def test_functions(executors: dict[str, PGExecute]) -> None:
    forge, pg = (
        [(f.schema_name, f.func_name, f.is_aggregate, f.is_set_returning)
         for f in e.functions() if f.schema_name == SCHEMA]
        for e in executors.values()
    )
    assert forge == pg == [(SCHEMA, "add_one", False, False)]


def test_datatypes(executors: dict[str, PGExecute]) -> None:
    forge, pg = (_ours(e.datatypes()) for e in executors.values())
    assert forge == pg


def test_databases(executors: dict[str, PGExecute]) -> None:
    for executor in executors.values():
        assert executor.dbname in executor.databases()


def _query(executor: PGExecute, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with executor.conn.cursor() as cur:
        cur.execute(sql, params or None)
        return list(cur.fetchall())


def _unqualified(definition: str) -> str:
    return re.sub(r"\b\w+\.(?=\w)", "", " ".join(definition.split()))


def test_view_definition(executors: dict[str, PGExecute]) -> None:
    """``\\ev``: the view's text in PostgreSQL's spelling (count(*), not count_star())."""
    forge, pg = (e.view_definition(f"{SCHEMA}.team_size") for e in executors.values())
    assert "count_star" not in forge and "count(*)" in forge
    # Pretty-printed, PostgreSQL leaves out brackets that DuckDB's stored text keeps.
    assert _unqualified(forge).replace("(", "").replace(")", "") == _unqualified(
        pg).replace("(", "").replace(")", "")


def test_view_text_in_postgres_spelling(executors: dict[str, PGExecute]) -> None:
    """pg_get_viewdef prints PostgreSQL's spellings. Not pretty-printed: the pretty form
    (pgcli's \\ev) leaves out the brackets PostgreSQL puts around each condition, and
    DuckDB's stored text keeps them."""
    sql = "SELECT pg_catalog.pg_get_viewdef(%s::regclass)"
    forge, pg = (_query(e, sql, f"{SCHEMA}.team_size")[0][0] for e in executors.values())
    assert "count_star" not in forge
    assert _unqualified(forge) == _unqualified(pg)


def test_regproc(executors: dict[str, PGExecute]) -> None:
    """pgcli's \\ef resolves a function name with ``%s::regproc::oid``."""
    sql = (
        "WITH f AS (SELECT %s::pg_catalog.regproc::pg_catalog.oid AS f_oid) "
        "SELECT p.proname, f.f_oid::regproc FROM f JOIN pg_catalog.pg_proc p ON p.oid = f.f_oid"
    )
    for executor in executors.values():
        assert _query(executor, sql, f"{SCHEMA}.add_one") == [
            ("add_one", f"{SCHEMA}.add_one")]
    for executor in executors.values():
        with pytest.raises(psycopg.errors.UndefinedFunction):
            _query(executor, "SELECT 'no_such_function'::regproc::oid")
        executor.conn.rollback()
