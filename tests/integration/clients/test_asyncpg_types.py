"""asyncpg's type introspection: array OIDs have no built-in codec, so asyncpg looks each up in
pg_type (its recursive introspection query) before it can decode a result or encode an
argument; ``set_type_codec`` looks a type up by name and schema."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Any

import asyncpg
from server import RunningServer
from server import run_asyncpg as run

UTC = dt.UTC
ID = uuid.UUID("a8d1e230-300f-4f32-8210-c377328aff0d")


def test_arrays_of_every_element_type(server: RunningServer) -> None:
    async def body(con: asyncpg.Connection) -> tuple[Any, list[tuple[str, int, str]]]:
        statement = await con.prepare(
            "SELECT [1.5, NULL]::DOUBLE[] AS f8, [true, NULL]::BOOLEAN[] AS b,"
            " [DATE '2024-02-29'] AS d, ['a8d1e230-300f-4f32-8210-c377328aff0d'::UUID] AS u,"
            " [1.25::DECIMAL(5,2)] AS n, [TIMESTAMPTZ '2024-01-01 00:00:00+00'] AS tz,"
            " [10000000000]::BIGINT[] AS i8, [TIME '01:02:03'] AS t, [1::SMALLINT] AS i2")
        types = [(a.name, a.type.oid, a.type.kind) for a in statement.get_attributes()]
        return await statement.fetchrow(), types

    row, types = run(server, body)
    # _float8, _bool, _date, _uuid, _numeric, _timestamptz, _int8, _time, _int2
    assert types == [(name, oid, "array") for name, oid in [
        ("f8", 1022), ("b", 1000), ("d", 1182), ("u", 2951), ("n", 1231), ("tz", 1185),
        ("i8", 1016), ("t", 1183), ("i2", 1005)]]
    assert tuple(row) == ([1.5, None], [True, None], [dt.date(2024, 2, 29)], [ID],
                          [Decimal("1.25")], [dt.datetime(2024, 1, 1, tzinfo=UTC)],
                          [10000000000], [dt.time(1, 2, 3)], [1])


def test_array_arguments(server: RunningServer, table_name: str) -> None:
    """The parameter types are array OIDs too: asyncpg introspects them to encode."""
    async def body(con: asyncpg.Connection) -> list[Any]:
        await con.execute(f"CREATE TABLE {table_name} (ids BIGINT[], names VARCHAR[],"
                          f" days DATE[], ids2 UUID[])")
        await con.execute(f"INSERT INTO {table_name} VALUES ($1, $2, $3, $4)",
                          [1, None, 2**40], ["a", "b c"], [dt.date(2024, 1, 1)], [ID])
        row = await con.fetchrow(f"SELECT * FROM {table_name} WHERE ids2 = $1", [ID])
        return list(row or ())

    assert run(server, body) == [[1, None, 2**40], ["a", "b c"], [dt.date(2024, 1, 1)], [ID]]


def test_set_type_codec(server: RunningServer) -> None:
    """set_type_codec('json', schema='pg_catalog') finds the type through pg_type and
    pg_namespace, then decodes every json result with the given function."""
    async def body(con: asyncpg.Connection) -> tuple[Any, Any, Any]:
        await con.set_type_codec("json", encoder=json.dumps, decoder=json.loads,
                                 schema="pg_catalog")
        bound = await con.fetchval("SELECT $1::json", {"a": [1, None]})
        literal = await con.fetchval("SELECT '{\"b\": {\"c\": 2}}'::jsonb")
        row = await con.fetchrow("SELECT {'k': 1, 'v': 'x'} AS s")
        return bound, literal, row["s"] if row else None

    assert run(server, body) == ({"a": [1, None]}, {"b": {"c": 2}}, {"k": 1, "v": "x"})
