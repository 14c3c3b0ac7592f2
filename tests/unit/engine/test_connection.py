"""The session's DuckDB cursor (engine.connection): what runs on it keeps an open result
readable, and runs marked for cancel and statement_timeout."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from forge_sql import errors
from forge_sql.engine import locks
from forge_sql.engine.connection import Connection
from forge_sql.engine.result import ArrowResult
from forge_sql.engine.sql_cursors import Cursors
from forge_sql.seam.backend import Column
from forge_sql.sql.statements import classify
from forge_sql.storage.schedule import Workload

TOKEN = "session-token"


def _connection(tmp_path: Path, timeout_ms: float = 0) -> tuple[Connection, locks.LockTable]:
    table = locks.LockTable()
    connection = Connection(
        duckdb.connect().cursor(),
        Cursors(tmp_path),
        table,
        TOKEN,
        Workload(),
        lambda: timeout_ms,
        batch_rows=1000,
        batch_bytes=1 << 20,
    )
    return connection, table


def _fail(exc: BaseException, sql: str | None) -> errors.ForgeError:
    raise AssertionError(f"unexpected error: {exc}")


def _stream(connection: Connection, table: locks.LockTable, sql: str) -> ArrowResult:
    connection.execute(sql)
    table.acquire(TOKEN, 1, locks.CATALOG, locks.ACCESS_SHARE)  # what the session holds
    result = ArrowResult(
        connection, _fail, classify(sql), connection.open_reader(), (Column("i", 20),)
    )
    connection.stream(result)
    return result


def _rows(result: ArrowResult) -> list[object]:
    rows: list[object] = []
    while (batch := result.next_batch()) is not None:
        rows += batch.column(0).to_pylist()
    return rows


def test_execute_keeps_the_open_result_readable(tmp_path: Path) -> None:
    connection, table = _connection(tmp_path)
    result = _stream(connection, table, "SELECT range AS i FROM range(5000)")
    assert connection.streams(result)
    assert connection.execute("SELECT 42").fetchone() == (42,)
    assert not connection.streams(result)
    # The stream was read into memory before SELECT 42 ran, and its catalog hold went.
    assert _rows(result) == list(range(5000))
    assert not table.holds(TOKEN, locks.CATALOG, locks.ACCESS_SHARE)


def test_a_finished_stream_gives_its_catalog_hold_back(tmp_path: Path) -> None:
    connection, table = _connection(tmp_path)
    result = _stream(connection, table, "SELECT 1 AS i")
    assert table.holds(TOKEN, locks.CATALOG, locks.ACCESS_SHARE)
    assert _rows(result) == [1]
    assert not connection.streams(result)
    assert not table.holds(TOKEN, locks.CATALOG, locks.ACCESS_SHARE)


def test_dropping_the_stream_closes_it(tmp_path: Path) -> None:
    connection, table = _connection(tmp_path)
    result = _stream(connection, table, "SELECT range AS i FROM range(10)")
    connection.drop_stream()
    assert _rows(result) == []
    assert not table.holds(TOKEN, locks.CATALOG, locks.ACCESS_SHARE)


def test_statement_timeout_interrupts_execute(tmp_path: Path) -> None:
    connection, _ = _connection(tmp_path, timeout_ms=50)
    with pytest.raises(duckdb.InterruptException) as caught:
        connection.execute("SELECT count(*) FROM range(100000000000) a")
    error = connection.translate(caught.value)
    assert isinstance(error, errors.QueryCanceled)
    assert error.message == "canceling statement due to statement timeout"


def test_cancel_interrupts_execute_and_pending_cancel_refuses_the_next(tmp_path: Path) -> None:
    connection, _ = _connection(tmp_path)
    execution = connection.execution
    execution.begin()
    execution.cancel()  # before DuckDB got a statement: kept pending
    with pytest.raises(errors.QueryCanceled):
        connection.execute("SELECT 1")
    execution.end()
    execution.begin()
    # Transaction control is not interrupted: a cancel cannot leave it half done.
    execution.cancel()
    connection.execute("BEGIN TRANSACTION", interruptible=False)
    connection.execute("ROLLBACK", interruptible=False)
    execution.end()


def test_a_function_error_wins_over_duckdbs_message(tmp_path: Path) -> None:
    connection, _ = _connection(tmp_path)
    connection.function_error = errors.InvalidParameterValue("bad value")
    error = connection.translate(duckdb.InvalidInputException("Python exception"))
    assert isinstance(error, errors.InvalidParameterValue)
    assert connection.function_error is None  # taken once
    assert isinstance(
        connection.translate(duckdb.CatalogException("Table with name x does not exist")),
        errors.UndefinedTable,
    )


def test_timezone_is_set_once(tmp_path: Path) -> None:
    connection, _ = _connection(tmp_path)
    connection.set_timezone("Europe/Paris")
    assert connection.timezone == "Europe/Paris"
    assert connection.execute("SELECT current_setting('TimeZone')").fetchone() == (
        "Europe/Paris",
    )
