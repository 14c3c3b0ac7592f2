"""SAVEPOINT / RELEASE / ROLLBACK TO with PostgreSQL's semantics, through raw SQL, psycopg's
nested transactions, SQLAlchemy's begin_nested and pandas; and the cases the server
refuses because rolling back would not be exact."""

from __future__ import annotations

import asyncpg
import pandas
import psycopg
import pytest
import sqlalchemy
from psycopg import errors as pgerrors
from psycopg.pq import TransactionStatus
from server import RunningServer, run_asyncpg


@pytest.fixture
def table(conn: psycopg.Connection, table_name: str) -> str:
    conn.execute(f"CREATE TABLE {table_name} (a INTEGER NOT NULL, b VARCHAR)")
    return table_name


def _values(connection: psycopg.Connection, table: str) -> list[int]:
    return [r[0] for r in connection.execute(f"SELECT a FROM {table} ORDER BY a").fetchall()]


def test_rollback_to_after_error_keeps_earlier_writes(
    conn: psycopg.Connection, other: psycopg.Connection, table: str
) -> None:
    conn.execute("BEGIN")
    conn.execute(f"INSERT INTO {table} VALUES (1, 'x'), (2, 'y')")
    conn.execute(f"UPDATE {table} SET b = 'z' WHERE a = 2")
    conn.execute("SAVEPOINT s1")
    conn.execute(f"INSERT INTO {table} VALUES (3, 'lost')")
    with pytest.raises(pgerrors.NotNullViolation):
        conn.execute(f"INSERT INTO {table} VALUES (NULL, 'bad')")
    assert conn.info.transaction_status == TransactionStatus.INERROR
    with pytest.raises(pgerrors.InFailedSqlTransaction):
        conn.execute("SELECT 1")
    cur = conn.execute("ROLLBACK TO SAVEPOINT s1")
    assert cur.statusmessage == "ROLLBACK"
    assert conn.info.transaction_status == TransactionStatus.INTRANS
    rows = conn.execute(f"SELECT a, b FROM {table} ORDER BY a").fetchall()
    assert rows == [(1, "x"), (2, "z")]
    conn.execute(f"INSERT INTO {table} VALUES (4, 'w')")
    assert _values(other, table) == []  # nothing committed yet
    conn.execute("COMMIT")
    assert _values(other, table) == [1, 2, 4]


def test_nested_savepoints_release_and_rollback_to(conn: psycopg.Connection, table: str) -> None:
    conn.execute("BEGIN")
    conn.execute(f"INSERT INTO {table} VALUES (1, NULL)")
    conn.execute("SAVEPOINT a")
    conn.execute(f"INSERT INTO {table} VALUES (2, NULL)")
    conn.execute("SAVEPOINT b")
    conn.execute(f"INSERT INTO {table} VALUES (3, NULL)")
    assert conn.execute("RELEASE SAVEPOINT b").statusmessage == "RELEASE"
    with pytest.raises(pgerrors.InvalidSavepointSpecification, match='"b" does not exist'):
        conn.execute("ROLLBACK TO b")
    conn.execute("ROLLBACK")
    # Again, rolling back to the outer one: the inner one's writes go too.
    conn.execute("BEGIN")
    conn.execute(f"INSERT INTO {table} VALUES (1, NULL)")
    conn.execute("SAVEPOINT a")
    conn.execute(f"INSERT INTO {table} VALUES (2, NULL)")
    conn.execute("SAVEPOINT b")
    conn.execute(f"INSERT INTO {table} VALUES (3, NULL)")
    conn.execute("ROLLBACK TO a")
    assert _values(conn, table) == [1]
    with pytest.raises(pgerrors.InvalidSavepointSpecification):
        conn.execute("RELEASE b")  # set after a: gone with the rollback
    conn.execute("ROLLBACK")
    conn.execute("BEGIN")
    conn.execute("SAVEPOINT a")
    conn.execute(f"INSERT INTO {table} VALUES (5, NULL)")
    conn.execute("ROLLBACK TO a")
    conn.execute(f"INSERT INTO {table} VALUES (6, NULL)")
    conn.execute("ROLLBACK TO SAVEPOINT a")  # it stays set after a ROLLBACK TO
    conn.execute(f"INSERT INTO {table} VALUES (7, NULL)")
    conn.execute("COMMIT")
    assert _values(conn, table) == [7]


def test_same_name_twice_uses_the_latest(conn: psycopg.Connection, table: str) -> None:
    conn.execute("BEGIN")
    conn.execute("SAVEPOINT s")
    conn.execute(f"INSERT INTO {table} VALUES (1, NULL)")
    conn.execute("SAVEPOINT s")
    conn.execute(f"INSERT INTO {table} VALUES (2, NULL)")
    conn.execute("ROLLBACK TO s")
    assert _values(conn, table) == [1]
    conn.execute("RELEASE s")
    conn.execute("ROLLBACK TO s")  # the first one is still there
    assert _values(conn, table) == []
    conn.execute("COMMIT")


