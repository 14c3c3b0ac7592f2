"""Materialized views over the wire: the same answers as the PostgreSQL fixture (tags, rows,
SQLSTATEs), REFRESH seen whole by concurrent readers, only the owner refreshes, and psql's
\\dm lists them."""

from __future__ import annotations

import subprocess
import threading
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from postgres import PostgresServer, postgres  # noqa: F401
from server import RunningServer, start_server

from forge_sql.wire.auth import make_verifier

# {m}: a name for the test; run in order on both servers.
SCRIPT = [
    "CREATE TABLE {m}_t (a int, b text)",
    "INSERT INTO {m}_t VALUES (1, 'x'), (2, 'y'), (-1, 'n')",
    "CREATE MATERIALIZED VIEW {m} AS SELECT a, b FROM {m}_t WHERE a > 0",
    "SELECT a, b FROM {m} ORDER BY a",
    "CREATE MATERIALIZED VIEW {m} AS SELECT 1",
    "CREATE MATERIALIZED VIEW IF NOT EXISTS {m} AS SELECT 1",
    "CREATE MATERIALIZED VIEW {m}_e (x, y) AS SELECT a, b FROM {m}_t WITH NO DATA",
    "SELECT * FROM {m}_e",
    "SELECT count(*) FROM {m}_e",
    "SELECT relkind, relispopulated FROM pg_class WHERE relname = '{m}_e'",
    "SELECT matviewname, ispopulated FROM pg_matviews WHERE matviewname LIKE '{m}%' "
    "ORDER BY 1",
    "REFRESH MATERIALIZED VIEW CONCURRENTLY {m}_e WITH NO DATA",
    "REFRESH MATERIALIZED VIEW {m}_e",
    "SELECT x, y FROM {m}_e ORDER BY x",
    "SELECT relkind, relispopulated FROM pg_class WHERE relname = '{m}_e'",
    "INSERT INTO {m}_t VALUES (3, 'z')",
    "SELECT count(*) FROM {m}",
    "REFRESH MATERIALIZED VIEW {m}",
    "SELECT a, b FROM {m} ORDER BY a",
    "REFRESH MATERIALIZED VIEW {m} WITH NO DATA",
    "SELECT a FROM {m}",
    "REFRESH MATERIALIZED VIEW {m} WITH DATA",
    "SELECT count(*) FROM {m}",
    "INSERT INTO {m} VALUES (9, 'q')",
    "UPDATE {m} SET a = 1",
    "DELETE FROM {m}",
    "DROP TABLE {m}",
    "DROP MATERIALIZED VIEW {m}_t",
    "REFRESH MATERIALIZED VIEW {m}_t",
    "REFRESH MATERIALIZED VIEW {m}_missing",
    "SELECT relkind FROM pg_class WHERE relname = '{m}'",
    "SELECT schemaname, matviewname, ispopulated, hasindexes FROM pg_matviews "
    "WHERE matviewname = '{m}'",
    "DROP MATERIALIZED VIEW {m}_missing",
    "DROP MATERIALIZED VIEW IF EXISTS {m}_missing",
    "DROP MATERIALIZED VIEW {m}, {m}_e",
    "SELECT count(*) FROM pg_matviews WHERE matviewname LIKE '{m}%'",
    "SELECT count(*) FROM pg_class WHERE relname = '{m}'",
    "CREATE MATERIALIZED VIEW {m} AS SELECT 1 AS one",
    "SELECT one FROM {m}",
    "DROP MATERIALIZED VIEW {m}",
    "DROP TABLE {m}_t",
]


@pytest.fixture(scope="module")
def both(
    server: RunningServer, postgres: PostgresServer,  # noqa: F811
) -> Iterator[tuple[psycopg.Connection, psycopg.Connection]]:
    with psycopg.connect(server.dsn(), autocommit=True) as forge, psycopg.connect(
            postgres.dsn, autocommit=True) as pg:
        yield forge, pg


# Type OIDs the catalog emulation announces for every relation alike (name, "char", oid),
# and text columns of a query announced as varchar (a known difference of every result,
# docs/compatibility.md): not differences of materialized views.
_CATALOG_TYPES = {19: 1043, 18: 1043, 26: 20, 25: 1043}


def _answer(conn: psycopg.Connection, sql: str) -> object:
    try:
        cursor = conn.execute(sql)
    except psycopg.Error as exc:
        return ("error", exc.sqlstate)
    if cursor.description is None:
        return ("tag", cursor.statusmessage)
    types = [_CATALOG_TYPES.get(d.type_code, d.type_code) for d in cursor.description]
    return ("rows", types, cursor.fetchall(), cursor.statusmessage)


def test_same_answers_as_postgresql(
    both: tuple[psycopg.Connection, psycopg.Connection],
) -> None:
    forge, pg = both
    names = {"m": f"m{uuid.uuid4().hex[:8]}"}
    different = []
    try:
        for template in SCRIPT:
            sql = template.format(**names)
            mine, theirs = _answer(forge, sql), _answer(pg, sql)
            if mine != theirs:
                different.append(f"{sql}\n  forge-sql:  {mine}\n  PostgreSQL: {theirs}")
    finally:
        pg.execute(f"DROP MATERIALIZED VIEW IF EXISTS {names['m']}, {names['m']}_e")
        pg.execute(f"DROP TABLE IF EXISTS {names['m']}_t")
    assert not different, "\n".join(different)


