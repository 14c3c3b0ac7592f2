"""SQL cursors: DECLARE / FETCH / MOVE / CLOSE through raw SQL, psycopg's server-side
cursors, asyncpg (extended protocol) and psql."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import asyncpg
import psycopg
import pytest
from process_stats import memory_kb
from psycopg import errors as pgerrors
from psycopg.pq import TransactionStatus
from server import RunningServer, run_asyncpg, start_server


def test_declare_fetch_move_close(conn: psycopg.Connection) -> None:
    conn.execute("BEGIN")
    cur = conn.execute("DECLARE c NO SCROLL CURSOR FOR SELECT i, i * 2 AS d FROM range(10) t(i)")
    assert cur.statusmessage == "DECLARE CURSOR"
    cur = conn.execute("FETCH 3 FROM c")
    assert cur.fetchall() == [(0, 0), (1, 2), (2, 4)]
    assert cur.statusmessage == "FETCH 3"
    assert [d.name for d in cur.description or ()] == ["i", "d"]
    assert conn.execute("FETCH c").fetchall() == [(3, 6)]
    assert conn.execute("FETCH NEXT IN c").fetchall() == [(4, 8)]
    assert conn.execute("MOVE FORWARD 2 IN c").statusmessage == "MOVE 2"
    assert conn.execute("FETCH FORWARD 1 FROM c").fetchall() == [(7, 14)]
    cur = conn.execute("FETCH ALL FROM c")
    assert cur.fetchall() == [(8, 16), (9, 18)]
    assert cur.statusmessage == "FETCH 2"
    cur = conn.execute("FETCH 5 FROM c")
    assert cur.fetchall() == []
    assert cur.statusmessage == "FETCH 0"
    assert conn.execute("CLOSE c").statusmessage == "CLOSE CURSOR"
    with pytest.raises(pgerrors.InvalidCursorName, match='cursor "c" does not exist'):
        conn.execute("FETCH 1 FROM c")
    conn.execute("ROLLBACK")


def test_errors(conn: psycopg.Connection) -> None:
    with pytest.raises(pgerrors.NoActiveSqlTransaction, match="DECLARE CURSOR"):
        conn.execute("DECLARE c CURSOR FOR SELECT 1")
    with pytest.raises(pgerrors.InvalidCursorName):
        conn.execute("CLOSE nothing")
    conn.execute("BEGIN")
    conn.execute("DECLARE c CURSOR FOR SELECT 1")
    with pytest.raises(pgerrors.DuplicateCursor):
        conn.execute("DECLARE c CURSOR FOR SELECT 2")
    conn.execute("ROLLBACK")
    conn.execute("BEGIN")
    conn.execute('DECLARE "Quoted" CURSOR FOR SELECT 1 AS one')
    with pytest.raises(pgerrors.ObjectNotInPrerequisiteState, match="forward"):
        conn.execute('FETCH BACKWARD 1 FROM "Quoted"')
    conn.execute("ROLLBACK")
    conn.execute("BEGIN")
    with pytest.raises(pgerrors.InvalidCursorDefinition):
        conn.execute("DECLARE c CURSOR FOR CREATE TABLE x (a INTEGER)")
    conn.execute("ROLLBACK")


def test_closed_at_transaction_end_unless_with_hold(conn: psycopg.Connection) -> None:
    conn.execute("BEGIN")
    conn.execute("DECLARE plain CURSOR FOR SELECT i FROM range(5) t(i)")
    conn.execute("DECLARE held CURSOR WITH HOLD FOR SELECT i FROM range(100000) t(i)")
    assert conn.execute("FETCH 2 FROM held").fetchall() == [(0,), (1,)]
    conn.execute("COMMIT")
    with pytest.raises(pgerrors.InvalidCursorName):
        conn.execute("FETCH plain")
    assert conn.execute("FETCH 2 FROM held").fetchall() == [(2,), (3,)]
    cur = conn.execute("FETCH ALL FROM held")
    rows = cur.fetchall()
    assert len(rows) == 99996 and rows[-1] == (99999,)
    conn.execute("BEGIN")
    conn.execute("DECLARE gone CURSOR WITH HOLD FOR SELECT 1")
    conn.execute("ROLLBACK")  # a held cursor of a rolled-back transaction goes with it
    with pytest.raises(pgerrors.InvalidCursorName):
        conn.execute("FETCH gone")
    conn.execute("CLOSE held")


def test_with_hold_outside_a_block_and_close_all(conn: psycopg.Connection) -> None:
    conn.execute("DECLARE h1 CURSOR WITH HOLD FOR SELECT 'a' AS letter")
    conn.execute("DECLARE h2 CURSOR WITH HOLD FOR SELECT 'b' AS letter")
    assert conn.execute("FETCH h1").fetchall() == [("a",)]
    assert conn.execute("CLOSE ALL").statusmessage == "CLOSE CURSOR ALL"
    with pytest.raises(pgerrors.InvalidCursorName):
        conn.execute("FETCH h2")


def test_other_statements_between_fetches(conn: psycopg.Connection, table_name: str) -> None:
    """The cursor's rows survive other statements on the session (spilled, not lost)."""
    conn.execute("BEGIN")
    conn.execute(f"CREATE TABLE {table_name} (a INTEGER)")
    conn.execute(f"INSERT INTO {table_name} SELECT i FROM range(200000) t(i)")
    conn.execute(f"DECLARE c1 CURSOR FOR SELECT a FROM {table_name} ORDER BY a")
    conn.execute("DECLARE c2 CURSOR FOR SELECT i * 10 FROM range(5) t(i)")
    assert conn.execute("FETCH 2 FROM c1").fetchall() == [(0,), (1,)]
    conn.execute(f"INSERT INTO {table_name} VALUES (-1)")  # not seen by the open cursor
    assert conn.execute("FETCH 2 FROM c2").fetchall() == [(0,), (10,)]
    assert conn.execute("FETCH 2 FROM c1").fetchall() == [(2,), (3,)]
    rows = conn.execute("FETCH ALL FROM c1").fetchall()
    assert len(rows) == 199996 and rows[0] == (4,) and rows[-1] == (199999,)
    assert conn.execute("FETCH ALL FROM c2").fetchall() == [(20,), (30,), (40,)]
    conn.execute("ROLLBACK")


