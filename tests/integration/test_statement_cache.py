"""What a session remembers per statement text (the split and rewrite, the parse, the
result columns) never answers for a catalog or settings state it was not made in: a table
dropped and created again with other columns, and a changed search_path."""

from __future__ import annotations

import psycopg
import pytest
import rawclient
from server import RunningServer


def _shape(cur: psycopg.Cursor[tuple[object, ...]]) -> list[tuple[str, int]]:
    assert cur.description is not None
    return [(d.name, d.type_code) for d in cur.description]


@pytest.mark.parametrize("prepare", [False, True], ids=["simple", "prepared"])
def test_a_table_created_again_with_other_columns(conn: psycopg.Connection,
                                                  table_name: str, prepare: bool) -> None:
    """The same text, after DROP and CREATE of its table with other columns: the new
    columns, their types and rows (psycopg itself deallocates its prepared statements
    after DDL, so this Parses again)."""
    query = f"SELECT * FROM {table_name}"
    conn.execute(f"CREATE TABLE {table_name} (a int, b text)")
    conn.execute(f"INSERT INTO {table_name} VALUES (1, 'x')")
    cur = conn.cursor()
    for _ in range(3):  # remembered by now
        assert cur.execute(query, prepare=prepare).fetchall() == [(1, "x")]
    assert _shape(cur) == [("a", 23), ("b", 25)]
    conn.execute(f"DROP TABLE {table_name}")
    conn.execute(f"CREATE TABLE {table_name} (z double precision, y date, x bigint)")
    conn.execute(f"INSERT INTO {table_name} VALUES (2.5, '2020-01-02', 7)")
    rows = cur.execute(query, prepare=prepare).fetchall()
    assert _shape(cur) == [("z", 701), ("y", 1082), ("x", 20)]
    assert [(r[0], str(r[1]), r[2]) for r in rows] == [(2.5, "2020-01-02", 7)]
    # with a parameter too (the extended protocol's unnamed statement)
    assert cur.execute(f"SELECT x FROM {table_name} WHERE x = %s", (7,)).fetchall() == [(7,)]


def test_a_prepared_statement_whose_result_changed_is_refused(
    server: RunningServer, conn: psycopg.Connection, table_name: str
) -> None:
    """PostgreSQL re-plans a prepared statement after DDL and refuses to run it when its
    result columns changed (0A000, "cached plan must not change result type"): a client
    that described it once would misread the rows."""
    conn.execute(f"CREATE TABLE {table_name} (a int)")
    conn.execute(f"INSERT INTO {table_name} VALUES (1)")
    with rawclient.connect(server.host, server.port) as raw:
        raw.startup()
        raw.send(rawclient.parse(f"SELECT * FROM {table_name}", "s")
                 + rawclient.bind("s") + rawclient.execute() + rawclient.sync())
        assert rawclient.data_rows(raw.read_until_ready()) == [["1"]]
        conn.execute(f"DROP TABLE {table_name}")
        conn.execute(f"CREATE TABLE {table_name} (a text, b int)")
        conn.execute(f"INSERT INTO {table_name} VALUES ('x', 2)")
        raw.send(rawclient.bind("s") + rawclient.execute() + rawclient.sync())
        messages = raw.read_until_ready()
        assert [(e["C"], e["M"]) for e in rawclient.errors_in(messages)] == [
            ("0A000", "cached plan must not change result type")]
        assert rawclient.data_rows(messages) == []
        # the same columns again: it runs
        conn.execute(f"DROP TABLE {table_name}")
        conn.execute(f"CREATE TABLE {table_name} (a int)")
        conn.execute(f"INSERT INTO {table_name} VALUES (3)")
        raw.send(rawclient.bind("s") + rawclient.execute() + rawclient.sync())
        assert rawclient.data_rows(raw.read_until_ready()) == [["3"]]


def test_search_path_changes_what_the_same_text_reads(conn: psycopg.Connection,
                                                      table_name: str) -> None:
    schema = f"{table_name}_s"
    conn.execute(f"CREATE SCHEMA {schema}")
    try:
        conn.execute(f"CREATE TABLE public.{table_name} (a int)")
        conn.execute(f"INSERT INTO public.{table_name} VALUES (1)")
        conn.execute(f"CREATE TABLE {schema}.{table_name} (b text)")
        conn.execute(f"INSERT INTO {schema}.{table_name} VALUES ('s')")
        query = f"SELECT * FROM {table_name}"
        cur = conn.cursor()
        for _ in range(3):
            assert cur.execute(query).fetchall() == [(1,)]
        conn.execute(f"SET search_path = {schema}, public")
        assert cur.execute(query).fetchall() == [("s",)]
        assert _shape(cur) == [("b", 25)]
        conn.execute("RESET search_path")
        assert cur.execute(query).fetchall() == [(1,)]
    finally:
        conn.execute("RESET search_path")
        conn.execute(f"DROP TABLE IF EXISTS {schema}.{table_name}")
        conn.execute(f"DROP SCHEMA IF EXISTS {schema}")
