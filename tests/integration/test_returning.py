"""INSERT/UPDATE/DELETE ... RETURNING and INSERT ... ON CONFLICT on lake tables, each run on
forge-sql and on a real PostgreSQL 15 and compared: rows, column names, type OIDs, command
tags, SQLSTATEs; in the simple protocol (psycopg's ClientCursor), the extended one (named
prepared statements, whose Describe must announce the RETURNING columns) and with asyncpg,
which decodes by the Describe it got."""

from __future__ import annotations

import asyncio
import threading
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
import psycopg
import pytest
from postgres import PostgresServer, postgres  # noqa: F401
from server import RunningServer

SETUP = (
    "CREATE TABLE {t} (id integer PRIMARY KEY, s varchar DEFAULT 'dflt', "
    "n integer NOT NULL DEFAULT 7, code varchar, CONSTRAINT {t}_code_key UNIQUE (code))",
    "INSERT INTO {t} VALUES (1, 'a', 10, 'A'), (2, 'b', 20, 'B'), (3, NULL, 30, NULL)",
)

# (statement, parameters): each runs on a fresh copy of SETUP's table, on both servers.
CASES: list[tuple[str, tuple[Any, ...]]] = [
    ("INSERT INTO {t} VALUES (4, 'd', 40, 'D') RETURNING *", ()),
    ("INSERT INTO {t} (id) VALUES (4), (5) RETURNING id * 2 AS x, s, n", ()),
    ("INSERT INTO {t} (id, s) VALUES (4, DEFAULT), (5, 'e') RETURNING s, id + n", ()),
    ("INSERT INTO {t} AS z (id, s) VALUES (%s, %s) RETURNING z.id, z.s, upper(z.s)",
     (9, "nine")),
    ("INSERT INTO {t} (id, n) SELECT id + 100, n * 2 FROM {t} WHERE id < 3 RETURNING *", ()),
    ("INSERT INTO {t} (id, n) SELECT %s, %s RETURNING n", (50, 5)),
    ("INSERT INTO {t} (id) VALUES (4) RETURNING id", ()),
    ("INSERT INTO {t} (id, n) VALUES (4, NULL) RETURNING *", ()),
    ("INSERT INTO {t} (id) VALUES (4) RETURNING nosuch", ()),
    ("UPDATE {t} SET n = n + 1 WHERE id >= 2 RETURNING id, n", ()),
    ("UPDATE {t} SET s = %s, n = n * %s WHERE id = %s RETURNING *", ("x", 3, 1)),
    ("UPDATE {t} AS u SET s = DEFAULT WHERE u.id = 2 RETURNING u.s, u.id", ()),
    ("UPDATE {t} SET n = NULL WHERE id = 1 RETURNING *", ()),
    ("UPDATE {t} SET n = n + 1 WHERE false RETURNING *", ()),
    ("DELETE FROM {t} WHERE id = 2 RETURNING *", ()),
    ("DELETE FROM {t} WHERE n > %s RETURNING id, n / 10 AS tens", (15,)),
    ("WITH w AS (SELECT 1 AS i) DELETE FROM {t} WHERE id IN (SELECT i FROM w) RETURNING s",
     ()),
    # RETURNING naming the FROM or USING list's relations
    ("UPDATE {t} SET n = v.k FROM (VALUES (1, 100), (9, 900)) AS v(id, k) "
     "WHERE {t}.id = v.id RETURNING {t}.id, v.k, n, v.k + n AS both_", ()),
    ("UPDATE {t} SET s = w.label FROM (SELECT 2 AS id, 'two' AS label) AS w "
     "WHERE {t}.id = w.id RETURNING *", ()),
    ("UPDATE {t} AS x SET n = x.n + w.id FROM (SELECT %s AS id) AS w WHERE x.id = w.id "
     "RETURNING w.id AS wid, x.n, w.*", (3,)),
    ("DELETE FROM {t} USING (VALUES (3, 'gone')) AS d(id, why) WHERE {t}.id = d.id "
     "RETURNING d.why, {t}.n", ()),
    # ON CONFLICT
    ("INSERT INTO {t} VALUES (1, 'z', 1, 'Z') ON CONFLICT (id) DO NOTHING", ()),
    ("INSERT INTO {t} VALUES (1, 'z', 1, 'Z'), (4, 'd', 4, 'D') ON CONFLICT (id) DO NOTHING "
     "RETURNING *", ()),
    ("INSERT INTO {t} VALUES (4, 'd', 4, 'D'), (4, 'e', 5, 'E') ON CONFLICT DO NOTHING "
     "RETURNING id, s", ()),
    ("INSERT INTO {t} VALUES (4, 'd', 4, 'A') ON CONFLICT DO NOTHING RETURNING id", ()),
    ("INSERT INTO {t} VALUES (1, 'z', 1, 'Z'), (5, 'f', 5, 'F') ON CONFLICT (id) DO UPDATE "
     "SET s = excluded.s, n = {t}.n + excluded.n RETURNING *", ()),
    ("INSERT INTO {t} AS old VALUES (2, 'y', 2, 'Y') ON CONFLICT (id) DO UPDATE "
     "SET n = old.n + 1 WHERE old.n > 100 RETURNING *", ()),
    ("INSERT INTO {t} VALUES (%s, %s, %s, %s) ON CONFLICT (code) DO UPDATE "
     "SET n = excluded.n WHERE {t}.n < %s RETURNING id, n", (8, "h", 99, "A", 50)),
    ("INSERT INTO {t} VALUES (2, 'y', 2, 'Y') ON CONFLICT ON CONSTRAINT {t}_pkey DO UPDATE "
     "SET (s, n) = (excluded.s, 0) RETURNING *", ()),
    ("INSERT INTO {t} VALUES (2, 'y', 2, 'Y') ON CONFLICT ON CONSTRAINT {t}_code_key "
     "DO NOTHING", ()),
    ("INSERT INTO {t} VALUES (6, 'y', 2, 'Y'), (6, 'w', 2, 'W') ON CONFLICT (id) DO UPDATE "
     "SET s = excluded.s", ()),
    ("INSERT INTO {t} VALUES (1, 'y', 2, 'Y'), (1, 'w', 2, 'W') ON CONFLICT (id) DO UPDATE "
     "SET s = excluded.s", ()),
    ("INSERT INTO {t} VALUES (1, 'y', 2, 'Y'), (1, 'w', 2, 'W') ON CONFLICT (id) DO UPDATE "
     "SET s = excluded.s WHERE excluded.s = 'w' RETURNING *", ()),
    ("INSERT INTO {t} VALUES (1, 'y', 2, 'Y'), (1, 'w', 2, 'W') ON CONFLICT (id) DO UPDATE "
     "SET s = excluded.s WHERE excluded.s = 'y' RETURNING *", ()),
    ("INSERT INTO {t} VALUES (1, 'y', 2, 'Y'), (1, 'w', 2, 'W') ON CONFLICT (id) DO UPDATE "
     "SET s = excluded.s WHERE {t}.n > 100", ()),
    ("INSERT INTO {t} VALUES (8, 'y', 2, 'Y'), (8, 'w', 2, 'W') ON CONFLICT (id) DO UPDATE "
     "SET s = excluded.s WHERE {t}.n > 100", ()),
    ("INSERT INTO {t} VALUES (1, 'y', 2, 'Y') ON CONFLICT (s) DO NOTHING", ()),
    ("INSERT INTO {t} VALUES (1, 'y', 2, 'Y') ON CONFLICT (n, id) DO NOTHING", ()),
    ("INSERT INTO {t} VALUES (1, 'y', 2, 'Y') ON CONFLICT ON CONSTRAINT nope DO NOTHING", ()),
    ("INSERT INTO {t} VALUES (1, 'y', 2, 'Y') ON CONFLICT DO UPDATE SET s = 'q'", ()),
    ("INSERT INTO {t} (id, s) VALUES (1, 'y') ON CONFLICT (id) DO UPDATE SET n = NULL", ()),
    ("INSERT INTO {t} (id, code) VALUES (3, NULL), (7, NULL) ON CONFLICT (code) DO NOTHING "
     "RETURNING id, code", ()),
]


