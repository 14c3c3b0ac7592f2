"""Transaction blocks: statements, ReadyForQuery status I/T/E, visibility across sessions."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors as pgerrors
from psycopg.pq import TransactionStatus
from server import RunningServer

IDLE = TransactionStatus.IDLE
INTRANS = TransactionStatus.INTRANS
INERROR = TransactionStatus.INERROR


@pytest.fixture
def table(conn: psycopg.Connection, table_name: str) -> str:
    conn.execute(f"CREATE TABLE {table_name} (a INTEGER)")
    return table_name


Notice = tuple[str | None, str | None, str | None]  # severity, SQLSTATE, message


def _collect(connection: psycopg.Connection) -> list[Notice]:
    """Notices received; psycopg's Diagnostic is readable only inside the handler."""
    notices: list[Notice] = []
    connection.add_notice_handler(lambda d: notices.append(
        (d.severity_nonlocalized, d.sqlstate, d.message_primary)))
    return notices


def _count(connection: psycopg.Connection, table: str) -> int:
    row = connection.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize(("begin", "begin_tag", "end", "end_tag"), [
    ("BEGIN", "BEGIN", "COMMIT", "COMMIT"),
    ("BEGIN TRANSACTION", "BEGIN", "END", "COMMIT"),
    ("START TRANSACTION", "START TRANSACTION", "COMMIT", "COMMIT"),
    ("BEGIN WORK", "BEGIN", "COMMIT WORK", "COMMIT"),
    ("BEGIN ISOLATION LEVEL SERIALIZABLE", "BEGIN", "COMMIT", "COMMIT"),
    ("START TRANSACTION ISOLATION LEVEL REPEATABLE READ", "START TRANSACTION", "END", "COMMIT"),
    ("begin", "BEGIN", "commit", "COMMIT"),
])
def test_commit_forms(conn: psycopg.Connection, other: psycopg.Connection, table: str,
                      begin: str, begin_tag: str, end: str, end_tag: str) -> None:
    cur = conn.cursor()
    cur.execute(begin)
    assert cur.statusmessage == begin_tag
    assert conn.info.transaction_status == INTRANS
    cur.execute(f"INSERT INTO {table} VALUES (1), (2)")
    assert conn.info.transaction_status == INTRANS
    assert _count(conn, table) == 2
    assert _count(other, table) == 0  # not visible before COMMIT
    cur.execute(end)
    assert cur.statusmessage == end_tag
    assert conn.info.transaction_status == IDLE
    assert _count(other, table) == 2


@pytest.mark.parametrize("rollback", ["ROLLBACK", "ABORT", "ROLLBACK WORK", "ROLLBACK TRANSACTION"])
def test_rollback_forms(conn: psycopg.Connection, other: psycopg.Connection, table: str,
                        rollback: str) -> None:
    cur = conn.cursor()
    cur.execute("BEGIN")
    cur.execute(f"INSERT INTO {table} VALUES (1)")
    cur.execute(rollback)
    assert cur.statusmessage == "ROLLBACK"
    assert conn.info.transaction_status == IDLE
    assert _count(conn, table) == 0
    assert _count(other, table) == 0


def test_failed_block_rejects_everything_until_rollback(conn: psycopg.Connection,
                                                        table: str) -> None:
    conn.execute("BEGIN")
    conn.execute(f"INSERT INTO {table} VALUES (1)")
    with pytest.raises(pgerrors.UndefinedTable):
        conn.execute("SELECT * FROM no_such_table_t")
    assert conn.info.transaction_status == INERROR
    for sql, params in [("SELECT 1", None), (f"INSERT INTO {table} VALUES (2)", None),
                        ("SELECT %s::INTEGER", (5,)), ("SET TimeZone = 'UTC'", None),
                        ("BEGIN", None)]:
        with pytest.raises(pgerrors.InFailedSqlTransaction) as info:
            conn.execute(sql, params)
        assert info.value.sqlstate == "25P02"
        assert conn.info.transaction_status == INERROR
    cur = conn.execute("ROLLBACK")
    assert cur.statusmessage == "ROLLBACK"
    assert conn.info.transaction_status == IDLE
    assert _count(conn, table) == 0


def test_commit_of_failed_block_reports_rollback(conn: psycopg.Connection,
                                                 other: psycopg.Connection, table: str) -> None:
    conn.execute("BEGIN")
    conn.execute(f"INSERT INTO {table} VALUES (1)")
    with pytest.raises(pgerrors.InvalidTextRepresentation):
        conn.execute("SELECT 'x'::INTEGER")
    cur = conn.execute("COMMIT")
    assert cur.statusmessage == "ROLLBACK"
    assert conn.info.transaction_status == IDLE
    assert _count(other, table) == 0
    assert _count(conn, table) == 0


def test_failed_block_extended_protocol(conn: psycopg.Connection, table: str) -> None:
    conn.execute("BEGIN")
    with pytest.raises(pgerrors.UndefinedColumn):
        conn.execute(f"SELECT nope FROM {table} WHERE a = %s", (1,))
    assert conn.info.transaction_status == INERROR
    with pytest.raises(pgerrors.InFailedSqlTransaction):
        conn.execute(f"SELECT a FROM {table} WHERE a = %s", (1,), prepare=True)
    conn.execute("ROLLBACK")
    assert conn.execute(f"SELECT count(*) FROM {table} WHERE a > %s", (0,)).fetchone() == (0,)


