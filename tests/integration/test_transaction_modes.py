"""current_setting / set_config over the session settings, SET LOCAL, transaction modes:
isolation levels as reported, READ ONLY enforced (25006)."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors as pgerrors


def _one(connection: psycopg.Connection, sql: str) -> object:
    row = connection.execute(sql).fetchone()
    assert row is not None
    return row[0]


def test_current_setting_and_set_config(conn: psycopg.Connection) -> None:
    assert _one(conn, "SELECT current_setting('TimeZone')") == "UTC"
    assert _one(conn, "SELECT pg_catalog.current_setting('search_path')") == '"$user", public'
    assert _one(conn, "SELECT current_setting('no_such_setting', true)") is None
    with pytest.raises(pgerrors.UndefinedObject, match="no_such_setting"):
        conn.execute("SELECT current_setting('no_such_setting')")
    assert _one(conn, "SELECT set_config('application_name', 'reporting', false)") == "reporting"
    assert _one(conn, "SHOW application_name") == "reporting"
    assert conn.info.parameter_status("application_name") == "reporting"
    assert _one(conn, "SELECT set_config('TimeZone', 'Asia/Tokyo', false)") == "Asia/Tokyo"
    # The session's time zone really changed: timestamptz prints in it.
    assert _one(conn, "SELECT (TIMESTAMPTZ '2024-01-01 00:00:00+00')::VARCHAR").startswith(
        "2024-01-01 09:00:00")
    with pytest.raises(pgerrors.InvalidParameterValue):
        conn.execute("SELECT set_config('TimeZone', 'Mars/Olympus', false)")
    conn.execute("RESET ALL")
    assert _one(conn, "SELECT current_setting('TimeZone')") == "UTC"


def test_custom_settings(conn: psycopg.Connection) -> None:
    """Dotted names, as row-security setups and PostgREST use them."""
    with pytest.raises(pgerrors.UndefinedObject):
        conn.execute("SELECT current_setting('app.tenant')")
    assert _one(conn, "SELECT current_setting('app.tenant', true)") is None
    conn.execute("SET app.tenant = 'acme'")
    assert _one(conn, "SHOW app.tenant") == "acme"
    conn.execute("BEGIN")
    assert _one(conn, "SELECT set_config('app.tenant', 'other', true)") == "other"
    conn.execute("COMMIT")
    assert _one(conn, "SELECT current_setting('app.tenant')") == "acme"


def test_set_local_and_set_config_local_end_with_the_block(conn: psycopg.Connection) -> None:
    conn.execute("BEGIN")
    conn.execute("SET LOCAL statement_timeout = '5s'")
    conn.execute("SELECT set_config('application_name', 'in block', true)")
    conn.execute("SET extra_float_digits = 2")
    assert _one(conn, "SHOW statement_timeout") == "5s"
    assert _one(conn, "SELECT current_setting('application_name')") == "in block"
    conn.execute("COMMIT")
    assert _one(conn, "SHOW statement_timeout") == "0"
    assert _one(conn, "SHOW application_name") == ""
    assert _one(conn, "SHOW extra_float_digits") == "2"  # plain SET stays after COMMIT
    conn.execute("BEGIN")
    conn.execute("SET extra_float_digits = 3")
    conn.execute("ROLLBACK")
    assert _one(conn, "SHOW extra_float_digits") == "2"  # ROLLBACK undoes it


def test_isolation_levels(conn: psycopg.Connection) -> None:
    assert _one(conn, "SHOW TRANSACTION ISOLATION LEVEL") == "repeatable read"
    conn.execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
    assert _one(conn, "SHOW TRANSACTION ISOLATION LEVEL") == "serializable"
    assert _one(conn, "SELECT current_setting('transaction_isolation')") == "serializable"
    conn.execute("COMMIT")
    assert _one(conn, "SHOW transaction_isolation") == "repeatable read"
    conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED")
    assert _one(conn, "SHOW default_transaction_isolation") == "read committed"
    conn.execute("START TRANSACTION")
    assert _one(conn, "SHOW TRANSACTION ISOLATION LEVEL") == "read committed"
    conn.execute("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
    assert _one(conn, "SHOW TRANSACTION ISOLATION LEVEL") == "serializable"
    conn.execute("COMMIT")
    conn.execute("RESET default_transaction_isolation")


def test_read_only_transactions_refuse_writes(conn: psycopg.Connection, table_name: str) -> None:
    conn.execute(f"CREATE TABLE {table_name} (a INTEGER)")
    conn.execute("START TRANSACTION READ ONLY")
    assert _one(conn, "SHOW transaction_read_only") == "on"
    assert _one(conn, f"SELECT count(*) FROM {table_name}") == 0
    with pytest.raises(pgerrors.ReadOnlySqlTransaction, match="read-only transaction"):
        conn.execute(f"INSERT INTO {table_name} VALUES (1)")
    conn.execute("ROLLBACK")
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    with pytest.raises(pgerrors.ReadOnlySqlTransaction):
        conn.execute(f"DROP TABLE {table_name}")
    conn.execute("ROLLBACK")
    conn.execute("SET default_transaction_read_only = on")
    with pytest.raises(pgerrors.ReadOnlySqlTransaction):
        conn.execute(f"CREATE TABLE {table_name}_2 (a INTEGER)")
    with pytest.raises(pgerrors.ReadOnlySqlTransaction), conn.cursor().copy(
        f"COPY {table_name} FROM STDIN"
    ) as copy:
        copy.write_row((1,))
    conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE")
    conn.execute(f"INSERT INTO {table_name} VALUES (2)")
    assert _one(conn, f"SELECT count(*) FROM {table_name}") == 1


def test_pool_reset_statements(conn: psycopg.Connection) -> None:
    """What asyncpg and Npgsql send when a pooled connection is returned."""
    conn.execute("SET application_name = 'pooled'")
    conn.execute("BEGIN")
    conn.execute("DECLARE c CURSOR WITH HOLD FOR SELECT 1")
    conn.execute("COMMIT")
    for sql in ["SELECT pg_advisory_unlock_all()", "CLOSE ALL", "UNLISTEN *", "RESET ALL"]:
        conn.execute(sql)
    with pytest.raises(pgerrors.InvalidCursorName):
        conn.execute("FETCH c")
    assert _one(conn, "SHOW application_name") == ""
    conn.execute("SET application_name = 'again'")
    assert _one(conn, "SELECT pg_try_advisory_lock(7000099)") is True
    assert conn.execute("DISCARD ALL").statusmessage == "DISCARD ALL"
    assert _one(conn, "SHOW application_name") == ""
    with psycopg.connect(conn.info.dsn, autocommit=True) as other:
        assert _one(other, "SELECT pg_try_advisory_lock(7000099)") is True  # DISCARD freed it
