"""pg_catalog columns announced with PostgreSQL's types: oid (26), name (19) and "char"
(18), side by side with a real PostgreSQL in text and binary (oid: an unsigned 4-byte
integer), and decoded by asyncpg as PostgreSQL's are."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import asyncpg
import psycopg
import pytest
from postgres import PostgresServer, postgres  # noqa: F401
from psycopg import pq
from server import RunningServer, run_asyncpg

# Rows both servers hold alike: built-in types, the pg_catalog schema and relation.
QUERIES = [
    "SELECT oid, typname, typtype, typlen, typnamespace FROM pg_type WHERE oid IN (23, 25) "
    "ORDER BY oid",
    "SELECT c.oid, c.relname, c.relkind, n.nspname FROM pg_catalog.pg_class c "
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relname IN ('pg_class', 'pg_type') ORDER BY 2",
    "SELECT nspname AS schema, oid FROM pg_namespace WHERE nspname = 'pg_catalog'",
    "SELECT t.typname, t.typelem FROM pg_type t WHERE t.typname = '_int4'",
    "SELECT count(*) FROM pg_class WHERE relname = 'pg_class'",
]


@pytest.fixture(scope="module")
def both(server: RunningServer, postgres: PostgresServer  # noqa: F811
         ) -> Iterator[tuple[psycopg.Connection[Any], psycopg.Connection[Any]]]:
    with psycopg.connect(server.dsn(), autocommit=True) as forge, \
            psycopg.connect(postgres.dsn, autocommit=True) as pg:
        yield forge, pg


def answer(conn: psycopg.Connection[Any], sql: str, binary: bool) -> tuple[Any, ...]:
    result = conn.pgconn.exec_params(sql.encode(), [], result_format=1 if binary else 0)
    assert result.status == pq.ExecStatus.TUPLES_OK, result.error_message
    columns = [((result.fname(i) or b"").decode(), result.ftype(i), result.fmod(i))
               for i in range(result.nfields)]
    rows = [tuple(result.get_value(r, c) for c in range(result.nfields))
            for r in range(result.ntuples)]
    return columns, rows


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
@pytest.mark.parametrize("sql", QUERIES)
def test_catalog_columns_typed_as_postgres(
        both: tuple[psycopg.Connection[Any], psycopg.Connection[Any]], sql: str,
        binary: bool) -> None:
    forge, pg = both
    expected = answer(pg, sql, binary)
    assert expected[1], "the rows compared must exist on PostgreSQL"
    assert answer(forge, sql, binary) == expected


def test_oid_and_name_types_through_star_and_simple_query(
        both: tuple[psycopg.Connection[Any], psycopg.Connection[Any]]) -> None:
    """SELECT * of a catalog relation, and the simple protocol, announce the same types."""
    forge, _ = both
    with forge.cursor() as cur:
        cur.execute("SELECT * FROM pg_namespace WHERE nspname = 'public'")
        assert cur.description is not None
        kinds = {c.name: c.type_code for c in cur.description}
        assert kinds["oid"] == 26 and kinds["nspname"] == 19 and kinds["nspowner"] == 26
        row = cur.fetchone()
        assert row is not None and isinstance(row[0], int) and row[1] == "public"


def test_asyncpg_decodes_oid_as_int_and_name_as_str(
        server: RunningServer, postgres: PostgresServer) -> None:  # noqa: F811
    sql = ("SELECT oid, relname, relkind FROM pg_class WHERE relname IN ('pg_class', "
           "'pg_type') ORDER BY relname")

    async def body(con: asyncpg.Connection) -> list[Any]:
        statement = await con.prepare(sql)
        kinds = [(a.name, a.type.oid) for a in statement.get_attributes()]
        return [kinds, [tuple(r) for r in await statement.fetch()]]

    async def on_postgres() -> list[Any]:
        con = await asyncpg.connect(host="127.0.0.1", port=postgres.port, user="postgres",
                                    database="postgres", timeout=10)
        try:
            return await body(con)
        finally:
            await con.close()

    expected = asyncio.run(on_postgres())
    assert expected[0] == [("oid", 26), ("relname", 19), ("relkind", 18)]
    assert expected[1] == [(1259, "pg_class", b"r"), (1247, "pg_type", b"r")]  # "char": bytes
    assert run_asyncpg(server, body) == expected