def test_cursor_declared_after_savepoint_closes_on_rollback_to(conn: psycopg.Connection) -> None:
    conn.execute("BEGIN")
    conn.execute("DECLARE before_sp CURSOR FOR SELECT i FROM range(3) t(i)")
    conn.execute("SAVEPOINT s")
    conn.execute("DECLARE after_sp CURSOR FOR SELECT 1")
    conn.execute("ROLLBACK TO s")
    with pytest.raises(pgerrors.InvalidCursorName):
        conn.execute("FETCH after_sp")
    conn.execute("ROLLBACK TO s")
    assert conn.execute("FETCH ALL FROM before_sp").fetchall() == [(0,), (1,), (2,)]
    conn.execute("COMMIT")


def test_psycopg_server_side_cursor(server: RunningServer) -> None:
    with psycopg.connect(server.dsn()) as conn:
        with conn.cursor(name="big") as cur:
            cur.itersize = 1000
            cur.execute("SELECT i, 'row ' || i AS label FROM range(%s) t(i) WHERE i %% 2 = 0",
                        (100000,))
            assert [d.name for d in cur.description or ()] == ["i", "label"]
            assert cur.fetchone() == (0, "row 0")
            assert cur.fetchmany(2) == [(2, "row 2"), (4, "row 4")]
            rest = list(cur)
            assert len(rest) == 49997 and rest[-1] == (99998, "row 99998")
        assert conn.info.transaction_status == TransactionStatus.INTRANS
        conn.commit()
        with conn.cursor(name="held", withhold=True) as cur:
            cur.execute("SELECT 42 AS answer")
            conn.commit()  # WITH HOLD: still readable after the commit
            assert cur.fetchall() == [(42,)]


