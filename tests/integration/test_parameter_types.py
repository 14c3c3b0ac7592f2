"""Parameter and result types as PostgreSQL describes them: each statement is prepared on
forge-sql and on a real PostgreSQL with the same parameter types (0: left to the server),
and the ParameterDescription and RowDescription compared; then drivers that encode by the
described types (psycopg text and binary, asyncpg, untyped OID-0 parameters) run them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from decimal import Decimal

import asyncpg
import psycopg
import pytest
from postgres import PostgresServer, postgres  # noqa: F401
from psycopg import pq
from server import RunningServer

TABLE = f"ptypes_{uuid.uuid4().hex[:8]}"
DDL = f"CREATE TABLE {TABLE} (id int, name varchar, n int, amount numeric(10,2))"
ROWS = f"INSERT INTO {TABLE} VALUES (1, 'a', 2, 1.25), (2, 'b', 3, NULL), (3, NULL, 4, 2.5)"

Described = tuple[list[int], list[tuple[int, int]]] | tuple[str, str]


@pytest.fixture(scope="module")
def pair(server: RunningServer,
         postgres: PostgresServer) -> Iterator[tuple[psycopg.Connection, psycopg.Connection]]:  # noqa: F811
    forge = psycopg.connect(server.dsn(), autocommit=True)
    pg = psycopg.connect(postgres.dsn, autocommit=True)
    for conn in (forge, pg):
        conn.execute(DDL)
        conn.execute(ROWS)
    yield forge, pg
    for conn in (forge, pg):
        conn.execute(f"DROP TABLE {TABLE}")
        conn.close()


def describe(conn: psycopg.Connection, sql: str, types: list[int] | None) -> Described:
    """(parameter OIDs, result (OID, typmod)) of Parse + Describe, or the error's (phase,
    SQLSTATE). Column names are another concern (test_column_names), and so are numeric
    typmods (DuckDB's DECIMAL widths), which are left out."""
    pgconn = conn.pgconn
    parsed = pgconn.prepare(b"", sql.encode(), param_types=types)
    if parsed.status != pq.ExecStatus.COMMAND_OK:
        return "parse", (parsed.error_field(pq.DiagnosticField.SQLSTATE) or b"").decode()
    described = pgconn.describe_prepared(b"")
    assert described.status == pq.ExecStatus.COMMAND_OK, described.error_message
    params = [described.param_type(i) for i in range(described.nparams)]
    fields = [(described.ftype(i), described.fmod(i) if described.ftype(i) != 1700 else -1)
              for i in range(described.nfields)]
    return params, fields


T = TABLE
CASES = [
    # An expression over a parameter is described by the expression's type, never int4.
    ("SELECT CAST($1 AS TEXT) || 'b'", None),
    ("SELECT CAST($1 AS TEXT) || 'b'", [25]),
    ("SELECT quote_literal(NULL::text)", None),
    ("SELECT upper($1), $1 || 'a'", None),
    # An operand takes the other operand's type; a given numeric stays numeric.
    (f"SELECT $1 * n FROM {T}", [1700]),
    (f"SELECT $1 * n FROM {T}", None),
    ("SELECT $1 + 1.5", None),
    ("SELECT abs($1), $2 - n FROM " + f"{TABLE}", None),  # float8 where overloads compete
    # Arrays compared with ANY / ALL: the column's array type (text[] for a varchar).
    (f"SELECT id FROM {T} WHERE name = ANY($1)", None),
    (f"SELECT id FROM {T} WHERE id = ANY($1)", None),
    (f"SELECT id FROM {T} WHERE name <> ALL($1)", None),
    (f"SELECT id FROM {T} WHERE name = ANY($1)", [1009]),
    # Stored into a column: the column's type; compared with a varchar column: text.
    (f"INSERT INTO {T} (id, name) SELECT $1, $2", None),
    (f"INSERT INTO {T} (id, name) VALUES ($1, $2)", None),
    (f"UPDATE {T} SET name = $1 WHERE name = $2", None),
    (f"SELECT id FROM {T} WHERE name = $1", None),
    # asyncpg's own casts, schema-qualified and quoted.
    ('SELECT $1::"pg_catalog"."int4"', None),
    ("SELECT $1::pg_catalog.int4", None),
    # Results: text for expressions and literals, varchar for columns and varchar casts.
    (f"SELECT upper(name), name || 'x', 'lit', 'x'::varchar(3), CAST('y' AS varchar), "
     f"coalesce(name, 'x'), ARRAY['a'], ARRAY[name] FROM {T}", None),
    (f"SELECT name FROM {T} UNION SELECT 'z'", None),
    ("SELECT 'a' AS x, 'b'", None),
    ("SHOW search_path", None),
    ("VALUES ('a', 1), ('b', 2)", None),
    # DML on a missing table fails at Parse.
    ("INSERT INTO no_such_table VALUES (1)", None),
    ("UPDATE no_such_table SET a = 1", None),
    ("DELETE FROM no_such_table", None),
]


def _case_id(value: object) -> str | None:
    """The test id without the table's random suffix: every pytest-xdist worker collects
    the same tests."""
    return value.replace(TABLE, "ptypes") if isinstance(value, str) else None


@pytest.mark.parametrize(("sql", "types"), CASES, ids=_case_id)
def test_described_as_postgresql_describes(
        pair: tuple[psycopg.Connection, psycopg.Connection], sql: str,
        types: list[int] | None) -> None:
    forge, pg = pair
    assert describe(forge, sql, types) == describe(pg, sql, types)


def test_describe_runs_nothing(pair: tuple[psycopg.Connection, psycopg.Connection]) -> None:
    """Describing a statement with parameters binds it: a data error its rows would raise
    (ln of 0) is not raised at Parse, on neither server."""
    forge, pg = pair
    sql = f"SELECT ln(n - $1) FROM {T}"
    assert describe(forge, sql, None) == describe(pg, sql, None) == ([23], [(701, -1)])


@pytest.mark.parametrize("binary", [False, True])
def test_psycopg_decodes_by_the_described_types(
        pair: tuple[psycopg.Connection, psycopg.Connection], binary: bool) -> None:
    for conn in pair:
        cur = conn.cursor(binary=binary)
        queries = [
            ("SELECT CAST(%s AS TEXT) || 'b'", ("a",)),
            (f"SELECT %s * n FROM {T} ORDER BY id", (Decimal("1.5"),)),
            (f"SELECT id FROM {T} WHERE name = ANY(%s) ORDER BY id", (["a", "b", None],)),
            (f"SELECT id FROM {T} WHERE id = ANY(%s) ORDER BY id", ([1, 3],)),
        ]
        answers = [cur.execute(sql, params).fetchall() for sql, params in queries]
        assert answers == [
            [("ab",)],
            [(Decimal("3.0"),), (Decimal("4.5"),), (Decimal("6.0"),)],
            [(1,), (2,)],
            [(1,), (3,)],
        ]


def test_untyped_parameters_take_their_context(
        pair: tuple[psycopg.Connection, psycopg.Connection]) -> None:
    """OID 0 for every parameter (pg8000, libpq's PQexecParams without types)."""
    answers = []
    for conn in pair:
        found = []
        for sql, values in [
            ("SELECT $1 + 1.5", [b"2"]),
            ("SELECT CAST($1 AS TEXT) || 'b'", [b"a"]),
            (f"SELECT id FROM {T} WHERE name = ANY($1) ORDER BY id", [b"{a,b}"]),
            (f"SELECT count(*) FROM {T} WHERE amount > $1", [b"1.3"]),
        ]:
            result = conn.pgconn.exec_params(sql.encode(), values, [0] * len(values))
            assert result.status == pq.ExecStatus.TUPLES_OK, result.error_message
            found.append([(result.ftype(0), _value(result.ftype(0), result.get_value(r, 0)))
                          for r in range(result.ntuples)])
        answers.append(found)
    assert answers[0] == answers[1]


def _value(oid: int, text: bytes | None) -> object:
    """A numeric by its value: the digits DuckDB's DECIMAL width prints are not compared."""
    return Decimal(text.decode()) if oid == 1700 and text is not None else text


def test_asyncpg_encodes_by_the_described_types(
        server: RunningServer, postgres: PostgresServer) -> None:  # noqa: F811
    async def run(dsn: str) -> list[object]:
        conn = await asyncpg.connect(dsn)
        try:
            return [
                await conn.fetchval("SELECT CAST($1 AS TEXT) || 'b'", "a"),
                await conn.fetchval("SELECT $1::\"pg_catalog\".\"int4\" + 1", 41),
                await conn.fetchval(f"SELECT $1 * n FROM {T} WHERE id = 1", Decimal("0.5")),
                [r["id"] for r in await conn.fetch(
                    f"SELECT id FROM {T} WHERE name = ANY($1) ORDER BY id", ["b", "a"])],
            ]
        finally:
            await conn.close()

    pg_url = f"postgresql://postgres@127.0.0.1:{postgres.port}/postgres"
    assert asyncio.run(asyncio.wait_for(run(server.url()), 30)) == asyncio.run(
        asyncio.wait_for(run(pg_url), 30))
