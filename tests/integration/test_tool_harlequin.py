"""Harlequin's Postgres adapter (harlequin-postgres) on forge-sql and on a real PostgreSQL
with the same objects: the catalog tree, catalog search, completions (from
information_schema.routines) and a query's session role."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from harlequin_postgres.adapter import HarlequinPostgresAdapter, HarlequinPostgresConnection
from postgres import PostgresServer, postgres  # noqa: F401
from server import RunningServer

SCHEMA = f"hq_{uuid.uuid4().hex[:8]}"

DDL = [
    f"CREATE SCHEMA {SCHEMA}",
    f"CREATE TABLE {SCHEMA}.orders (id BIGINT PRIMARY KEY, placed DATE, total DECIMAL(8,2))",
    f"CREATE VIEW {SCHEMA}.big_orders AS SELECT id FROM {SCHEMA}.orders WHERE total > 100",
]
FUNCTION = {
    "forge": f"CREATE MACRO {SCHEMA}.twice(x) AS x * 2",
    "postgres": f"CREATE FUNCTION {SCHEMA}.twice(x integer) RETURNS integer "
    "AS 'SELECT x * 2' LANGUAGE sql",
}


@pytest.fixture(scope="module")
def connections(server: RunningServer, postgres: PostgresServer  # noqa: F811
                ) -> Iterator[dict[str, HarlequinPostgresConnection]]:
    database = f"hq_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres.dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    dsns = {
        "forge": server.dsn(),
        "postgres": f"host=127.0.0.1 port={postgres.port} dbname={database} user=postgres",
    }
    made: dict[str, HarlequinPostgresConnection] = {}
    for name, dsn in dsns.items():
        with psycopg.connect(dsn, autocommit=True) as conn:
            for statement in [*DDL, FUNCTION[name]]:
                conn.execute(statement)
        made[name] = HarlequinPostgresAdapter(conn_str=(dsn,)).connect()
    yield made
    for connection in made.values():
        connection.close()
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {SCHEMA} CASCADE")


def _tree(connection: HarlequinPostgresConnection) -> dict[str, Any]:
    """The catalog as Harlequin's sidebar shows it: schemas, their relations with their
    kind, and the test schema's relations' columns with their types."""
    # The connected database is the one loaded up front (its search path's schemas).
    database = next(item for item in connection.get_catalog().items if item.loaded)
    schemas = database.children if database.loaded else database.fetch_children()
    tree: dict[str, Any] = {}
    for schema in schemas or []:
        relations = schema.children if schema.loaded else schema.fetch_children()
        tree[schema.label] = {
            (relation.label, relation.type_label): [
                (column.label, column.type_label) for column in relation.fetch_children()
            ] if schema.label == SCHEMA else None
            for relation in relations or []
        }
    return tree


def test_catalog_tree(connections: dict[str, HarlequinPostgresConnection]) -> None:
    forge, pg = (_tree(c) for c in connections.values())
    assert forge[SCHEMA] == pg[SCHEMA]
    assert set(forge[SCHEMA]) == {("orders", "t"), ("big_orders", "v")}
    # DuckDB's default schema is not listed: PostgreSQL has none of that name.
    assert "main" not in forge


@pytest.mark.parametrize("kind", ["all", "relations", "columns"])
def test_catalog_search(connections: dict[str, HarlequinPostgresConnection], kind: str) -> None:
    forge, pg = (
        sorted(
            (result.item.label, result.parents)
            for result in c.search_catalog("ord" if kind != "columns" else "placed", kind)
            if SCHEMA in result.parents or result.item.label == SCHEMA
        )
        for c in connections.values()
    )
    # The first parent is the database, named differently on each server.
    assert [(label, parents[1:]) for label, parents in forge] == [
        (label, parents[1:]) for label, parents in pg
    ]
    assert forge


def test_completions(connections: dict[str, HarlequinPostgresConnection]) -> None:
    forge, pg = (
        {(c.label, c.type_label, c.context) for c in conn.get_completions()}
        for conn in connections.values()
    )
    wanted = {("lower", "fn", None), ("count", "agg", None), ("twice", "fn", SCHEMA),
              ("search_path", "set", None)}
    assert wanted <= pg
    assert wanted <= forge
    # Routines are named functions: DuckDB lists its operators as functions too.
    assert not [label for label, kind, _ in forge if kind == "fn" and not label[0].isalpha()]


def test_routines_have_postgres_columns(server: RunningServer,
                                         postgres: PostgresServer  # noqa: F811
                                         ) -> None:
    sql = "SELECT * FROM information_schema.routines LIMIT 0"
    names = []
    for dsn in (server.dsn(), postgres.dsn):
        with psycopg.connect(dsn, autocommit=True) as conn:
            cur = conn.execute(sql)
            names.append([column.name for column in cur.description or ()])
    assert names[0] == names[1]


def test_session_role(connections: dict[str, HarlequinPostgresConnection]) -> None:
    for name, connection in connections.items():
        cursor = connection.execute("SELECT current_user, session_user, user")
        assert cursor is not None
        role = "forge" if name == "forge" else "postgres"
        assert cursor.fetchall() == [(role, role, role)]
