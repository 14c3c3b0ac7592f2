"""asyncpg against the server: binary parameters and results, statement reuse, cursors.

asyncpg Parses without parameter types and trusts ParameterDescription, so every test here
also checks the server's type inference. (Arrays need pg_catalog introspection: not here.)
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Any, TypeVar

import asyncpg
import pytest
from server import RunningServer
from server import run_asyncpg as run

T = TypeVar("T")
UTC = dt.UTC




# (DuckDB type, value, PostgreSQL type name asyncpg reports)
SCALARS: list[tuple[str, Any, str]] = [
    ("BOOLEAN", True, "bool"),
    ("SMALLINT", -32768, "int2"),
    ("INTEGER", 2_147_483_647, "int4"),
    ("BIGINT", -9_223_372_036_854_775_808, "int8"),
    ("REAL", 0.25, "float4"),
    ("DOUBLE", 0.1, "float8"),
    ("DECIMAL(10,2)", Decimal("-12345678.90"), "numeric"),
    ("DECIMAL(38,10)", Decimal("1234567890123456789012345678.0123456789"), "numeric"),
    ("HUGEINT", Decimal(10**37 + 7), "numeric"),
    ("UBIGINT", Decimal(2**64 - 1), "numeric"),
    ("VARCHAR", "héllo ✓ 'q' \"d\" \\ \n", "varchar"),
    ("BLOB", b"\x00\x01\xff'\\", "bytea"),
    ("DATE", dt.date(2024, 2, 29), "date"),
    ("TIME", dt.time(23, 59, 59, 999999), "time"),
    ("TIMESTAMP", dt.datetime(2024, 1, 2, 3, 4, 5, 6), "timestamp"),
    ("TIMESTAMPTZ", dt.datetime(2024, 6, 30, 23, 59, 58, 123456, tzinfo=UTC), "timestamptz"),
    ("INTERVAL", dt.timedelta(days=1, hours=2, microseconds=5), "interval"),
    ("UUID", uuid.UUID("a8d1e230-300f-4f32-8210-c377328aff0d"), "uuid"),
    ("JSON", json.dumps({"a": [1, 2.5, None], "b": "x"}), "json"),
]


@pytest.mark.parametrize("case", SCALARS, ids=[c[0] for c in SCALARS])
def test_scalar_round_trip(server: RunningServer, table_name: str,
                           case: tuple[str, Any, str]) -> None:
    duck_type, value, type_name = case

    async def body(con: asyncpg.Connection) -> None:
        await con.execute(f"CREATE TABLE {table_name} (id INTEGER, v {duck_type})")
        status = await con.execute(f"INSERT INTO {table_name} VALUES ($1, $2), ($3, $4)",
                                   1, value, 2, None)
        assert status == "INSERT 0 2"
        stmt = await con.prepare(f"SELECT id, v FROM {table_name} ORDER BY id")
        assert [a.type.name for a in stmt.get_attributes()] == ["int4", type_name]
        rows = await stmt.fetch()
        assert [tuple(r) for r in rows] == [(1, value), (2, None)]
        # The value as a parameter compared against the column (inferred parameter type).
        assert await con.fetchval(f"SELECT id FROM {table_name} WHERE v = $1", value) == 1 \
            or duck_type == "JSON"

    run(server, body)


CAST_CASES = [pytest.param(*c) for c in SCALARS if c[0] != "JSON"]


@pytest.mark.parametrize(("duck_type", "value", "type_name"), CAST_CASES,
                         ids=[c[0] for c in SCALARS if c[0] != "JSON"])
def test_scalar_parameter_cast(server: RunningServer, duck_type: str, value: Any,
                               type_name: str) -> None:

    async def body(con: asyncpg.Connection) -> None:
        stmt = await con.prepare(f"SELECT $1::{duck_type}, $2::{duck_type}")
        assert [p.name for p in stmt.get_parameters()] == [type_name, type_name]
        assert tuple(await stmt.fetchrow(value, None)) == (value, None)

    run(server, body)


def test_json_parameter_and_result(server: RunningServer) -> None:
    async def body(con: asyncpg.Connection) -> None:
        text = await con.fetchval("SELECT $1::JSON", '{"k": [1, 2]}')
        assert json.loads(text) == {"k": [1, 2]}
        text = await con.fetchval("SELECT {'a': 1, 'b': 'x'}")
        assert json.loads(text) == {"a": 1, "b": "x"}

    run(server, body)


def test_inferred_parameter_types(server: RunningServer, table_name: str) -> None:
    async def body(con: asyncpg.Connection) -> None:
        await con.execute(f"CREATE TABLE {table_name} (id INTEGER, v VARCHAR, d DATE,"
                          " n DECIMAL(10,2))")
        insert = await con.prepare(f"INSERT INTO {table_name} VALUES ($1, $2, $3, $4)")
        assert [p.name for p in insert.get_parameters()] == ["int4", "varchar", "date", "numeric"]
        await insert.executemany([(i, f"v{i}", dt.date(2024, 1, 1 + i), Decimal(i) / 4)
                                  for i in range(10)])
        update = await con.prepare(f"UPDATE {table_name} SET v = $1 WHERE id = $2")
        assert [p.name for p in update.get_parameters()] == ["varchar", "int4"]
        assert await update.fetchval("changed", 3) is None
        limit = await con.prepare(f"SELECT id FROM {table_name} ORDER BY id LIMIT $1 OFFSET $2")
        assert [p.name for p in limit.get_parameters()] == ["int8", "int8"]
        assert [r[0] for r in await limit.fetch(3, 2)] == [2, 3, 4]
        assert await con.fetchval(f"SELECT v FROM {table_name} WHERE id = $1", 3) == "changed"
        assert await con.fetchval(f"SELECT count(*) FROM {table_name} WHERE d > $1 AND n < $2",
                                  dt.date(2024, 1, 5), Decimal("2")) == 3

    run(server, body)


def test_prepared_statement_reused(server: RunningServer, table_name: str) -> None:
    async def body(con: asyncpg.Connection) -> None:
        await con.execute(f"CREATE TABLE {table_name} AS "
                          "SELECT range::INTEGER AS id, 'v' || range AS v FROM range(500)")
        stmt = await con.prepare(f"SELECT v FROM {table_name} WHERE id = $1")
        for index in range(0, 500, 5):
            assert await stmt.fetchval(index) == f"v{index}"
        # asyncpg's statement cache reuses the named statement for con.fetch too.
        for index in range(100):
            rows = await con.fetch(f"SELECT id, v FROM {table_name} WHERE id >= $1 AND id < $2",
                                   index, index + 2)
            assert [tuple(r) for r in rows] == [(index, f"v{index}"), (index + 1, f"v{index + 1}")]

    run(server, body)


def test_executemany(server: RunningServer, table_name: str) -> None:
    async def body(con: asyncpg.Connection) -> None:
        await con.execute(f"CREATE TABLE {table_name} (id BIGINT, t TIMESTAMPTZ, f DOUBLE)")
        rows = [(i, dt.datetime(2024, 1, 1, tzinfo=UTC) + dt.timedelta(minutes=i), i / 8)
                for i in range(300)]
        await con.executemany(f"INSERT INTO {table_name} VALUES ($1, $2, $3)", rows)
        fetched = await con.fetch(f"SELECT * FROM {table_name} ORDER BY id")
        assert [tuple(r) for r in fetched] == rows

    run(server, body)


def test_cursor_with_prefetch(server: RunningServer) -> None:
    """Execute with a row limit: PortalSuspended, then more Executes on the same portal."""
    async def body(con: asyncpg.Connection) -> None:
        seen = []
        async with con.transaction():
            async for record in con.cursor("SELECT range AS i, 'r' || range AS s FROM range(1005)",
                                           prefetch=10):
                seen.append((record["i"], record["s"]))
        assert seen == [(i, f"r{i}") for i in range(1005)]

    run(server, body)


def test_cursor_fetch_in_steps(server: RunningServer) -> None:
    async def body(con: asyncpg.Connection) -> None:
        async with con.transaction():
            cur = await con.cursor("SELECT range AS i FROM range($1::BIGINT)", 100)
            assert [r[0] for r in await cur.fetch(5)] == [0, 1, 2, 3, 4]
            # (cur.forward() sends MOVE, SQL-level cursors: not supported yet.)
            assert [r[0] for r in await cur.fetch(10)] == list(range(5, 15))
            row = await cur.fetchrow()
            assert row is not None and row[0] == 15
            rest = await cur.fetch(1000)
            assert [r[0] for r in rest] == list(range(16, 100))
            assert await cur.fetchrow() is None

    run(server, body)


def test_two_cursors_interleaved(server: RunningServer) -> None:
    async def body(con: asyncpg.Connection) -> None:
        async with con.transaction():
            first = await con.cursor("SELECT range AS i FROM range(50)")
            second = await con.cursor("SELECT -range AS i FROM range(50)")
            got = []
            for _ in range(5):
                got += [r[0] for r in await first.fetch(10)]
                got += [r[0] for r in await second.fetch(10)]
        assert sorted(got) == sorted(list(range(50)) + [-i for i in range(50)])
        assert got[:12] == [*range(10), 0, -1]

    run(server, body)


def test_large_binary_result(server: RunningServer) -> None:
    async def body(con: asyncpg.Connection) -> None:
        rows = await con.fetch("SELECT range AS i, range * 0.5 AS f, 'x' || range AS s,"
                               " DATE '2024-01-01' + range::INTEGER % 1000 AS d"
                               " FROM range(200000)")
        assert len(rows) == 200000
        assert tuple(rows[-1]) == (199999, 99999.5, "x199999",
                                   dt.date(2024, 1, 1) + dt.timedelta(days=199999 % 1000))

    run(server, body)


def test_transactions(server: RunningServer, table_name: str) -> None:
    async def body(con: asyncpg.Connection) -> None:
        await con.execute(f"CREATE TABLE {table_name} (a INTEGER)")
        async with con.transaction():
            await con.execute(f"INSERT INTO {table_name} VALUES (1)")
        with pytest.raises(asyncpg.UndefinedTableError):
            async with con.transaction():
                await con.execute(f"INSERT INTO {table_name} VALUES (2)")
                await con.execute("SELECT * FROM no_such_table_a")
        assert await con.fetchval(f"SELECT sum(a) FROM {table_name}") == 1
        assert not con.is_in_transaction()

    run(server, body)


def test_errors_keep_the_connection(server: RunningServer) -> None:
    async def body(con: asyncpg.Connection) -> None:
        with pytest.raises(asyncpg.PostgresSyntaxError) as info:
            await con.fetch("SELEC 1")
        assert info.value.sqlstate == "42601"
        with pytest.raises(asyncpg.InvalidTextRepresentationError):
            await con.fetchval("SELECT 'x'::INTEGER")
        with pytest.raises(asyncpg.UndefinedColumnError):
            await con.fetchval("SELECT nope FROM (SELECT 1 AS a) t WHERE a = $1", 1)
        assert await con.fetchval("SELECT $1::INTEGER + 1", 1) == 2

    run(server, body)


def test_server_version(server: RunningServer) -> None:
    async def body(con: asyncpg.Connection) -> None:
        version = con.get_server_version()
        assert version.major >= 14
        assert con.get_settings().client_encoding == "UTF8"

    run(server, body)
