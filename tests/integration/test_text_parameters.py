"""Text-format parameters in PostgreSQL's own syntax that DuckDB does not parse as they are:
array literals and bytea (hex and escape format), with explicit and inferred types."""

from __future__ import annotations

import asyncpg
import psycopg
import pytest
import rawclient
from server import RunningServer, run_asyncpg

from forge_sql.seam import oids


def _exec(conn: psycopg.Connection, sql: str, values: list[bytes | None],
          types: list[int]) -> list[bytes | None]:
    """Extended protocol with text parameters and result, types as given (0: inferred)."""
    result = conn.pgconn.exec_params(sql.encode(), values, types)
    assert result.status == psycopg.pq.ExecStatus.TUPLES_OK, result.error_message
    return [result.get_value(0, i) for i in range(result.nfields)]


@pytest.mark.parametrize(("literal", "oid", "expected"), [
    (b"{1,2,NULL}", oids.INT4_ARRAY, b"{1,2,NULL}"),
    (b"{}", oids.INT8_ARRAY, b"{}"),
    (b'{"a b",c,NULL,"x\\"y","NULL"}', oids.TEXT_ARRAY, b'{"a b",c,NULL,"x\\"y","NULL"}'),
    (b"{{1,2},{3,4}}", oids.INT4_ARRAY, b"[[1, 2], [3, 4]]"),  # nested: sent as json
    (b"{t,f}", oids.BOOL_ARRAY, b"{t,f}"),
    (b"\\x0102ff", oids.BYTEA, b"\\x0102ff"),
    (b"ab\\\\c\\001", oids.BYTEA, b"\\x61625c6301"),  # escape format
])
def test_explicit_types(conn: psycopg.Connection, literal: bytes, oid: int,
                        expected: bytes) -> None:
    assert _exec(conn, "SELECT $1", [literal], [oid]) == [expected]


def test_inferred_from_columns_and_casts(conn: psycopg.Connection, table_name: str) -> None:
    conn.execute(f"CREATE TABLE {table_name} (a INTEGER[], b VARCHAR[], c BLOB, d INTEGER[][])")
    result = conn.pgconn.exec_params(
        f"INSERT INTO {table_name} VALUES ($1, $2, $3, $4)".encode(),
        [b"{1,2}", b'{"a b",c}', b"\\xdead", b"{{1,2},{3}}"], [0, 0, 0, 0])
    assert result.status == psycopg.pq.ExecStatus.COMMAND_OK, result.error_message
    assert _exec(conn, f"SELECT a, b, c FROM {table_name} WHERE c = $1", [b"\\xdead"], [0]) == [
        b"{1,2}", b'{"a b",c}', b"\\xdead"]
    assert conn.execute(f"SELECT d FROM {table_name}").fetchone() == ([[1, 2], [3]],)
    assert _exec(conn, "SELECT $1::int[], $2::bytea", [b"{5,6}", b"\\x00"], [0, 0]) == [
        b"{5,6}", b"\\x00"]


def test_malformed_array_is_22P02(conn: psycopg.Connection) -> None:
    result = conn.pgconn.exec_params(b"SELECT $1", [b"{1,2"], [oids.INT4_ARRAY])
    assert result.error_field(psycopg.pq.DiagnosticField.SQLSTATE) == b"22P02"
    assert conn.execute("SELECT 1").fetchone() == (1,)  # the session goes on


def test_raw_protocol_text_array(server: RunningServer) -> None:
    with rawclient.connect(server.host, server.port) as client:
        client.startup()
        client.send(rawclient.parse("SELECT $1 AS v, $2 AS b", oids=(oids.TEXT_ARRAY, 0))
                    + rawclient.bind(params=(b'{"x,y",z}', b"\\x41"))
                    + rawclient.describe(b"P") + rawclient.execute() + rawclient.sync())
        replies = client.read_until_ready()
    assert rawclient.errors_in(replies) == []
    assert rawclient.data_rows(replies) == [['{"x,y",z}', "\\x41"]]


def test_asyncpg_arrays_and_bytea(server: RunningServer, table_name: str) -> None:
    async def body(con: asyncpg.Connection) -> None:
        await con.execute(f"CREATE TABLE {table_name} (a INTEGER[], c BLOB)")
        await con.execute(f"INSERT INTO {table_name} VALUES ($1, $2)", [7, None, 8], b"\xff\x00")
        row = await con.fetchrow(f"SELECT a, c FROM {table_name}")
        assert row is not None and (row["a"], row["c"]) == ([7, None, 8], b"\xff\x00")

    run_asyncpg(server, body)
