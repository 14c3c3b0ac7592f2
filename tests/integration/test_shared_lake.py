"""Two forge-sql servers sharing one lake: DuckLake catalog in a real PostgreSQL, one data path."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import rawclient as raw
from postgres import PostgresServer, catalog_dsn, catalog_tables, postgres  # noqa: F401
from server import RunningServer, start_server


def shared_config(dsn: str, data_path: str, extra: str = "") -> str:
    return f"catalog = '{dsn}'\ndata_path = '{data_path}'\n{extra}"


def stop_all(*servers: RunningServer) -> None:
    for running in servers:
        log = running.stop()
        assert "Traceback" not in log, log


@pytest.fixture(scope="module")
def lake_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("shared")


@pytest.fixture(scope="module")
def pair(
    lake_root: Path,
    catalog_dsn: str,  # noqa: F811
) -> Iterator[tuple[RunningServer, RunningServer]]:
    """Two servers on one lake, for the whole module: each test uses tables of its own.

    They start at the same time on a new, empty catalog, so both try to create DuckLake's
    tables and the public schema: the one that loses must retry, not fail.
    """
    config = shared_config(catalog_dsn, str(lake_root / "lake"))
    started: dict[str, RunningServer] = {}
    failed: list[BaseException] = []

    def start(name: str) -> None:
        try:
            started[name] = start_server(lake_root / name, config=config)
        except BaseException as exc:
            failed.append(exc)

    threads = [threading.Thread(target=start, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failed:
        stop_all(*started.values())
        raise failed[0]
    yield started["a"], started["b"]
    stop_all(*started.values())


def test_the_catalog_lives_in_postgresql_and_the_files_in_the_data_path(
    pair: tuple[RunningServer, RunningServer],
    catalog_dsn: str,  # noqa: F811
    lake_root: Path,
) -> None:
    a, _ = pair
    with psycopg.connect(a.dsn(), autocommit=True) as conn:
        conn.execute("CREATE TABLE placed (id INT, note VARCHAR)")
        conn.execute("INSERT INTO placed SELECT i, 'n' || i FROM range(5000) t(i)")
    assert {"ducklake_snapshot", "ducklake_table", "ducklake_data_file"} <= catalog_tables(
        catalog_dsn
    )
    files = list((lake_root / "lake" / "public" / "placed").glob("*.parquet"))
    assert files, "the 5000 rows went to a Parquet file in the shared data path"
    assert not (lake_root / "a" / "catalog.ducklake").exists()
    assert not list((lake_root / "a").rglob("*.parquet"))


def test_a_table_made_through_one_server_is_read_through_the_other(
    pair: tuple[RunningServer, RunningServer],
) -> None:
    a, b = pair
    with (
        psycopg.connect(a.dsn(), autocommit=True) as on_a,
        psycopg.connect(b.dsn(), autocommit=True) as on_b,
    ):
        # B's session is open before the table exists: it must still see it afterwards.
        assert on_b.execute("SELECT 1").fetchone() == (1,)
        on_a.execute("CREATE TABLE trips (id BIGINT, city VARCHAR, fare DECIMAL(10,2))")
        with on_a.cursor().copy("COPY trips FROM STDIN") as copy:
            for i in range(20_000):
                copy.write_row((i, "Lyon" if i % 2 else "Oslo", f"{i % 100}.50"))
        on_a.execute("INSERT INTO trips VALUES (-1, 'Nantes', 1.25)")
        assert on_b.execute(
            "SELECT count(*), count(DISTINCT city), sum(fare) FROM trips"
        ).fetchone() == (20_001, 3, pytest.approx(20_000 * 49.5 + 10_000 + 1.25))
        # The catalog views clients and BI tools read know the new table too.
        assert on_b.execute(
            "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relname = 'trips'"
        ).fetchall() == [("trips",)]
        assert on_b.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'trips' ORDER BY ordinal_position"
        ).fetchall() == [("id",), ("city",), ("fare",)]
        # And the other way round, with a change of schema.
        on_b.execute("ALTER TABLE trips ADD COLUMN paid BOOLEAN")
        on_b.execute("UPDATE trips SET paid = id % 3 = 0")
        assert on_a.execute("SELECT count(*) FROM trips WHERE paid").fetchone() == (6667,)
        on_b.execute("DROP TABLE trips")
        with pytest.raises(psycopg.errors.UndefinedTable):
            on_a.execute("SELECT count(*) FROM trips")


def test_concurrent_writers_on_two_servers_all_succeed(
    pair: tuple[RunningServer, RunningServer],
) -> None:
    a, b = pair
    rounds = 20
    with psycopg.connect(a.dsn(), autocommit=True) as conn:
        conn.execute("CREATE TABLE counters (id INT, n INT)")
        conn.execute("INSERT INTO counters VALUES (0, 0), (1, 0)")
        conn.execute("CREATE TABLE events (who INT, seq INT)")
    failures: list[BaseException] = []

    def write(server: RunningServer, who: int) -> None:
        try:
            with psycopg.connect(server.dsn(), autocommit=True) as conn:
                for seq in range(rounds):
                    # Updates of one table clash in DuckLake; inserts do not.
                    conn.execute("UPDATE counters SET n = n + 1 WHERE id = %s", (who,))
                    conn.execute("INSERT INTO events VALUES (%s, %s)", (who, seq))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(s, i)) for i, s in enumerate(pair)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    with psycopg.connect(b.dsn(), autocommit=True) as conn:
        assert conn.execute("SELECT id, n FROM counters ORDER BY id").fetchall() == [
            (0, rounds),
            (1, rounds),
        ]
        assert conn.execute(
            "SELECT who, count(*), count(DISTINCT seq) FROM events GROUP BY who ORDER BY who"
        ).fetchall() == [(0, rounds, rounds), (1, rounds, rounds)]


def test_an_implicit_transaction_that_conflicts_is_run_again(
    pair: tuple[RunningServer, RunningServer],
) -> None:
    a, b = pair
    with psycopg.connect(a.dsn(), autocommit=True) as conn:
        conn.execute("CREATE TABLE tally (id INT, n INT)")
        conn.execute("INSERT INTO tally VALUES (0, 0), (1, 0)")
    with raw.connect(a.host, a.port) as client:
        client.startup()
        # An UPDATE executed but not yet committed: the commit comes with Sync.
        client.send(
            raw.parse("UPDATE tally SET n = n + 10 WHERE id = 0")
            + raw.bind()
            + raw.execute()
            + raw.message(b"H")
        )
        replies = [client.read_message() for _ in range(3)]
        assert [r[0] for r in replies if r] == [b"1", b"2", b"C"]
        # Meanwhile another server changes the same table and commits first.
        with psycopg.connect(b.dsn(), autocommit=True) as other:
            other.execute("UPDATE tally SET n = n + 1 WHERE id = 1")
        client.send(raw.sync())
        messages = client.read_until_ready()
        assert raw.errors_in(messages) == []
    with psycopg.connect(b.dsn(), autocommit=True) as conn:
        assert conn.execute("SELECT id, n FROM tally ORDER BY id").fetchall() == [(0, 10), (1, 1)]
    assert "commit conflict" in a.log_file.read_text()


def test_an_explicit_transaction_that_conflicts_gets_40001(
    pair: tuple[RunningServer, RunningServer],
) -> None:
    a, b = pair
    with psycopg.connect(a.dsn(), autocommit=True) as conn:
        conn.execute("CREATE TABLE stock (id INT, n INT)")
        conn.execute("INSERT INTO stock VALUES (0, 5), (1, 5)")
    with psycopg.connect(a.dsn()) as mine, psycopg.connect(b.dsn(), autocommit=True) as other:
        mine.execute("UPDATE stock SET n = n - 1 WHERE id = 0")
        other.execute("UPDATE stock SET n = n - 1 WHERE id = 1")
        with pytest.raises(psycopg.errors.SerializationFailure, match="conflict"):
            mine.commit()
        # The connection is usable again, and the client's retry succeeds.
        mine.execute("UPDATE stock SET n = n - 1 WHERE id = 0")
        mine.commit()
    with psycopg.connect(a.dsn(), autocommit=True) as conn:
        assert conn.execute("SELECT id, n FROM stock ORDER BY id").fetchall() == [(0, 4), (1, 4)]


def test_clients_cannot_reach_the_catalog_database(
    pair: tuple[RunningServer, RunningServer], postgres: object  # noqa: F811
) -> None:
    a, _ = pair
    with psycopg.connect(a.dsn(), autocommit=True) as conn:
        for sql in (
            "SELECT * FROM postgres_query('__ducklake_metadata_forge', 'SELECT 1')",
            "CALL postgres_execute('__ducklake_metadata_forge', 'DROP TABLE ducklake_snapshot')",
            "SELECT * FROM postgres_scan('host=127.0.0.1 dbname=postgres', 'public', 'x')",
            "SELECT * FROM query('SELECT * FROM postgres' || '_query(''x'', ''SELECT 1'')')",
            "ATTACH 'postgres:host=127.0.0.1 dbname=postgres' AS pg (TYPE postgres)",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql)
        assert conn.execute("SELECT 42").fetchone() == (42,)


def test_a_catalog_that_cannot_be_opened_stops_the_start_with_a_clear_message(
    tmp_path: Path,
    postgres: PostgresServer,  # noqa: F811
) -> None:
    dsn = f"host=127.0.0.1 port={postgres.port} dbname=no_such_lake user=postgres password=hunter2"
    with pytest.raises(RuntimeError) as failed:
        start_server(tmp_path / "data", config=shared_config(dsn, str(tmp_path / "lake")))
    message = str(failed.value)
    assert "cannot open the lake" in message
    assert "no_such_lake" in message and "does not exist" in message
    assert "hunter2" not in message and "password=***" in message
    assert "Traceback" not in message
