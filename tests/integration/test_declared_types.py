"""Result columns typed as the table columns they come from were declared (text, varchar(n),
char(n)), side by side with a real PostgreSQL: OIDs, typmods and values in both formats,
through psycopg (simple and extended protocol) and asyncpg (which decodes by OID)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import asyncpg
import psycopg
import pytest
from postgres import PostgresServer, postgres  # noqa: F401
from psycopg.rows import tuple_row
from server import RunningServer, run_asyncpg

SETUP = [
    "DROP VIEW IF EXISTS dt_v",
    "DROP TABLE IF EXISTS dt_t",
    "DROP TABLE IF EXISTS dt_u",
    "CREATE TABLE dt_t (id integer, t text, v varchar(10), c char(3), p varchar, ta text[])",
    "INSERT INTO dt_t VALUES (1, 'x', 'abc', 'ab', 'p', ARRAY['a', 'b']), "
    "(2, NULL, 'de', 'z', NULL, NULL), (3, 'y', 'fgh', 'klm', 'q', ARRAY['c'])",
    "CREATE TABLE dt_u (id integer, name varchar(5), note text)",
    "INSERT INTO dt_u VALUES (1, 'ann', 'n1'), (2, 'bob', 'n2')",
    "CREATE VIEW dt_v AS SELECT t AS vt, v AS vv, c AS vc, id FROM dt_t",
    "DROP TABLE IF EXISTS dt_n",
    "CREATE TABLE dt_n (a numeric(10,2), b numeric)",
    "INSERT INTO dt_n VALUES (1.25, NULL), (NULL, NULL)",
    "DROP TABLE IF EXISTS dt_d",
    "CREATE TABLE dt_d (d date, e date)",
    "INSERT INTO dt_d VALUES ('2024-03-01', '2024-01-01'), (NULL, '2023-12-31')",
]
TEARDOWN = ["DROP VIEW IF EXISTS dt_v", "DROP TABLE IF EXISTS dt_t", "DROP TABLE IF EXISTS dt_u",
            "DROP TABLE IF EXISTS dt_n", "DROP TABLE IF EXISTS dt_d"]

# Each statement's columns (name, OID, typmod) and rows must equal PostgreSQL's.
QUERIES = [
    "SELECT * FROM dt_t ORDER BY id",
    "SELECT t, v, c, p FROM dt_t ORDER BY id",
    "SELECT dt_t.t, x.v AS renamed FROM dt_t AS x(i, t2, v) JOIN dt_t ON x.i = dt_t.id "
    "ORDER BY 1",
    "SELECT x.t, y.name, y.note FROM dt_t x JOIN dt_u y ON x.id = y.id ORDER BY x.id",
    "SELECT x.*, y.* FROM dt_t x JOIN dt_u y ON x.id = y.id ORDER BY x.id",
    "SELECT t || 'x', upper(t), upper(v), c || 'x', v::text, lower(c) FROM dt_t ORDER BY id",
    "SELECT * FROM dt_v ORDER BY id",
    "SELECT vv, vc FROM dt_v WHERE id = 1",
    "WITH w AS (SELECT v AS vv, c FROM dt_t) SELECT vv, c FROM w ORDER BY vv",
    "SELECT s.k FROM (SELECT c AS k FROM dt_t) s ORDER BY 1",
    "SELECT t FROM dt_t UNION ALL SELECT note FROM dt_u ORDER BY 1",
    "SELECT v FROM dt_t UNION SELECT name FROM dt_u ORDER BY 1",
    "SELECT coalesce(v, 'q'), coalesce(v, v), CASE WHEN id = 1 THEN v ELSE v END "
    "FROM dt_t ORDER BY id",
    "SELECT (SELECT name FROM dt_u ORDER BY id LIMIT 1), (SELECT c FROM dt_t WHERE id = 1)",
    "SELECT max(v), min(v), max(t), string_agg(t, ',' ORDER BY t) FROM dt_t",
    "SELECT ta, ta[1] FROM dt_t ORDER BY id",
    "SELECT id, v FROM dt_t WHERE c = 'ab' ORDER BY id",
    # numeric: a typmod for a numeric(p,s) column and a cast to one, -1 for the rest.
    "SELECT a, b, a + 1, 1.5, a::numeric(5,1), coalesce(a, a), coalesce(a, 0), sum(a), "
    "max(a), CAST(2 AS numeric(4,2)) FROM dt_n GROUP BY a, b ORDER BY 1",
    "SELECT * FROM dt_n ORDER BY a",
    # date - date is integer.
    "SELECT d - e, d - DATE '2024-01-01', '2024-03-01'::date - e, current_date - current_date, "
    "d - 1 FROM dt_d ORDER BY e",
]
# PostgreSQL's cast semantics: varchar(n) and char(n) cut (char pads), and say the length.
CASTS = [
    "SELECT 'abcdef'::varchar(3), 'ab'::char(4), CAST('xyz' AS character varying(2)), "
    "'q'::bpchar, 'abc'::char, CAST('hello' AS char(2)), 'a  '::varchar(1)",
    "SELECT v::varchar(2), t::char(5), c::varchar(1), id::varchar(1) FROM dt_t ORDER BY id",
]


@pytest.fixture(scope="module")
def both(server: RunningServer, postgres: PostgresServer  # noqa: F811
         ) -> Iterator[tuple[psycopg.Connection[Any], psycopg.Connection[Any]]]:
    with psycopg.connect(server.dsn(), autocommit=True) as forge, \
            psycopg.connect(postgres.dsn, autocommit=True) as pg:
        for conn in (forge, pg):
            for sql in SETUP:
                conn.execute(sql)
        yield forge, pg
        for conn in (forge, pg):
            for sql in TEARDOWN:
                conn.execute(sql)


def answer(conn: psycopg.Connection[Any], sql: str, binary: bool, prepare: bool
           ) -> tuple[list[tuple[str, int, int]], list[tuple[Any, ...]]]:
    with conn.cursor(binary=binary, row_factory=tuple_row) as cur:
        cur.execute(sql, prepare=prepare)
        result = cur.pgresult
        assert result is not None and cur.description is not None
        columns = [(c.name, result.ftype(i), result.fmod(i))
                   for i, c in enumerate(cur.description)]
        return columns, cur.fetchall()


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
@pytest.mark.parametrize("sql", QUERIES + CASTS)
def test_same_types_as_postgres(both: tuple[psycopg.Connection[Any], psycopg.Connection[Any]],
                                sql: str, binary: bool) -> None:
    forge, pg = both
    expected = answer(pg, sql, binary, prepare=binary)
    assert answer(forge, sql, binary, prepare=binary) == expected


def test_asyncpg_decodes_the_same(both: tuple[psycopg.Connection[Any], psycopg.Connection[Any]],
                                  server: RunningServer, postgres: PostgresServer  # noqa: F811
                                  ) -> None:
    """asyncpg prepares each statement and decodes its rows by the described OIDs."""

    async def body(con: asyncpg.Connection) -> list[Any]:
        found = []
        for sql in QUERIES + CASTS:
            statement = await con.prepare(sql)
            kinds = [(a.name, a.type.oid) for a in statement.get_attributes()]
            found.append((sql, kinds, [tuple(r) for r in await statement.fetch()]))
        return found

    async def on_postgres() -> list[Any]:
        con = await asyncpg.connect(host="127.0.0.1", port=postgres.port, user="postgres",
                                    database="postgres", timeout=10)
        try:
            return await body(con)
        finally:
            await con.close()

    import asyncio

    expected = asyncio.run(on_postgres())
    assert run_asyncpg(server, body) == expected


def kinds(conn: psycopg.Connection[Any], sql: str) -> list[tuple[int, int]]:
    with conn.cursor() as cur:
        cur.execute(sql)
        result = cur.pgresult
        assert result is not None
        return [(result.ftype(i), result.fmod(i)) for i in range(result.nfields)]


def test_ddl_changes_the_types_in_every_session(server: RunningServer) -> None:
    """The result types follow ALTER TYPE, RENAME, DROP and CREATE, in this session and in
    another one that ran the same statement before (its cached description goes)."""
    with psycopg.connect(server.dsn(), autocommit=True) as one, \
            psycopg.connect(server.dsn(), autocommit=True) as two:
        one.execute("DROP TABLE IF EXISTS dt_ddl")
        one.execute("DROP TABLE IF EXISTS dt_ddl2")
        one.execute("CREATE TABLE dt_ddl (a text, b varchar(4))")
        one.execute("INSERT INTO dt_ddl VALUES ('x', 'y')")
        select = "SELECT a, b FROM dt_ddl"
        assert kinds(one, select) == kinds(two, select) == [(25, -1), (1043, 8)]
        one.execute("ALTER TABLE dt_ddl ALTER COLUMN a TYPE varchar(7)")
        assert kinds(two, select) == kinds(one, select) == [(1043, 11), (1043, 8)]
        one.execute("ALTER TABLE dt_ddl RENAME COLUMN b TO c")
        assert kinds(two, "SELECT a, c FROM dt_ddl") == [(1043, 11), (1043, 8)]
        one.execute("ALTER TABLE dt_ddl RENAME TO dt_ddl2")
        assert kinds(two, "SELECT a, c FROM dt_ddl2") == [(1043, 11), (1043, 8)]
        one.execute("DROP TABLE dt_ddl2")
        one.execute("CREATE TABLE dt_ddl (a char(2), b text)")
        one.execute("INSERT INTO dt_ddl VALUES ('x', 'y')")
        assert kinds(two, select) == [(1042, 6), (25, -1)]
        assert two.execute(select).fetchall() == [("x ", "y")]
        one.execute("DROP TABLE dt_ddl")


def test_uncommitted_ddl_is_not_seen_by_others(server: RunningServer) -> None:
    """A transaction's new declared types show to the others once committed, and never when
    it rolls back."""
    with psycopg.connect(server.dsn(), autocommit=True) as one, \
            psycopg.connect(server.dsn(), autocommit=True) as two:
        one.execute("DROP TABLE IF EXISTS dt_tx")
        one.execute("CREATE TABLE dt_tx (a varchar(3))")
        select = "SELECT a FROM dt_tx"
        assert kinds(two, select) == [(1043, 7)]
        one.execute("BEGIN")
        one.execute("ALTER TABLE dt_tx ALTER COLUMN a TYPE text")
        assert kinds(two, select) == [(1043, 7)]
        one.execute("ROLLBACK")
        assert kinds(two, select) == kinds(one, select) == [(1043, 7)]
        one.execute("BEGIN")
        one.execute("ALTER TABLE dt_tx ALTER COLUMN a TYPE text")
        one.execute("COMMIT")
        assert kinds(two, select) == kinds(one, select) == [(25, -1)]
        one.execute("DROP TABLE dt_tx")


def test_returning_and_cursors_are_typed(server: RunningServer) -> None:
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS dt_ret")
        conn.execute("CREATE TABLE dt_ret (id integer, a text, b char(3))")
        with conn.cursor() as cur:
            cur.execute("INSERT INTO dt_ret VALUES (1, 'x', 'y') RETURNING a, b")
            result = cur.pgresult
            assert result is not None
            assert [(result.ftype(i), result.fmod(i)) for i in range(2)] == [(25, -1), (1042, 7)]
            assert cur.fetchall() == [("x", "y  ")]
        with conn.transaction(), conn.cursor("named") as cur:
            cur.execute("SELECT a, b FROM dt_ret")
            assert cur.fetchall() == [("x", "y  ")]
            assert [c.type_code for c in cur.description or ()] == [25, 1042]
        conn.execute("DROP TABLE dt_ret")


def test_a_table_made_in_the_transaction_is_typed(server: RunningServer) -> None:
    """CREATE TABLE, then RETURNING and SELECT in the same transaction (as an ORM's or a
    migration's): typed from what it declared, before it commits; other DDL in the
    transaction leaves the types as DuckDB gives them until then."""
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute("BEGIN")
        conn.execute("CREATE TABLE dt_new (id integer, s text, v varchar(5), c char(2))")
        with conn.cursor() as cur:
            cur.execute("INSERT INTO dt_new VALUES (1, 'a', 'b', 'c') RETURNING s, v, c")
            result = cur.pgresult
            assert result is not None
            assert [(result.ftype(i), result.fmod(i)) for i in range(3)] == [
                (25, -1), (1043, 9), (1042, 6)]
            assert cur.fetchall() == [("a", "b", "c ")]
        assert kinds(conn, "SELECT v, s FROM dt_new") == [(1043, 9), (25, -1)]
        conn.execute("ROLLBACK")
