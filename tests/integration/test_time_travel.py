"""Time travel over the wire: AT (VERSION => n), AT (TIMESTAMP => t), forge_snapshots(),
written as literals or as driver parameters (psycopg, asyncpg)."""

from __future__ import annotations

import datetime

import asyncpg
import psycopg
import pytest
from psycopg import errors as pgerrors
from server import RunningServer, run_asyncpg


@pytest.fixture
def history(conn: psycopg.Connection, table_name: str) -> list[tuple[int, datetime.datetime]]:
    """Three versions of the table: 10, 30 and 60 rows; (snapshot id, time) of each."""
    conn.execute(f"CREATE TABLE {table_name} (id INTEGER, batch INTEGER)")
    versions = []
    for batch, rows in enumerate((10, 20, 30)):
        conn.execute(f"INSERT INTO {table_name} SELECT range, {batch} FROM range({rows})")
        versions.append(
            conn.execute(
                "SELECT snapshot_id, snapshot_time FROM forge_snapshots() "
                "ORDER BY snapshot_id DESC LIMIT 1"
            ).fetchone()
        )
    return versions


def test_forge_snapshots_lists_what_each_commit_changed(
    conn: psycopg.Connection, table_name: str, history: list[tuple[int, datetime.datetime]]
) -> None:
    rows = conn.execute(
        "SELECT snapshot_id, snapshot_time, changes FROM forge_snapshots() "
        "WHERE snapshot_id >= %s ORDER BY snapshot_id",
        [history[0][0]],
    ).fetchall()
    assert [r[0] for r in rows] == [v[0] for v in history]
    assert all(isinstance(r[1], datetime.datetime) and r[1].tzinfo for r in rows)
    assert rows[0][1] <= rows[1][1] <= rows[2][1]
    # The changes name the table written to (inserted data files or inlined rows).
    assert any(table_name in str(r[2]) or "insert" in str(r[2]) for r in rows)
    described = conn.execute("SELECT * FROM forge_snapshots() LIMIT 0")
    assert [d.name for d in described.description] == [
        "snapshot_id", "snapshot_time", "schema_version", "changes", "author", "commit_message",
    ]


def test_versions_as_literals(
    conn: psycopg.Connection, table_name: str, history: list[tuple[int, datetime.datetime]]
) -> None:
    counts = [
        conn.execute(f"SELECT count(*) FROM {table_name} AT (VERSION => {v})").fetchone()
        for v, _ in history
    ]
    assert counts == [(10,), (30,), (60,)]
    first_time = history[0][1].isoformat()
    assert conn.execute(
        f"SELECT count(*), max(batch) FROM {table_name} AT (TIMESTAMP => '{first_time}')"
    ).fetchone() == (10, 0)
    # Qualified names, aliases (written before AT) and two versions in one query.
    assert conn.execute(
        f"SELECT count(*) FROM public.{table_name} AS new AT (VERSION => {history[2][0]}) "
        f"WHERE new.batch NOT IN (SELECT batch FROM {table_name} old AT (VERSION => "
        f"{history[0][0]}))"
    ).fetchone() == (50,)


def test_versions_as_psycopg_parameters(
    conn: psycopg.Connection, table_name: str, history: list[tuple[int, datetime.datetime]]
) -> None:
    sql = f"SELECT count(*), max(batch) FROM {table_name} AT (VERSION => %s) WHERE id < %s"
    for prepare in (False, True):
        assert conn.execute(sql, [history[1][0], 15], prepare=prepare).fetchone() == (25, 1)
        assert conn.execute(sql, [history[0][0], 15], prepare=prepare).fetchone() == (10, 0)
    at_time = f"SELECT count(*) FROM {table_name} AT (TIMESTAMP => %s)"
    assert conn.execute(at_time, [history[1][1]]).fetchone() == (30,)
    cursor = conn.cursor(binary=True)
    assert cursor.execute(at_time, [history[0][1]]).fetchone() == (10,)


def test_versions_as_asyncpg_parameters(
    server: RunningServer, table_name: str, history: list[tuple[int, datetime.datetime]]
) -> None:
    async def body(con: asyncpg.Connection) -> list[object]:
        statement = await con.prepare(
            f"SELECT count(*) FROM {table_name} AT (VERSION => $1) WHERE batch <= $2"
        )
        by_time = await con.fetchval(
            f"SELECT count(*) FROM {table_name} AT (TIMESTAMP => $1)", history[1][1]
        )
        return [
            await statement.fetchval(history[2][0], 1),
            await statement.fetchval(history[0][0], 5),
            by_time,
        ]

    assert run_asyncpg(server, body) == [30, 10, 30]


def test_schema_changes_are_versioned(conn: psycopg.Connection, table_name: str) -> None:
    conn.execute(f"CREATE TABLE {table_name} (id INTEGER)")
    conn.execute(f"INSERT INTO {table_name} VALUES (1)")
    (before,) = conn.execute("SELECT max(snapshot_id) FROM forge_snapshots()").fetchone()
    conn.execute(f"ALTER TABLE {table_name} ADD COLUMN label VARCHAR DEFAULT 'new'")
    now = conn.execute(f"SELECT * FROM {table_name}")
    assert [d.name for d in now.description] == ["id", "label"]
    old = conn.execute(f"SELECT * FROM {table_name} AT (VERSION => {before})")
    assert [d.name for d in old.description] == ["id"]
    assert old.fetchall() == [(1,)]


def test_bad_versions(conn: psycopg.Connection, table_name: str) -> None:
    # The last version before the table (not version 1: the shared server's tests of
    # maintenance may have expired the oldest snapshots).
    (before,) = conn.execute("SELECT max(snapshot_id) FROM forge_snapshots()").fetchone()
    conn.execute(f"CREATE TABLE {table_name} (id INTEGER)")
    with pytest.raises(pgerrors.InvalidParameterValue, match="No snapshot found"):
        conn.execute(f"SELECT * FROM {table_name} AT (VERSION => 99999999)")
    with pytest.raises(pgerrors.InvalidParameterValue, match="No snapshot found"):
        conn.execute(f"SELECT * FROM {table_name} AT (TIMESTAMP => TIMESTAMPTZ '2001-01-01')")
    with pytest.raises(pgerrors.UndefinedTable, match="does not exist at version"):
        conn.execute(f"SELECT * FROM {table_name} AT (VERSION => {before})")
    assert conn.execute("SELECT 1").fetchone() == (1,)
