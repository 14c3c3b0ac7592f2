"""A DuckDB database with a lake attached and the catalog emulation installed, queried as
a session would: through the catalog rewrite, with the session's search path."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import duckdb
import pytest

from forge_sql import catalog
from forge_sql.catalog import install, rewrite, snapshot
from forge_sql.engine import pg_functions, privilege_functions, sequence_functions
from forge_sql.engine.activity import Activity
from forge_sql.engine.advisory import AdvisoryLocks
from forge_sql.engine.grants import Checker
from forge_sql.engine.locks import LockTable
from forge_sql.engine.sequences import Sequences
from forge_sql.storage import ducklake
from forge_sql.storage.acl import Acl
from forge_sql.storage.catalogs import Lake

Query = Callable[..., list[tuple[Any, ...]]]


class _Trusted:
    """No users configured: every privilege function answers true."""

    checker = Checker("forge")
    trusted = True

    def acl(self) -> Acl:
        return Acl()


@pytest.fixture(scope="package")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    data = tmp_path_factory.mktemp("lake")
    con = duckdb.connect(str(data / "server.duckdb"))
    lake_files = str(data / "lake") + "/"
    ducklake.attach(
        con, Lake(str(data / "catalog.ducklake"), lake_files, shared=False), "forge", 10
    )
    # The session functions the catalog's views call (pg_stat_activity and friends).
    pg_functions.register(con, Activity(), AdvisoryLocks(), LockTable())
    privilege_functions.register(con, Activity(), _Trusted())
    sequence_functions.register(con, Activity(), Sequences(con.cursor, "forge", 0), _Trusted())
    install.install(con, "forge", ["alice"])
    cursor = con.cursor()
    cursor.execute(f"SET search_path = '{catalog.search_path('forge')}'")
    cursor.execute("CREATE TABLE teams (id BIGINT NOT NULL, code VARCHAR)")
    cursor.execute(
        "CREATE TABLE items (id BIGINT NOT NULL, name VARCHAR DEFAULT 'x', "
        "price DECIMAL(10,2), team BIGINT)"
    )
    cursor.execute("COMMENT ON TABLE items IS 'things we sell'")
    cursor.execute("COMMENT ON COLUMN items.price IS 'in euros'")
    cursor.execute("CREATE VIEW cheap AS SELECT id, name FROM items WHERE price < 10")
    cursor.execute("CREATE SCHEMA sales")
    cursor.execute("CREATE TABLE sales.orders (n INTEGER)")
    cursor.execute(
        "INSERT INTO forge_meta.constraints (schema_name, table_name, name, kind, columns, "
        "definition) VALUES "
        "('public', 'teams', 'teams_pkey', 'p', ['id'], NULL), "
        "('public', 'items', 'items_pkey', 'p', ['id'], NULL), "
        "('public', 'items', 'items_name_key', 'u', ['name'], NULL), "
        "('public', 'items', 'items_price_check', 'c', ['price'], 'CHECK (price > 0)'), "
        "('public', 'items', 'items_team_fkey', 'f', ['team'], "
        "'FOREIGN KEY (team) REFERENCES teams (id) ON DELETE SET NULL'), "
        "('public', 'items', 'items_lower_idx', 'i', ['lower(name)', 'price'], "
        "'UNIQUE INDEX USING btree (lower(name), price DESC)')"
    )
    snapshot.refresh(con, "forge")
    yield cursor
    cursor.close()
    con.close()


@pytest.fixture
def query(lake: duckdb.DuckDBPyConnection) -> Query:
    """Rows of ``sql`` (written for PostgreSQL) as a client of the server gets them."""

    def run(sql: str, *params: object) -> list[tuple[Any, ...]]:
        return lake.execute(rewrite.rewrite(sql), list(params) or None).fetchall()

    return run