@dataclass
class Answer:
    """What a client sees of one statement."""

    columns: list[tuple[str, int]] | None
    rows: list[tuple[Any, ...]] | None
    tag: str | None
    sqlstate: str | None
    table: list[tuple[Any, ...]]  # the table's rows afterwards


def _run(dsn: str, table: str, sql: str, params: tuple[Any, ...], mode: str) -> Answer:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for step in SETUP:
            conn.execute(step.format(t=table))
        cursor = conn.cursor() if mode != "simple" else psycopg.ClientCursor(conn)
        columns = rows = tag = state = None
        try:
            cursor.execute(sql.format(t=table), params or None,
                           prepare=True if mode == "prepared" else None)
            if cursor.description is not None:
                columns = [(d.name, d.type_code) for d in cursor.description]
                rows = cursor.fetchall()
            tag = cursor.statusmessage
        except psycopg.Error as exc:
            state = exc.sqlstate
        stored = conn.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
        conn.execute(f"DROP TABLE {table}")
    return Answer(columns, rows, tag, state, stored)


@pytest.fixture(scope="module")
def pg_dsn(postgres: PostgresServer) -> str:  # noqa: F811
    return postgres.dsn


@pytest.mark.parametrize("mode", ["simple", "prepared"])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_same_as_postgresql(server: RunningServer, pg_dsn: str, case: int, mode: str) -> None:
    sql, params = CASES[case]
    table = f"r_{uuid.uuid4().hex[:8]}"
    forge = _run(server.dsn(), table, sql, params, mode)
    real = _run(pg_dsn, table, sql, params, mode)
    assert forge == real, f"{sql} {params}\nforge: {forge}\npostgres: {real}"