def test_outside_a_block_is_25P01(conn: psycopg.Connection) -> None:
    for sql, verb in [
        ("SAVEPOINT x", "SAVEPOINT"),
        ("RELEASE SAVEPOINT x", "RELEASE SAVEPOINT"),
        ("ROLLBACK TO SAVEPOINT x", "ROLLBACK TO SAVEPOINT"),
    ]:
        with pytest.raises(pgerrors.NoActiveSqlTransaction, match=verb):
            conn.execute(sql)
    assert conn.info.transaction_status == TransactionStatus.IDLE


def test_unknown_savepoint_fails_the_block(conn: psycopg.Connection) -> None:
    conn.execute("BEGIN")
    with pytest.raises(pgerrors.InvalidSavepointSpecification) as info:
        conn.execute("ROLLBACK TO SAVEPOINT nowhere")
    assert info.value.sqlstate == "3B001"
    assert conn.info.transaction_status == TransactionStatus.INERROR
    conn.execute("ROLLBACK")


def test_release_in_failed_block_is_refused(conn: psycopg.Connection, table: str) -> None:
    conn.execute("BEGIN")
    conn.execute("SAVEPOINT s")
    with pytest.raises(pgerrors.NotNullViolation):
        conn.execute(f"INSERT INTO {table} VALUES (NULL, NULL)")
    with pytest.raises(pgerrors.InFailedSqlTransaction):
        conn.execute("RELEASE s")
    conn.execute("ROLLBACK TO s")
    conn.execute("RELEASE s")
    conn.execute(f"INSERT INTO {table} VALUES (1, NULL)")
    conn.execute("COMMIT")
    assert _values(conn, table) == [1]


def test_settings_roll_back_with_the_savepoint(conn: psycopg.Connection) -> None:
    conn.execute("BEGIN")
    conn.execute("SET application_name = 'before'")
    conn.execute("SAVEPOINT s")
    conn.execute("SET application_name = 'inside'")
    conn.execute("SET TimeZone = 'Europe/Paris'")
    conn.execute("ROLLBACK TO s")
    assert conn.execute("SHOW application_name").fetchone() == ("before",)
    assert conn.execute("SHOW TimeZone").fetchone() == ("UTC",)
    stamp = conn.execute("SELECT (TIMESTAMPTZ '2024-01-01 00:00:00+00')::VARCHAR").fetchone()
    assert stamp == ("2024-01-01 00:00:00+00",)  # printed in the restored zone
    assert conn.info.parameter_status("application_name") == "before"
    conn.execute("SET TimeZone = 'Asia/Tokyo'")
    conn.execute("ROLLBACK")
    stamp = conn.execute("SELECT (TIMESTAMPTZ '2024-01-01 00:00:00+00')::VARCHAR").fetchone()
    assert stamp == ("2024-01-01 00:00:00+00",)
    # ROLLBACK undoes the block's SETs, as in PostgreSQL.
    assert conn.execute("SHOW application_name").fetchone() == ("",)


def test_ddl_before_the_savepoint_is_replayed(conn: psycopg.Connection, table_name: str) -> None:
    conn.execute("BEGIN")
    conn.execute(f"CREATE TABLE {table_name} (a INTEGER NOT NULL)")
    conn.execute(f"INSERT INTO {table_name} SELECT i FROM range(5) t(i)")
    conn.execute("SAVEPOINT s")
    conn.execute(f"DELETE FROM {table_name} WHERE a < 3")
    conn.execute(f"ALTER TABLE {table_name} ADD COLUMN c VARCHAR")
    conn.execute("ROLLBACK TO s")
    assert _values(conn, table_name) == [0, 1, 2, 3, 4]
    columns = conn.execute(f"SELECT * FROM {table_name} LIMIT 0").description
    assert [c.name for c in columns or ()] == ["a"]
    conn.execute("COMMIT")
    assert _values(conn, table_name) == [0, 1, 2, 3, 4]


def test_parameters_of_replayed_writes(server: RunningServer, table: str) -> None:
    """Extended protocol: the earlier INSERTs' bound values are replayed."""
    with psycopg.connect(server.dsn()) as conn:
        conn.execute(f"INSERT INTO {table} VALUES (%s, %s)", (10, "ten"))
        conn.cursor().executemany(f"INSERT INTO {table} VALUES (%s, %s)", [(11, "a"), (12, "b")])
        conn.execute("SAVEPOINT s")
        with pytest.raises(pgerrors.NotNullViolation):
            conn.execute(f"INSERT INTO {table} VALUES (%s, %s)", (None, "bad"))
        conn.execute("ROLLBACK TO s")
        rows = conn.execute(f"SELECT a, b FROM {table} ORDER BY a").fetchall()
        assert rows == [(10, "ten"), (11, "a"), (12, "b")]
        conn.commit()


