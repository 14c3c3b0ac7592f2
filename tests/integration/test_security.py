"""The sandbox: clients cannot reach the server's files, load code or unlock DuckDB settings."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from psycopg import errors as pgerrors

FORBIDDEN = [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_csv_auto('/etc/hostname')",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM read_parquet('/tmp/*.parquet')",
    "SELECT * FROM glob('/*')",
    "ATTACH ':memory:' AS x",
    "ATTACH '/tmp/forge_attack.duckdb' AS y",
    "DETACH forge",
    "INSTALL httpfs",
    "LOAD httpfs",
    "FORCE INSTALL httpfs",
    "SET enable_external_access = true",
    "SET allowed_directories = ['/']",
    "SET lock_configuration = false",
    "SET memory_limit = '1TB'",
    "SET GLOBAL threads = 1",
    "SET SESSION threads = 1",
    "RESET memory_limit",
    "PRAGMA threads = 1",
    "PRAGMA memory_limit = '1TB'",
    "SET autoinstall_known_extensions = true",
    "SET custom_extension_repository = 'http://example.invalid'",
    "EXPORT DATABASE '/tmp/forge_export'",
    "COPY (SELECT 1) TO '/tmp/forge_copy.csv'",
    "COPY (SELECT 1) TO 'relative.csv'",
]


@pytest.mark.parametrize("sql", FORBIDDEN)
def test_forbidden_statement(conn: psycopg.Connection, sql: str) -> None:
    with pytest.raises(psycopg.Error) as info:
        conn.execute(sql)
    assert info.value.sqlstate == "42501", info.value
    assert isinstance(info.value, pgerrors.InsufficientPrivilege)
    assert conn.execute("SELECT 'still usable'").fetchone() == ("still usable",)


def test_copy_table_to_file(conn: psycopg.Connection, table_name: str, tmp_path: Path) -> None:
    target = tmp_path / "x.csv"
    conn.execute(f"CREATE TABLE {table_name} AS SELECT 1 AS a")
    with pytest.raises(pgerrors.InsufficientPrivilege):
        conn.execute(f"COPY {table_name} TO '{target}'")
    with pytest.raises(pgerrors.InsufficientPrivilege):
        conn.execute(f"COPY {table_name} TO '/tmp/x.csv' (FORMAT csv)")
    assert not target.exists()
    with pytest.raises(pgerrors.InsufficientPrivilege):
        conn.execute(f"COPY {table_name} FROM '/etc/hostname'")
    assert conn.execute(f"SELECT a FROM {table_name}").fetchall() == [(1,)]


def test_forbidden_through_extended_protocol(conn: psycopg.Connection) -> None:
    """Parameters and prepared statements do not get around the checks."""
    with pytest.raises(pgerrors.InsufficientPrivilege):
        conn.execute("SELECT * FROM read_csv(%s)", ("/etc/passwd",))
    with pytest.raises(pgerrors.InsufficientPrivilege):
        conn.execute("SELECT * FROM glob('/*')", prepare=True)
    with pytest.raises(pgerrors.InsufficientPrivilege):
        conn.execute("ATTACH ':memory:' AS z", prepare=True)
    with pytest.raises(pgerrors.InsufficientPrivilege):
        conn.cursor(binary=True).execute("SELECT content FROM read_text(%s)", ("/etc/passwd",))
    assert conn.execute("SELECT %s::INTEGER", (3,)).fetchone() == (3,)


def test_forbidden_inside_a_transaction_block(conn: psycopg.Connection) -> None:
    conn.execute("BEGIN")
    with pytest.raises(pgerrors.InsufficientPrivilege):
        conn.execute("SELECT * FROM read_csv('/etc/passwd')")
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
    conn.execute("ROLLBACK")
    assert conn.execute("SELECT 1").fetchone() == (1,)


def test_forbidden_hidden_in_a_multi_statement_query(conn: psycopg.Connection,
                                                     table_name: str) -> None:
    with pytest.raises(pgerrors.InsufficientPrivilege):
        conn.execute(f"CREATE TABLE {table_name} (a INTEGER); LOAD httpfs")
    with pytest.raises(pgerrors.InsufficientPrivilege):
        conn.execute("SELECT 1; SELECT * FROM read_csv('/etc/passwd')")
    assert conn.execute("SELECT 2").fetchone() == (2,)


def test_file_path_as_table_name(conn: psycopg.Connection) -> None:
    """DuckDB's replacement scan is off with external access: the path is just a missing table."""
    with pytest.raises((pgerrors.UndefinedTable, pgerrors.InsufficientPrivilege)):
        conn.execute("SELECT * FROM '/etc/passwd'")
    assert conn.execute("SELECT 1").fetchone() == (1,)


def test_settings_stay_locked(conn: psycopg.Connection) -> None:
    with pytest.raises(psycopg.Error) as info:
        conn.execute("RESET enable_external_access")
    assert info.value.sqlstate == "42501"
    row = conn.execute(
        "SELECT value FROM duckdb_settings() WHERE name = 'enable_external_access'"
    ).fetchone()
    assert row == ("false",)


def test_duckdb_settings_unchanged_by_clients(conn: psycopg.Connection) -> None:
    """Refusals happen before DuckDB: the process-wide settings keep their values."""
    before = dict(conn.execute("SELECT name, value FROM duckdb_settings()").fetchall())
    for sql in ("SET threads = 1", "PRAGMA threads = 1", "SET GLOBAL memory_limit = '1MB'"):
        with pytest.raises(psycopg.Error) as info:
            conn.execute(sql)
        assert info.value.sqlstate == "42501", sql
    after = dict(conn.execute("SELECT name, value FROM duckdb_settings()").fetchall())
    for name in ("threads", "memory_limit", "enable_external_access", "allowed_directories"):
        assert after[name] == before[name]

