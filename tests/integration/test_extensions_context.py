"""The Context's tools for long work, through a real server: ``ctx.query`` (one read-only
query as the calling user, table functions only), ``ctx.progress`` in pg_stat_activity,
``ctx.check_cancel`` (cancel and statement_timeout: 57014) and ``ctx.storage``."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from server import RunningServer, start_server

from forge_sql.wire.auth import make_verifier

EXTENSION = '''
import time

from forge_sql.ext import Context, scalar, table


@table(columns={"n": "BIGINT"})
def run_query(sql: str, *, ctx: Context):
    return ctx.query(sql).read_all()


@table(columns={"n": "BIGINT"})
def late_query(*, ctx: Context):
    yield {"n": 1}
    yield from ctx.query("SELECT 2 AS n").read_all().to_pylist()


@scalar(volatility="volatile")
def scalar_query(x: int, *, ctx: Context) -> int:
    return ctx.query("SELECT 1 AS n").read_all().num_rows


@table(columns={"n": "BIGINT"})
def busy(seconds: float, *, ctx: Context):
    end, steps = time.monotonic() + seconds, 0
    while time.monotonic() < end:
        ctx.progress(steps, 1000, "busy")
        ctx.check_cancel()
        time.sleep(0.02)
        steps += 1
    return [{"n": steps}]


@scalar(volatility="volatile")
def keep(text: str, *, ctx: Context) -> str:
    path = ctx.storage / "kept.txt"
    path.write_text(text)
    return str(path)
'''


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    root = tmp_path_factory.mktemp("context")
    (root / "ext").mkdir()
    (root / "ext" / "tools.py").write_text(EXTENSION)
    config = (f"extensions = [{str(root / 'ext')!r}]\n"
              "[maintenance]\ninterval = 0\nat_startup = false\n"
              + "".join(f'[users.{n}]\npassword = "{make_verifier("pw")}"\n'
                        f"superuser = {str(a).lower()}\n"
                        for n, a in (("alice", True), ("bob", False))))
    running = start_server(root / "data", config=config)
    with psycopg.connect(running.dsn(user="alice", password="pw"), autocommit=True) as conn:
        conn.execute("CREATE TABLE shared AS SELECT range AS n FROM range(5)")
        conn.execute("CREATE TABLE private AS SELECT range AS n FROM range(3)")
        conn.execute("GRANT SELECT ON shared TO bob")
    yield running
    running.stop()


@pytest.fixture
def bob(lake: RunningServer) -> Iterator[psycopg.Connection]:
    with psycopg.connect(lake.dsn(user="bob", password="pw"), autocommit=True) as conn:
        yield conn


def test_query_runs_as_the_calling_user(bob: psycopg.Connection) -> None:
    assert bob.execute("SELECT * FROM run_query('SELECT count(*) AS n FROM shared')"
                       ).fetchall() == [(5,)]
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        bob.execute("SELECT * FROM run_query('SELECT count(*) AS n FROM private')")
    assert bob.execute("SELECT 1").fetchone() == (1,)


def test_query_sees_the_callers_transaction(bob: psycopg.Connection, lake: RunningServer
                                            ) -> None:
    with psycopg.connect(lake.dsn(user="alice", password="pw")) as alice:
        alice.execute("CREATE TABLE mine AS SELECT 1 AS n")
        assert alice.execute("SELECT * FROM run_query('SELECT count(*) AS n FROM mine')"
                             ).fetchall() == [(1,)]
        alice.rollback()


@pytest.mark.parametrize(("sql", "sqlstate"), [
    ("DELETE FROM shared", "25006"),
    ("CREATE TABLE x (n INT)", "25006"),
    ("SELECT 1 AS n; SELECT 2 AS n", "42601"),
])
def test_query_is_one_read_only_statement(bob: psycopg.Connection, sql: str,
                                          sqlstate: str) -> None:
    with pytest.raises(psycopg.Error) as caught:
        bob.execute("SELECT * FROM run_query(%s)", (sql,))
    assert caught.value.sqlstate == sqlstate
    assert bob.execute("SELECT count(*) FROM shared").fetchone() == (5,)


def test_query_after_the_first_row_or_in_a_scalar_is_refused(bob: psycopg.Connection) -> None:
    with pytest.raises(psycopg.Error) as caught:
        bob.execute("SELECT * FROM late_query()").fetchall()
    assert caught.value.sqlstate == "0A000"
    with pytest.raises(psycopg.Error) as caught:
        bob.execute("SELECT scalar_query(1)").fetchall()
    assert caught.value.sqlstate == "0A000"
    assert bob.execute("SELECT 1").fetchone() == (1,)


def test_progress_is_shown_and_cancel_stops_the_work(bob: psycopg.Connection,
                                                     lake: RunningServer) -> None:
    seen: list[tuple[object, ...]] = []
    with psycopg.connect(lake.dsn(user="alice", password="pw"), autocommit=True) as watcher:
        pid = bob.info.backend_pid

        def watch() -> None:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                row = watcher.execute("SELECT wait_event_type, wait_event FROM "
                                      "pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
                if row and row[0] == "Extension":
                    seen.append(row)
                    bob.cancel()
                    return
                time.sleep(0.05)

        thread = threading.Thread(target=watch)
        thread.start()
        began = time.monotonic()
        with pytest.raises(psycopg.errors.QueryCanceled):
            bob.execute("SELECT * FROM busy(60)").fetchall()
        thread.join()
    assert time.monotonic() - began < 30
    assert seen and str(seen[0][1]).startswith("busy ")
    assert bob.execute("SELECT 1").fetchone() == (1,)
    row = bob.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = "
                      "pg_backend_pid()").fetchone()
    assert row == (None,)  # the progress ends with the statement


def test_statement_timeout_stops_the_work(bob: psycopg.Connection) -> None:
    bob.execute("SET statement_timeout = 300")
    began = time.monotonic()
    with pytest.raises(psycopg.errors.QueryCanceled) as caught:
        bob.execute("SELECT * FROM busy(30)").fetchall()
    assert time.monotonic() - began < 10
    assert "statement timeout" in str(caught.value)
    bob.execute("RESET statement_timeout")


def test_storage_is_a_directory_per_extension(bob: psycopg.Connection,
                                              lake: RunningServer) -> None:
    path = Path(bob.execute("SELECT keep('hello')").fetchone()[0])  # type: ignore[index]
    assert path.parent == lake.data_dir / "lake" / "_forge_extensions" / "tools"
    assert path.read_text() == "hello"