def test_describe_announces_returning_without_writing(server: RunningServer) -> None:
    """A prepared statement's Describe names the RETURNING columns and runs nothing."""
    table = f"r_{uuid.uuid4().hex[:8]}"

    async def main() -> tuple[list[tuple[str, str]], int, list[Any]]:
        conn = await asyncpg.connect(server.url())
        try:
            await conn.execute(SETUP[0].format(t=table))
            statement = await conn.prepare(
                f"INSERT INTO {table} (id, s) VALUES ($1, $2) RETURNING id * 2 AS twice, s, n"
            )
            described = [(a.name, a.type.name) for a in statement.get_attributes()]
            before = await conn.fetchval(f"SELECT count(*) FROM {table}")
            rows = await statement.fetch(5, "five")
            return described, before, [tuple(r) for r in rows]
        finally:
            await conn.close()

    described, before, rows = asyncio.run(main())
    assert described == [("twice", "int4"), ("s", "varchar"), ("n", "int4")]
    assert before == 0
    assert rows == [(10, "five", 7)]


def test_rolled_back_with_its_transaction(conn: psycopg.Connection, table_name: str) -> None:
    """What RETURNING returned goes with a rolled-back transaction; an error in the
    statement writes nothing."""
    conn.execute(SETUP[0].format(t=table_name))
    with conn.transaction(force_rollback=True):
        rows = conn.execute(f"INSERT INTO {table_name} (id) VALUES (1), (2) RETURNING id")
        assert rows.fetchall() == [(1,), (2,)]
        rows = conn.execute(f"UPDATE {table_name} SET n = 8 RETURNING id, n")
        assert rows.fetchall() == [(1, 8), (2, 8)]
    assert conn.execute(f"SELECT count(*) FROM {table_name}").fetchone() == (0,)
    with pytest.raises(psycopg.errors.NotNullViolation):
        conn.execute(f"INSERT INTO {table_name} (id, n) VALUES (1, 1), (2, NULL) RETURNING id")
    assert conn.execute(f"SELECT count(*) FROM {table_name}").fetchone() == (0,)


def test_savepoint_rollback_keeps_earlier_returning(
    conn: psycopg.Connection, table_name: str
) -> None:
    conn.execute(SETUP[0].format(t=table_name))
    with conn.transaction():
        conn.execute(f"INSERT INTO {table_name} (id) VALUES (1) RETURNING id")
        conn.execute(f"INSERT INTO {table_name} (id) VALUES (1) ON CONFLICT (id) "
                     "DO UPDATE SET n = 70")
        with pytest.raises(psycopg.errors.CardinalityViolation), conn.transaction():
            conn.execute(f"INSERT INTO {table_name} (id) VALUES (2), (2) ON CONFLICT (id) "
                         "DO UPDATE SET n = 1")
    assert conn.execute(f"SELECT id, n FROM {table_name}").fetchall() == [(1, 70)]


def test_concurrent_upserts_count_once(server: RunningServer, table_name: str) -> None:
    """Sessions upserting the same keys at once: the table's write lock orders them, so
    every key is inserted once and updated by each of the others."""
    with psycopg.connect(server.dsn(), autocommit=True) as setup:
        setup.execute(SETUP[0].format(t=table_name))
    sessions, keys = 4, 5
    errors: list[BaseException] = []

    def upsert() -> None:
        try:
            with psycopg.connect(server.dsn(), autocommit=True) as conn:
                for key in range(keys):
                    conn.execute(
                        f"INSERT INTO {table_name} (id, n) VALUES (%s, 1) ON CONFLICT (id) "
                        f"DO UPDATE SET n = {table_name}.n + 1 RETURNING n",
                        (key,),
                    ).fetchall()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=upsert) for _ in range(sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        rows = conn.execute(f"SELECT id, n FROM {table_name} ORDER BY id").fetchall()
    assert rows == [(key, sessions) for key in range(keys)]


def _many(dsn: str, table: str) -> tuple[int, list[list[tuple[Any, ...]]], list[tuple[Any, ...]]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SETUP[0].format(t=table))
        cursor = conn.cursor()
        upsert = (f"INSERT INTO {table} (id, s) VALUES (%s, %s) ON CONFLICT (id) "
                  f"DO UPDATE SET n = {table}.n + 1")
        cursor.executemany(upsert, [(1, "a"), (2, "b"), (1, "c")])
        count = cursor.rowcount
        cursor.executemany(upsert + " RETURNING id, n", [(1, "a"), (3, "b"), (1, "c")],
                           returning=True)
        returned = [cursor.fetchall()]
        while cursor.nextset():
            returned.append(cursor.fetchall())
        stored = conn.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
        conn.execute(f"DROP TABLE {table}")
    return count, returned, stored


def test_pipelined_upserts_as_postgresql(server: RunningServer, pg_dsn: str) -> None:
    """psycopg's executemany (one pipeline) of an upsert, then of one with RETURNING."""
    table = f"r_{uuid.uuid4().hex[:8]}"
    forge, real = _many(server.dsn(), table), _many(pg_dsn, table)
    assert forge == real
    assert forge[1] == [[(1, 9)], [(3, 7)], [(1, 10)]]