def test_autocommit_outside_blocks(conn: psycopg.Connection, other: psycopg.Connection,
                                   table: str) -> None:
    cur = conn.execute(f"INSERT INTO {table} VALUES (1)")
    assert cur.statusmessage == "INSERT 0 1"
    assert conn.info.transaction_status == IDLE
    assert _count(other, table) == 1
    conn.execute(f"INSERT INTO {table} VALUES (%s)", (2,))
    assert _count(other, table) == 2


def test_psycopg_managed_transactions(server: RunningServer, other: psycopg.Connection,
                                      table: str) -> None:
    """psycopg's default (non-autocommit) mode: implicit BEGIN, commit() and rollback()."""
    with psycopg.connect(server.dsn()) as managed:
        managed.execute(f"INSERT INTO {table} VALUES (1)")
        assert managed.info.transaction_status == INTRANS
        assert _count(other, table) == 0
        managed.commit()
        assert managed.info.transaction_status == IDLE
        assert _count(other, table) == 1
        managed.execute(f"INSERT INTO {table} VALUES (2)")
        managed.rollback()
        assert _count(other, table) == 1
        with managed.transaction():
            managed.execute(f"INSERT INTO {table} VALUES (3)")
        assert _count(other, table) == 2
        with pytest.raises(pgerrors.UndefinedTable), managed.transaction():
            managed.execute(f"INSERT INTO {table} VALUES (4)")
            managed.execute("SELECT * FROM no_such_table_m")
        assert managed.info.transaction_status == IDLE
        assert _count(other, table) == 2


def test_begin_inside_block_warns(conn: psycopg.Connection) -> None:
    notices = _collect(conn)
    conn.execute("BEGIN")
    cur = conn.execute("BEGIN")
    assert cur.statusmessage == "BEGIN"
    assert conn.info.transaction_status == INTRANS
    assert notices == [("WARNING", "25001", "there is already a transaction in progress")]
    conn.execute("COMMIT")
    assert conn.info.transaction_status == IDLE


@pytest.mark.parametrize(("sql", "tag"), [("COMMIT", "COMMIT"), ("ROLLBACK", "ROLLBACK")])
def test_end_outside_block_warns(conn: psycopg.Connection, sql: str, tag: str) -> None:
    notices = _collect(conn)
    cur = conn.execute(sql)
    assert cur.statusmessage == tag
    assert notices == [("WARNING", "25P01", "there is no transaction in progress")]


def test_end_outside_block_warning_text(conn: psycopg.Connection) -> None:
    notices = _collect(conn)
    assert conn.execute("COMMIT").statusmessage == "COMMIT"
    assert conn.execute("ROLLBACK").statusmessage == "ROLLBACK"
    assert [(n[0], n[2]) for n in notices] == [
        ("WARNING", "there is no transaction in progress")] * 2
    assert conn.info.transaction_status == IDLE


def test_transaction_statements_in_one_simple_query(conn: psycopg.Connection,
                                                    other: psycopg.Connection,
                                                    table: str) -> None:
    conn.execute(f"BEGIN; INSERT INTO {table} VALUES (1); INSERT INTO {table} VALUES (2); COMMIT")
    assert conn.info.transaction_status == IDLE
    assert _count(other, table) == 2
    conn.execute(f"BEGIN; INSERT INTO {table} VALUES (3)")
    assert conn.info.transaction_status == INTRANS
    conn.execute("ROLLBACK")
    assert _count(other, table) == 2


def test_isolation_level_serializable_is_accepted(conn: psycopg.Connection, table: str) -> None:
    cur = conn.execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
    assert cur.statusmessage == "BEGIN"
    assert conn.info.transaction_status == INTRANS
    conn.execute(f"INSERT INTO {table} VALUES (7)")
    assert conn.execute(f"SELECT a FROM {table}").fetchall() == [(7,)]
    conn.execute("COMMIT")
    assert conn.info.transaction_status == IDLE


def test_snapshot_is_kept_inside_a_block(conn: psycopg.Connection, other: psycopg.Connection,
                                         table: str) -> None:
    """Rows committed by another session after the block's first read are not seen in it."""
    conn.execute("BEGIN")
    assert _count(conn, table) == 0
    other.execute(f"INSERT INTO {table} VALUES (1)")
    assert _count(conn, table) == 0
    conn.execute("COMMIT")
    assert _count(conn, table) == 1


def test_disconnect_inside_block_rolls_back(server: RunningServer, other: psycopg.Connection,
                                            table: str) -> None:
    # Not a ``with`` block: psycopg's __exit__ would send COMMIT.
    leaving = psycopg.connect(server.dsn(), autocommit=True)
    leaving.execute("BEGIN")
    leaving.execute(f"INSERT INTO {table} VALUES (1)")
    leaving.close()
    assert _count(other, table) == 0
    other.execute(f"INSERT INTO {table} VALUES (2)")  # no lock or conflict left behind
    assert _count(other, table) == 1
