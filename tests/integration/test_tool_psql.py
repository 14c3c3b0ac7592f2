"""psql's backslash commands on forge-sql and on a real PostgreSQL holding the same objects:
each query psql sends (-E shows them) gives the same column names, types and rows on both,
and psql prints the same listing; the differences left are the short list below."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from postgres import PostgresServer, postgres  # noqa: F401
from server import RunningServer, start_server

pytestmark = pytest.mark.usefixtures("psql_installed")

DDL = [
    "CREATE TABLE items (id integer PRIMARY KEY, price numeric(10,2) DEFAULT 0, "
    "seen date NOT NULL, flag boolean)",
    "CREATE TABLE orders (id bigint PRIMARY KEY, item integer REFERENCES items (id), "
    "placed timestamp)",
    "CREATE INDEX orders_placed ON orders (placed)",
    "CREATE VIEW cheap AS SELECT id, price FROM items WHERE price < 10",
    "CREATE SEQUENCE counter",
    "CREATE SCHEMA extra",
    "CREATE TABLE extra.notes (id integer, at_date date)",
]

COMMANDS = [r"\d", r"\dt", r"\dv", r"\di", r"\ds", r"\dn", r"\du", r"\dT", r"\dm", r"\dx",
            r"\d items", r"\d+ items", r"\d orders", r"\d cheap", r"\d+ cheap",
            r"\dt extra.*", r"\l", r"\df"]

# Catalog columns are announced with PostgreSQL's types (forge_sql.catalog.column_types);
# what is left: functions returning name (pg_get_userbyid), casts to regclass (printed as
# the relation's name) and name[] are DuckDB's VARCHAR, announced as text.
CATALOG_TYPES = {19: {25}, 2205: {25}, 1003: {1009}}

# Commands whose rows differ because the data differs, not the server: PostgreSQL's own
# databases (template0, template1, postgres), its plpgsql extension's description, the
# functions the server's example extension adds, PostgreSQL 15's pg_database_owner as the
# owner of public and the bootstrap superuser's REPLICATION.
OTHER_DATA = {r"\l", r"\dx", r"\df", r"\dn", r"\du"}


# \d+ joins a table's options to its TOAST table's, reloptions || ARRAY(...): both are NULL
# or empty here, and DuckDB's || of a NULL list is NULL where PostgreSQL's array_cat gives
# the other operand ("array || NULL" in tests/differential/known.py); psql prints neither.
OPTIONS = "array_to_string(c.reloptions ||"


# A view's definition is DuckDB's text of the query, not PostgreSQL's deparsed and
# qualified one (SELECT items.id, ... 10::numeric).
VIEW_TEXT = "pg_get_viewdef("

# A bare NULL in a select list is named NULL, where PostgreSQL says ?column? (the column
# names' rules, forge_sql.engine.column_names).
_NAMES = {"NULL": "?column?"}


def hidden_queries(dsn: str, command: str) -> tuple[list[str], str]:
    """The queries psql sends for ``command``, and what it prints without them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["PGCONNECT_TIMEOUT"] = "10"
    done = subprocess.run(["psql", dsn, "-X", "-w", "-E", "-c", command],
                          capture_output=True, text=True, timeout=120, env=env)
    queries = re.findall(r"\*+ QUERY \*+\n(.*?)\n\*+\n", done.stdout, re.S)
    printed = re.sub(r"\*+ QUERY \*+\n.*?\n\*+\n\n?", "", done.stdout, flags=re.S)
    return queries, printed + done.stderr


def answer(dsn: str, sql: str) -> tuple[list[tuple[str, int]], list[tuple[Any, ...]]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        cur = conn.execute(sql.encode())
        assert cur.description is not None
        return [(c.name, c.type_code) for c in cur.description], cur.fetchall()


@pytest.fixture(scope="module")
def pair(postgres: PostgresServer  # noqa: F811
         ) -> Iterator[tuple[str, str]]:
    """(forge-sql's DSN, PostgreSQL's DSN): a fresh server and a fresh database, the same
    objects made in each."""
    database = f"psql_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres.dsn, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {database}")
    pg_dsn = re.sub(r"dbname=\S+", f"dbname={database}", postgres.dsn)
    with tempfile.TemporaryDirectory(prefix="forge-psql-") as tmp:
        forge: RunningServer = start_server(Path(tmp) / "data")
        try:
            for dsn in (forge.dsn(), pg_dsn):
                with psycopg.connect(dsn, autocommit=True) as conn:
                    for statement in DDL:
                        conn.execute(statement)
            yield forge.dsn(), pg_dsn
        finally:
            forge.stop()


def _same_type(forge: int, pg: int) -> bool:
    return forge == pg or forge in CATALOG_TYPES.get(pg, set())


def _comparable(rows: list[tuple[Any, ...]], pg_columns: list[tuple[str, int]]) -> list[Any]:
    """Rows with what differs by construction left out: OIDs (each server numbers its
    objects) and the owner's name (forge, postgres)."""
    kept = [i for i, (_, oid) in enumerate(pg_columns) if oid != 26]
    return [tuple("<owner>" if row[i] in ("forge", "postgres") else row[i] for i in kept)
            for row in rows]


def _options_left_out(sql: str, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    if OPTIONS not in sql:
        return rows
    return [tuple("" if i == 9 and v is None else v for i, v in enumerate(row)) for row in rows]


def _cells(printed: str) -> list[list[str]]:
    """psql's aligned output as cells: the widths follow the owner's name."""
    return [[cell.strip() for cell in line.replace("forge", "postgres").split("|")]
            for line in printed.splitlines() if line.strip() and set(line) - set("-+")]


@pytest.mark.parametrize("command", COMMANDS)
def test_backslash_command_as_postgresql(pair: tuple[str, str], command: str) -> None:
    forge_dsn, pg_dsn = pair
    forge_queries, forge_printed = hidden_queries(forge_dsn, command)
    pg_queries, pg_printed = hidden_queries(pg_dsn, command)
    assert pg_queries, pg_printed
    assert len(forge_queries) == len(pg_queries), (forge_printed, pg_printed)
    for forge_sql, pg_sql in zip(forge_queries, pg_queries, strict=True):
        forge_columns, forge_rows = answer(forge_dsn, forge_sql)
        pg_columns, pg_rows = answer(pg_dsn, pg_sql)
        assert [_NAMES.get(n, n) for n, _ in forge_columns] == [n for n, _ in pg_columns], pg_sql
        assert all(_same_type(f, p) for (_, f), (_, p) in zip(
            forge_columns, pg_columns, strict=True)), (pg_sql, forge_columns, pg_columns)
        if command not in OTHER_DATA and VIEW_TEXT not in pg_sql:
            assert _comparable(_options_left_out(pg_sql, forge_rows), pg_columns) == _comparable(
                pg_rows, pg_columns), pg_sql
    if command not in OTHER_DATA:
        view = "View definition:"
        assert _cells(forge_printed.partition(view)[0]) == _cells(pg_printed.partition(view)[0])
        assert (view in forge_printed) == (view in pg_printed)
