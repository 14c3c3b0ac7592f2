"""A real PostgreSQL server for the shared-catalog tests, started once per test session.

The server itself is bench/pg.py's throwaway cluster (installs the ``postgresql`` package
when missing and root, runs initdb and postgres as the ``postgres`` user when root, loopback
port, temporary directory); each test module gets a database of its own for its lake's catalog.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "bench"))

from pg import PostgresServer

__all__ = ["PostgresServer", "catalog_dsn", "catalog_tables", "postgres"]


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    with PostgresServer(log=lambda message: print(message, file=sys.stderr)) as server:
        yield server


@pytest.fixture(scope="module")
def catalog_dsn(postgres: PostgresServer) -> str:
    """libpq connection string of a new, empty database to hold a test module's lake."""
    name = f"lake_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres.dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"host=127.0.0.1 port={postgres.port} dbname={name} user=postgres"


def catalog_tables(dsn: str) -> set[str]:
    """Tables in the catalog database: DuckLake's own, when the lake lives there."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchall()
    return {name for (name,) in rows}