def test_volatile_write_before_savepoint_is_refused(
    conn: psycopg.Connection, table_name: str
) -> None:
    conn.execute(f"CREATE TABLE {table_name} (a DOUBLE)")
    conn.execute("BEGIN")
    conn.execute(f"INSERT INTO {table_name} VALUES (random())")
    conn.execute("SAVEPOINT s")
    conn.execute(f"INSERT INTO {table_name} VALUES (2)")
    with pytest.raises(pgerrors.FeatureNotSupported, match="random") as info:
        conn.execute("ROLLBACK TO s")
    assert info.value.diag.message_hint and "Roll back" in info.value.diag.message_hint
    # Refused, not pretended: the block is failed and its writes are never committed.
    assert conn.info.transaction_status == TransactionStatus.INERROR
    assert conn.execute("COMMIT").statusmessage == "ROLLBACK"
    assert conn.execute(f"SELECT count(*) FROM {table_name}").fetchone() == (0,)


def test_volatile_default_before_savepoint_is_refused(
    conn: psycopg.Connection, table_name: str
) -> None:
    conn.execute(f"CREATE TABLE {table_name} (a INTEGER, u UUID DEFAULT uuid())")
    conn.execute("BEGIN")
    conn.execute(f"INSERT INTO {table_name} (a) VALUES (1)")
    conn.execute("SAVEPOINT s")
    conn.execute("ROLLBACK TO s")  # nothing written since: nothing to repeat
    conn.execute(f"INSERT INTO {table_name} (a) VALUES (2)")
    with pytest.raises(pgerrors.FeatureNotSupported, match="default"):
        conn.execute("ROLLBACK TO s")
    conn.execute("ROLLBACK")


def test_writes_after_the_savepoint_only_need_no_replay(
    conn: psycopg.Connection, table_name: str
) -> None:
    """Volatile writes after the savepoint are simply undone."""
    conn.execute(f"CREATE TABLE {table_name} (a DOUBLE)")
    conn.execute("BEGIN")
    conn.execute("SAVEPOINT s")
    conn.execute(f"INSERT INTO {table_name} VALUES (random())")
    conn.execute("ROLLBACK TO s")
    conn.execute(f"INSERT INTO {table_name} VALUES (7)")
    conn.execute("COMMIT")
    assert conn.execute(f"SELECT a FROM {table_name}").fetchall() == [(7.0,)]


def test_copy_before_savepoint_is_refused(conn: psycopg.Connection, table: str) -> None:
    conn.execute("BEGIN")
    with conn.cursor().copy(f"COPY {table} (a, b) FROM STDIN") as copy:
        copy.write_row((1, "copied"))
    conn.execute("SAVEPOINT s")
    conn.execute(f"INSERT INTO {table} VALUES (2, 'after')")
    with pytest.raises(pgerrors.FeatureNotSupported, match="COPY"):
        conn.execute("ROLLBACK TO s")
    conn.execute("ROLLBACK")
    assert _values(conn, table) == []


def test_another_commit_in_between_is_a_serialization_failure(
    conn: psycopg.Connection, other: psycopg.Connection, table: str, table_name: str
) -> None:
    conn.execute("BEGIN")
    conn.execute(f"INSERT INTO {table} VALUES (1, NULL)")
    conn.execute("SAVEPOINT s")
    conn.execute(f"INSERT INTO {table} VALUES (2, NULL)")
    other.execute(f"CREATE TABLE {table_name}_other (x INTEGER)")
    with pytest.raises(pgerrors.SerializationFailure, match="another transaction"):
        conn.execute("ROLLBACK TO s")
    assert conn.info.transaction_status == TransactionStatus.INERROR
    conn.execute("ROLLBACK")
    assert _values(other, table) == []


def test_psycopg_nested_transactions(server: RunningServer, table: str) -> None:
    with psycopg.connect(server.dsn()) as conn:
        with conn.transaction():
            conn.execute(f"INSERT INTO {table} VALUES (1, 'outer')")
            with pytest.raises(pgerrors.NotNullViolation), conn.transaction():
                conn.execute(f"INSERT INTO {table} VALUES (2, 'inner')")
                conn.execute(f"INSERT INTO {table} VALUES (NULL, 'bad')")
            with conn.transaction():
                conn.execute(f"INSERT INTO {table} VALUES (3, 'kept')")
            with pytest.raises(RuntimeError), conn.transaction():
                conn.execute(f"INSERT INTO {table} VALUES (4, 'rolled back')")
                raise RuntimeError("leave the block")
        rows = conn.execute(f"SELECT a, b FROM {table} ORDER BY a").fetchall()
        assert rows == [(1, "outer"), (3, "kept")]