def test_readers_see_old_rows_or_new_never_none(
        conn: psycopg.Connection, server: RunningServer, table_name: str) -> None:
    conn.execute(f"CREATE TABLE {table_name} (a int)")
    conn.execute(f"INSERT INTO {table_name} SELECT range FROM range(1000)")
    conn.execute(f"CREATE MATERIALIZED VIEW {table_name}_m AS SELECT a FROM {table_name}")
    seen: list[int] = []
    stop = threading.Event()
    failures: list[BaseException] = []

    def read() -> None:
        try:
            with psycopg.connect(server.dsn(), autocommit=True) as reader:
                while not stop.is_set():
                    row = reader.execute(f"SELECT count(*) FROM {table_name}_m").fetchone()
                    assert row is not None
                    seen.append(row[0])
        except BaseException as exc:  # reported by the test below
            failures.append(exc)

    readers = [threading.Thread(target=read) for _ in range(2)]
    for thread in readers:
        thread.start()
    try:
        for i in range(8):
            conn.execute(f"INSERT INTO {table_name} VALUES ({1000 + i})")
            conn.execute(f"REFRESH MATERIALIZED VIEW {table_name}_m")
    finally:
        stop.set()
        for thread in readers:
            thread.join(60)
    assert not failures, failures
    assert seen, "the readers read nothing"
    assert set(seen) <= set(range(1000, 1009)), sorted(set(seen))
    assert conn.execute(f"SELECT count(*) FROM {table_name}_m").fetchone() == (1008,)


def test_refresh_in_a_rolled_back_transaction_keeps_the_old_rows(
        conn: psycopg.Connection, table_name: str) -> None:
    conn.execute(f"CREATE TABLE {table_name} (a int)")
    conn.execute(f"INSERT INTO {table_name} VALUES (1)")
    conn.execute(f"CREATE MATERIALIZED VIEW {table_name}_m AS SELECT a FROM {table_name}")
    conn.execute(f"INSERT INTO {table_name} VALUES (2)")
    with conn.transaction(force_rollback=True):
        conn.execute(f"REFRESH MATERIALIZED VIEW {table_name}_m")
        assert conn.execute(f"SELECT count(*) FROM {table_name}_m").fetchone() == (2,)
    assert conn.execute(f"SELECT count(*) FROM {table_name}_m").fetchone() == (1,)
    with conn.transaction(force_rollback=True):
        conn.execute(f"DROP MATERIALIZED VIEW {table_name}_m")
    conn.execute(f"REFRESH MATERIALIZED VIEW {table_name}_m")  # still there
    assert conn.execute(f"SELECT count(*) FROM {table_name}_m").fetchone() == (2,)


@pytest.fixture(scope="module")
def users(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    verifier = make_verifier("pw")
    config = (
        f'[users.admin]\npassword = "{verifier}"\nsuperuser = true\n\n'
        f'[users.bob]\npassword = "{verifier}"\n\n'
        f'[users.carol]\npassword = "{verifier}"\n'
    )
    running = start_server(tmp_path_factory.mktemp("matviews") / "data", config=config)
    yield running
    log = running.stop()
    assert "Traceback" not in log, log


def test_only_the_owner_or_a_superuser_refreshes(users: RunningServer) -> None:
    with psycopg.connect(users.dsn(user="admin", password="pw"), autocommit=True) as admin, \
            psycopg.connect(users.dsn(user="bob", password="pw"), autocommit=True) as bob, \
            psycopg.connect(users.dsn(user="carol", password="pw"), autocommit=True) as carol:
        admin.execute("CREATE TABLE secret (a int)")
        admin.execute("INSERT INTO secret VALUES (1)")
        admin.execute("CREATE TABLE open_t (a int)")
        admin.execute("GRANT SELECT ON open_t TO bob")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bob.execute("CREATE MATERIALIZED VIEW peek AS SELECT a FROM secret")
        bob.execute("CREATE MATERIALIZED VIEW bobs AS SELECT a FROM open_t")
        assert bob.execute("SELECT matviewowner FROM pg_matviews WHERE matviewname = 'bobs'"
                           ).fetchone() == ("bob",)
        bob.execute("REFRESH MATERIALIZED VIEW bobs")
        with pytest.raises(psycopg.errors.InsufficientPrivilege) as refused:
            carol.execute("REFRESH MATERIALIZED VIEW bobs")
        assert "must be owner of materialized view bobs" in str(refused.value)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            carol.execute("SELECT * FROM bobs")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            carol.execute("DROP MATERIALIZED VIEW bobs")
        admin.execute("REFRESH MATERIALIZED VIEW bobs")
        bob.execute("GRANT SELECT ON bobs TO carol")
        assert carol.execute("SELECT count(*) FROM bobs").fetchone() == (0,)
        bob.execute("DROP MATERIALIZED VIEW bobs")


def test_psql_lists_materialized_views(server: RunningServer, psql_installed: str,
                                       table_name: str) -> None:
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE MATERIALIZED VIEW {table_name} AS SELECT 1 AS one")
    out = subprocess.run(
        [psql_installed, server.url(), "-X", "-c", r"\dm"], capture_output=True, text=True,
        timeout=60, check=False,
    )
    assert out.returncode == 0, out.stderr
    cells = [[c.strip() for c in line.split("|")] for line in out.stdout.splitlines()]
    assert ["public", table_name, "materialized view", "forge"] in cells, out.stdout
    tables = subprocess.run(
        [psql_installed, server.url(), "-X", "-c", r"\dt"], capture_output=True, text=True,
        timeout=60, check=False,
    )
    assert table_name not in tables.stdout