def test_asyncpg_fetch_describes_columns(server: RunningServer) -> None:
    async def body(con: asyncpg.Connection) -> None:
        async with con.transaction():
            await con.execute(
                "DECLARE c CURSOR FOR SELECT i::INTEGER AS n, i::VARCHAR AS s FROM range(7) t(i)"
            )
            # Prepared through Parse/Describe: the row description is the cursor's.
            fetch = await con.prepare("FETCH 3 FROM c")
            assert [a.name for a in fetch.get_attributes()] == ["n", "s"]
            assert [a.type.name for a in fetch.get_attributes()] == ["int4", "varchar"]
            rows = await fetch.fetch()
            assert [tuple(r) for r in rows] == [(0, "0"), (1, "1"), (2, "2")]
            assert [tuple(r) for r in await con.fetch("FETCH ALL IN c")] == [
                (3, "3"), (4, "4"), (5, "5"), (6, "6")]
            await con.execute("MOVE ALL IN c")
            await con.execute("CLOSE c")
            with pytest.raises(asyncpg.InvalidCursorNameError):
                await con.fetch("FETCH 1 FROM c")

    run_asyncpg(server, body)


def test_psql_cursor_script(server: RunningServer) -> None:
    psql = shutil.which("psql")
    assert psql, "psql is not installed (make system-deps)"
    script = (
        "BEGIN;\n"
        "DECLARE c CURSOR FOR SELECT i FROM range(5) t(i);\n"
        "FETCH 2 FROM c;\n"
        "MOVE 1 IN c;\n"
        "FETCH ALL FROM c;\n"
        "CLOSE c;\n"
        "COMMIT;\n"
    )
    result = subprocess.run(
        [psql, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", server.dsn()],
        input=script, capture_output=True, text=True, timeout=30, check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line]
    assert lines == ["BEGIN", "DECLARE CURSOR", "0", "1", "MOVE 1", "3", "4", "CLOSE CURSOR",
                     "COMMIT"]


@pytest.mark.slow
def test_with_hold_cursor_memory_is_bounded(tmp_path: Path) -> None:
    """20M rows (~750 MB as Arrow) kept past COMMIT: spilled to a file, not held in memory."""
    server = start_server(tmp_path / "data")
    spill_dir = tmp_path / "data" / "tmp"
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute("BEGIN")
            conn.execute("DECLARE h CURSOR WITH HOLD FOR SELECT i, i::VARCHAR || "
                         "'-padding-padding-padding' AS s FROM range(20000000) t(i)")
            assert conn.execute("FETCH 1 FROM h").fetchall() == [(0, "0-padding-padding-padding")]
            conn.execute("COMMIT")
            assert memory_kb(server.pid, "VmHWM") < 500 * 1024
            files = list(spill_dir.glob("cursor-*.arrow"))
            assert len(files) == 1 and files[0].stat().st_size > 500 << 20
            assert conn.execute("MOVE 19999990 IN h").statusmessage == "MOVE 19999990"
            rows = conn.execute("FETCH ALL FROM h").fetchall()
            assert rows[0] == (19999991, "19999991-padding-padding-padding") and len(rows) == 9
            conn.execute("CLOSE h")
            assert list(spill_dir.glob("cursor-*.arrow")) == []
    finally:
        log = server.stop()
    assert "Traceback" not in log


def test_binary_cursor_sends_binary_rows_to_simple_queries(conn: psycopg.Connection) -> None:
    conn.execute("BEGIN")
    conn.execute("DECLARE b BINARY CURSOR FOR SELECT i::BIGINT AS n, 'x' AS s FROM range(3) t(i)")
    result = conn.pgconn.exec_(b"FETCH 2 FROM b")
    assert result.status == psycopg.pq.ExecStatus.TUPLES_OK, result.error_message
    assert (result.fformat(0), result.fformat(1)) == (1, 1)
    assert [result.get_value(r, 0) for r in range(result.ntuples)] == [
        (0).to_bytes(8, "big"), (1).to_bytes(8, "big")]
    assert result.get_value(0, 1) == b"x"
    # Through the extended protocol Bind's formats decide, as in PostgreSQL: text here.
    assert conn.execute("FETCH 1 FROM b").fetchall() == [(2, "x")]
    conn.execute("ROLLBACK")


def test_syntax_error_in_cursor_query_points_into_it(conn: psycopg.Connection) -> None:
    conn.execute("BEGIN")
    sql = "DECLARE c CURSOR FOR SELECT 1 FORM t"
    with pytest.raises(pgerrors.SyntaxError) as info:
        conn.execute(sql)
    position = info.value.diag.statement_position
    assert position is not None and sql[int(position) - 1:].startswith("t")
    conn.execute("ROLLBACK")