def test_sqlalchemy_begin_nested(server: RunningServer, table: str) -> None:
    url = sqlalchemy.URL.create("postgresql+psycopg", username="forge", host=server.host,
                                port=server.port, database=server.database)
    # The hstore probe reads to_regtype, which is the catalog's business, not this test's.
    engine = sqlalchemy.create_engine(url, use_native_hstore=False)
    try:
        with engine.connect() as connection:
            with connection.begin():
                connection.execute(sqlalchemy.text(f"INSERT INTO {table} VALUES (1, 'a')"))
                nested = connection.begin_nested()
                connection.execute(sqlalchemy.text(f"INSERT INTO {table} VALUES (2, 'b')"))
                nested.rollback()
                with connection.begin_nested():
                    connection.execute(sqlalchemy.text(f"INSERT INTO {table} VALUES (3, 'c')"))
            rows = connection.execute(sqlalchemy.text(f"SELECT a FROM {table} ORDER BY a"))
            assert [r[0] for r in rows] == [1, 3]
    finally:
        engine.dispose()


def test_declared_keys_before_the_savepoint_are_replayed(
    conn: psycopg.Connection, table_name: str
) -> None:
    """DDL recorded in forge_meta (declared keys) is repeated the way it first ran."""
    conn.execute("BEGIN")
    conn.execute(f"CREATE TABLE {table_name} (id INTEGER PRIMARY KEY, v VARCHAR)")
    conn.execute(f"INSERT INTO {table_name} VALUES (1, 'one')")
    conn.execute("SAVEPOINT s")
    conn.execute(f"INSERT INTO {table_name} VALUES (2, 'two')")
    conn.execute("ROLLBACK TO s")
    conn.execute("COMMIT")
    assert conn.execute(f"SELECT id, v FROM {table_name}").fetchall() == [(1, "one")]
    declared = conn.execute(
        "SELECT count(*) FROM forge_meta.constraints WHERE table_name = %s", (table_name,)
    ).fetchone()
    assert declared == (1,)


def test_pandas_to_sql_inside_a_savepoint(server: RunningServer, table_name: str) -> None:
    """pandas writes through the caller's SQLAlchemy connection: a rolled-back savepoint
    takes its rows away, a released one keeps them."""
    url = sqlalchemy.URL.create("postgresql+psycopg", username="forge", host=server.host,
                                port=server.port, database=server.database)
    engine = sqlalchemy.create_engine(url, use_native_hstore=False)
    frame = pandas.DataFrame({"a": [1, 2, 3], "b": ["x", "y", None]})
    try:
        with engine.connect() as connection:
            with connection.begin():
                connection.execute(sqlalchemy.text(f"CREATE TABLE {table_name} (a BIGINT, b TEXT)"))
                with connection.begin_nested():
                    frame.to_sql(table_name, connection, if_exists="append", index=False)
                nested = connection.begin_nested()
                frame.to_sql(table_name, connection, if_exists="append", index=False)
                nested.rollback()
            back = pandas.read_sql(f"SELECT a, b FROM {table_name} ORDER BY a", connection)
        pandas.testing.assert_frame_equal(back, frame, check_dtype=False)
    finally:
        engine.dispose()


def test_asyncpg_nested_transactions_and_modes(server: RunningServer, table: str) -> None:
    async def body(con: asyncpg.Connection) -> None:
        async with con.transaction():
            await con.execute(f"INSERT INTO {table} VALUES ($1, $2)", 1, "outer")
            with pytest.raises(asyncpg.NotNullViolationError):
                async with con.transaction():  # SAVEPOINT
                    await con.execute(f"INSERT INTO {table} VALUES ($1, $2)", 2, "inner")
                    await con.execute(f"INSERT INTO {table} VALUES ($1, $2)", None, "bad")
            await con.execute(f"INSERT INTO {table} VALUES ($1, $2)", 3, "after")
        rows = await con.fetch(f"SELECT a, b FROM {table} ORDER BY a")
        assert [tuple(r) for r in rows] == [(1, "outer"), (3, "after")]
        async with con.transaction(isolation="serializable", readonly=True):
            level = await con.fetchval("SHOW TRANSACTION ISOLATION LEVEL")
            assert level == "serializable"
            with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
                await con.execute(f"DELETE FROM {table}")

    run_asyncpg(server, body)
