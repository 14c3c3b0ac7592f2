"""Syncs declared in a YAML migration and run by CALL forge_sync through a real server,
reading a JSON API on loopback: merge by key with a cursor and lookback, replace, the
drift policies, throttling and failures recorded in the run history, preview, full
refresh, and a failed run that leaves the rows and the cursor as they were."""

from __future__ import annotations

import json
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from http_api import Api, running_api
from server import RunningServer, start_server

from forge_sql.cli import main

SOURCES = '''
from forge_sql.ext import Context, source


@source(columns={"id": "BIGINT", "name": "VARCHAR", "updated_at": "BIGINT"},
        primary_key="id", cursor="updated_at")
def items(since: int = 0, per_page: int = 10, *, ctx: Context):
    """The API's items changed since a cursor value, page by page."""
    yield from ctx.http.paginate(ctx.settings["base_url"] + "/pages",
                                 params={"since": since, "per_page": per_page},
                                 paginator="page", records="data")


@source(columns={"id": "BIGINT", "day": "DATE"})
def keyless(*, ctx: Context):
    """Rows without a declared primary key or cursor."""
    yield {"id": 1, "day": "2026-01-01"}
'''
MIGRATION = '''
syncs:
  - name: items_sync
    source: items
    into: synced.items
    mode: merge
    lookback: 2
    schedule: "*/5 * * * *"
  - name: items_copy
    source: items
    args: {per_page: 7}
    into: items_copy
    mode: replace
  - name: frozen
    source: items
    into: narrow_frozen
    drift: freeze
  - name: discarding
    source: items
    into: narrow_discard
    drift: discard
  - name: evolving
    source: items
    into: narrow_evolve
'''


@pytest.fixture(scope="module")
def api() -> Iterator[Api]:
    with running_api() as running:
        running.set_items(25)
        yield running


@pytest.fixture(scope="module")
def lake(api: Api, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    root = tmp_path_factory.mktemp("syncs")
    (root / "extensions").mkdir()
    (root / "extensions" / "api_sources.py").write_text(textwrap.dedent(SOURCES))
    (root / "migrations").mkdir()
    (root / "migrations" / "V1__syncs.yaml").write_text(textwrap.dedent(MIGRATION))
    config = textwrap.dedent(f'''
        [extension_settings.api_sources]
        base_url = "{api.base}"
        http_retries = 2
    ''')
    running = start_server(root / "data", config=config, cwd=root)
    result = CliRunner().invoke(main, ["migrate", "--dir", str(root / "migrations"),
                                       "--url", running.url()])
    assert result.exit_code == 0, result.output
    yield running
    running.stop()


@pytest.fixture
def conn(lake: RunningServer) -> Iterator[psycopg.Connection]:
    with psycopg.connect(lake.dsn(), autocommit=True) as connection:
        yield connection


def sync(conn: psycopg.Connection, call: str) -> dict[str, tuple[int | None, str | None]]:
    rows = conn.execute(f"CALL {call}").fetchall()
    return {action: (count, detail) for action, count, detail in rows}


def last_run(conn: psycopg.Connection, name: str) -> dict[str, object]:
    cursor = conn.execute(
        "SELECT * FROM forge_meta.sync_runs WHERE name = %s ORDER BY run_id DESC LIMIT 1",
        (name,),
    )
    row = cursor.fetchone()
    assert row is not None
    return dict(zip([c.name for c in cursor.description or ()], row, strict=True))


def test_the_migration_records_the_syncs_and_their_schedule(conn: psycopg.Connection) -> None:
    rows = conn.execute("SELECT name, schedule FROM forge_meta.syncs ORDER BY name").fetchall()
    assert rows == [("discarding", None), ("evolving", None), ("frozen", None),
                    ("items_copy", None), ("items_sync", "*/5 * * * *")]


def test_merge_with_cursor_and_lookback(conn: psycopg.Connection, api: Api) -> None:
    api.set_items(25)
    first = sync(conn, "forge_sync('items_sync')")
    assert first["read"][0] == 25 and first["inserted"][0] == 25
    assert first["cursor"] == (None, "25")
    # Two items change (their cursor moves on), one is new, one arrives late with an old
    # cursor value inside the lookback.
    api.items[2] = {"id": 3, "name": "item 3 changed", "updated_at": 26}
    api.items[23] = {"id": 24, "name": "item 24 late", "updated_at": 24}
    api.items.append({"id": 26, "name": "item 26", "updated_at": 27})
    api.hits.clear()
    second = sync(conn, "forge_sync('items_sync')")
    # Read from 25 - 2 = 23: items 23, 24 (late), 25, 3 (changed) and 26.
    assert second["read"][0] == 5
    assert (second["inserted"][0], second["updated"][0]) == (1, 4)
    assert second["cursor"] == (None, "27")
    rows = conn.execute("SELECT count(*), count(DISTINCT id), max(updated_at) "
                        "FROM synced.items").fetchone()
    assert rows == (26, 26, 27)
    names = conn.execute("SELECT name FROM synced.items WHERE id IN (3, 24) ORDER BY id")
    assert names.fetchall() == [("item 3 changed",), ("item 24 late",)]
    run = last_run(conn, "items_sync")
    assert (run["status"], run["rows_read"], run["cursor_from"], run["cursor_to"]) == (
        "succeeded", 5, "23", "27")
    state = conn.execute("SELECT cursor_value, cursor_type FROM forge_meta.sync_state "
                         "WHERE name = 'items_sync'").fetchone()
    assert state == ("27", "BIGINT")


def test_throttling_is_retried_and_counted(conn: psycopg.Connection, api: Api) -> None:
    api.failing("/pages", (429, {"Retry-After": "1"}))
    result = sync(conn, "forge_sync('items_copy')")
    assert result["read"][0] == len(api.items)
    run = last_run(conn, "items_copy")
    assert (run["throttled"], run["retries"]) == (1, 1)
    assert run["pages"] == -(-len(api.items) // 7) + 1  # the last page is the empty one


def test_a_failed_run_changes_nothing_and_is_recorded(
    conn: psycopg.Connection, api: Api
) -> None:
    sync(conn, "forge_sync('items_sync')")
    before = conn.execute("SELECT count(*), max(updated_at) FROM synced.items").fetchone()
    cursor = conn.execute("SELECT cursor_value FROM forge_meta.sync_state "
                          "WHERE name = 'items_sync'").fetchone()
    api.items.append({"id": 99, "name": "never seen", "updated_at": 99})
    api.failing("/pages", (0, {}), *[(500, {"Retry-After": "0"})] * 3)
    with pytest.raises(psycopg.errors.ExternalRoutineException, match="HTTP 500"):
        conn.execute("CALL forge_sync('items_sync')")
    assert conn.execute("SELECT count(*), max(updated_at) FROM synced.items").fetchone() \
        == before
    assert conn.execute("SELECT cursor_value FROM forge_meta.sync_state "
                        "WHERE name = 'items_sync'").fetchone() == cursor
    run = last_run(conn, "items_sync")
    assert run["status"] == "failed" and "HTTP 500" in str(run["error"])
    # The next run resumes from the same cursor.
    result = sync(conn, "forge_sync('items_sync')")
    assert result["cursor"] == (None, "99")
    assert conn.execute("SELECT count(*) FROM synced.items WHERE id = 99").fetchone() == (1,)
    api.items.pop()


def test_replace_and_full_refresh(conn: psycopg.Connection, api: Api) -> None:
    api.set_items(12)
    result = sync(conn, "forge_sync('items_copy')")
    assert result["deleted"][0] is not None
    assert conn.execute("SELECT count(*) FROM items_copy").fetchone() == (12,)
    api.set_items(30)
    full = sync(conn, "forge_sync('items_sync', full_refresh => true)")
    assert full["read"][0] == 30
    assert conn.execute("SELECT count(*), count(DISTINCT id) FROM synced.items").fetchone() \
        == (30, 30)
    assert last_run(conn, "items_sync")["full_refresh"] is True


def test_preview_reads_without_writing(conn: psycopg.Connection, api: Api) -> None:
    before = conn.execute("SELECT count(*) FROM forge_meta.sync_runs").fetchone()
    rows = conn.execute("CALL forge_sync('items_copy', preview => true)").fetchall()
    assert len(rows) == 10 and rows[0][0] == "preview" and '"id": 1' in rows[0][2]
    assert conn.execute("SELECT count(*) FROM forge_meta.sync_runs").fetchone() == before


def test_drift_policies(conn: psycopg.Connection, api: Api) -> None:
    api.set_items(5)
    for table in ("narrow_frozen", "narrow_discard", "narrow_evolve"):
        conn.execute(f"CREATE TABLE {table} (id INTEGER, name VARCHAR)")
    with pytest.raises(psycopg.errors.UndefinedColumn, match="drift: freeze"):
        conn.execute("CALL forge_sync('frozen')")
    assert conn.execute("SELECT count(*) FROM narrow_frozen").fetchone() == (0,)
    sync(conn, "forge_sync('discarding')")
    assert [c.name for c in conn.execute("SELECT * FROM narrow_discard").description or ()] \
        == ["id", "name"]
    sync(conn, "forge_sync('evolving')")
    cursor = conn.execute("SELECT * FROM narrow_evolve ORDER BY id")
    assert [c.name for c in cursor.description or ()] == ["id", "name", "updated_at"]
    types = conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = 'narrow_evolve' ORDER BY ordinal_position").fetchall()
    assert types[0] == ("id", "bigint")  # widened from integer
    assert cursor.fetchall()[0] == (1, "item 1", 1)


def test_bad_calls(conn: psycopg.Connection) -> None:
    with pytest.raises(psycopg.errors.UndefinedObject, match='sync "nope" does not exist'):
        conn.execute("CALL forge_sync('nope')")
    with pytest.raises(psycopg.errors.SyntaxError, match="usage: CALL forge_sync"):
        conn.execute("CALL forge_sync(1)")
    with conn.transaction(), pytest.raises(psycopg.errors.ActiveSqlTransaction):
        conn.execute("CALL forge_sync('items_sync')")
    assert conn.execute("SELECT 1").fetchone() == (1,)


def test_migrate_down_removes_the_syncs(lake: RunningServer) -> None:
    directory = lake.data_dir.parent / "migrations"
    (directory / "V2__one.yaml").write_text(textwrap.dedent('''
        syncs:
          - {name: temporary, source: items, into: temporary_items, mode: append}
    '''))
    runner = CliRunner()
    plan = runner.invoke(main, ["migrate", "plan", "--dir", str(directory), "--url", lake.url()])
    assert "INSERT INTO forge_meta.syncs" in plan.output and "V2__one.yaml" in plan.output
    assert runner.invoke(main, ["migrate", "--dir", str(directory), "--url", lake.url()]
                         ).exit_code == 0
    with psycopg.connect(lake.dsn(), autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM forge_meta.syncs WHERE name = 'temporary'"
                            ).fetchone() == (1,)
    down = runner.invoke(main, ["migrate", "down", "--to", "1", "--dir", str(directory),
                                "--url", lake.url()])
    assert down.exit_code == 0, down.output
    with psycopg.connect(lake.dsn(), autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM forge_meta.syncs WHERE name = 'temporary'"
                            ).fetchone() == (0,)


def test_cli_runs_a_sync_through_the_server(lake: RunningServer, api: Api) -> None:
    api.set_items(9)
    runner = CliRunner()
    result = runner.invoke(main, ["sync", "run", "items_copy", "--url", lake.url()])
    assert result.exit_code == 0, result.output
    assert "read" in result.output and "9" in result.output
    status = runner.invoke(main, ["sync", "status", "--json", "--url", lake.url()])
    assert status.exit_code == 0, status.output
    records = {r["name"]: r for r in json.loads(status.stdout)}
    assert records["items_copy"]["last_status"] == "succeeded"
    assert records["items_sync"]["schedule"] == "*/5 * * * *"
    missing = runner.invoke(main, ["sync", "run", "nope", "--url", lake.url()])
    assert missing.exit_code == 1 and 'sync "nope" does not exist' in missing.output


def test_cli_runs_a_sync_offline(api: Api, tmp_path: Path) -> None:
    api.set_items(4)
    (tmp_path / "extensions").mkdir()
    (tmp_path / "extensions" / "api_sources.py").write_text(textwrap.dedent(SOURCES))
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "V1__syncs.yaml").write_text(textwrap.dedent(MIGRATION))
    config = tmp_path / "forge.toml"
    config.write_text(f'[extension_settings.api_sources]\nbase_url = "{api.base}"\n')
    where = ["--dir", str(tmp_path / "migrations"), "--data-dir", str(tmp_path / "data"),
             "--config", str(config)]
    runner = CliRunner()
    assert runner.invoke(main, ["migrate", *where]).exit_code == 0
    result = runner.invoke(main, ["sync", "run", "items_sync", *where])
    assert result.exit_code == 0, result.output
    status = runner.invoke(main, ["sync", "status", *where])
    assert "items_sync: succeeded" in status.output and "cursor 4" in status.output


def test_views_of_syncs_and_runs(conn: psycopg.Connection, api: Api) -> None:
    api.set_items(3)
    sync(conn, "forge_sync('items_copy')")
    row = conn.execute("SELECT source, target, mode, schedule FROM forge_syncs "
                       "WHERE name = 'items_sync'").fetchone()
    assert row == ("items", "synced.items", "merge", "*/5 * * * *")
    run = conn.execute("SELECT status, rows_read, rows_inserted, pages, error "
                       "FROM forge_sync_runs WHERE name = 'items_copy' "
                       "ORDER BY started DESC LIMIT 1").fetchone()
    assert run == ("succeeded", 3, 3, 2, None)


def _until(check: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _relation_locks(conn: psycopg.Connection, table: str) -> list[tuple[int, str, bool]]:
    return conn.execute(
        "SELECT l.pid, l.mode, l.granted FROM pg_locks l JOIN pg_class c "
        "ON c.oid = l.relation WHERE c.relname = %s ORDER BY l.granted DESC", (table,)
    ).fetchall()


def test_a_sync_and_a_client_writer_queue_on_the_table_lock(
    lake: RunningServer, conn: psycopg.Connection, api: Api
) -> None:
    api.set_items(30)
    sync(conn, "forge_sync('items_sync', full_refresh => true)")
    outcome: dict[str, object] = {}

    def run_sync(call: str) -> None:
        try:
            with psycopg.connect(lake.dsn(), autocommit=True) as own:
                outcome["pid"] = own.info.backend_pid
                outcome["result"] = sync(own, call)
        except Exception as exc:  # reported by the assertions below
            outcome["error"] = exc

    # A client's transaction writes first: the sync waits for it, as a client would.
    with psycopg.connect(lake.dsn()) as client:
        client.execute("INSERT INTO synced.items VALUES (1000, 'client', 0)")
        with psycopg.connect(lake.dsn(), autocommit=True) as hasty:
            hasty.execute("SET lock_timeout = '200ms'")
            with pytest.raises(psycopg.errors.LockNotAvailable, match="lock timeout"):
                hasty.execute("CALL forge_sync('items_sync')")
        failed = last_run(conn, "items_sync")
        assert failed["status"] == "failed" and "lock timeout" in str(failed["error"])
        api.items.append({"id": 31, "name": "item 31", "updated_at": 31})
        thread = threading.Thread(target=run_sync, args=("forge_sync('items_sync')",))
        thread.start()
        _until(lambda: "pid" in outcome and conn.execute(
            "SELECT wait_event_type, wait_event FROM pg_stat_activity WHERE pid = %s",
            (outcome["pid"],)).fetchone() == ("Lock", "relation"))
        assert _relation_locks(conn, "items") == [
            (client.info.backend_pid, "ExclusiveLock", True),
            (outcome["pid"], "ExclusiveLock", False),
        ]
        client.commit()
    thread.join(30)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["result"]["inserted"][0] == 1  # type: ignore[index]
    assert last_run(conn, "items_sync")["status"] == "succeeded"
    # The sync writes first (its pages come slowly): the client's INSERT waits for it.
    outcome.clear()
    runs = conn.execute("SELECT count(*) FROM forge_meta.sync_runs").fetchone()
    api.delay = 0.3
    try:
        thread = threading.Thread(target=run_sync,
                                  args=("forge_sync('items_sync', full_refresh => true)",))
        thread.start()
        _until(lambda: "pid" in outcome and (outcome["pid"], "ExclusiveLock", True)
               in _relation_locks(conn, "items"))
        with psycopg.connect(lake.dsn(), autocommit=True) as client:
            client.execute("INSERT INTO synced.items VALUES (1001, 'client', 0)")
            # It waited for the sync's commit (the run's record commits with its rows).
            assert client.execute("SELECT count(*) FROM forge_meta.sync_runs").fetchone() \
                == (runs[0] + 1,)  # type: ignore[index]
    finally:
        api.delay = 0
        thread.join(30)
    assert "error" not in outcome, outcome.get("error")
    assert last_run(conn, "items_sync")["status"] == "succeeded"
    # The full refresh removed row 1000; row 1001 came after it.
    assert conn.execute("SELECT count(*), count(DISTINCT id), count(*) FILTER (id >= 1000) "
                        "FROM synced.items").fetchone() == (32, 32, 1)
    assert _relation_locks(conn, "items") == []
    conn.execute("DELETE FROM synced.items WHERE id >= 1000")
    api.items.pop()


BAD_DECLARATIONS = """\
syncs:
  - name: no_source
    source: nowhere
    into: t1
  - name: bad_key
    source: items
    into: t2
    primary_key: [nope]
  - name: bad_cursor
    source: items
    into: t3
    cursor: nope
    mode: replace
  - name: bad_args
    source: items
    args: {colour: red}
    into: t4
  - name: bad_lookback
    source: items
    into: t5
    lookback: 1 hour
  - name: no_key
    source: keyless
    into: t6
  - name: no_connection
    connection: crm
    query: SELECT 1 AS id
    primary_key: [id]
    into: t7
  - name: fine
    source: items
    into: t8
    lookback: 2
jobs:
  - name: broken
    schedule: "0 3 * * *"
    command: SELEC 1
    run_as: nobody
  - name: orphan
    after: nothing
    command: SELECT 1
"""


def test_validate_checks_syncs_and_jobs(lake: RunningServer, tmp_path: Path) -> None:
    directory = tmp_path / "migrations"
    directory.mkdir()
    (directory / "V1__syncs.yaml").write_text(textwrap.dedent(MIGRATION))
    (directory / "V9__bad.yaml").write_text(BAD_DECLARATIONS)
    result = CliRunner().invoke(main, ["migrate", "validate", "--json", "--dir",
                                       str(directory), "--url", lake.url()])
    assert result.exit_code == 1, result.output
    problems = [p["message"] for p in json.loads(result.stdout)["problems"]
                if p["message"].startswith("V9")]  # V1's depend on the tests run before
    expected = [
        'V9__bad.yaml:2: sync "no_source": source nowhere is not loaded',
        'V9__bad.yaml:5: sync "bad_key": nope is not a column of source items',
        'V9__bad.yaml:9: sync "bad_cursor": nope is not a column of source items',
        'V9__bad.yaml:14: sync "bad_args": source items has no argument colour',
        "V9__bad.yaml:18: sync \"bad_lookback\": lookback '1 hour' does not apply to "
        "cursor updated_at of type BIGINT",
        'V9__bad.yaml:22: sync "no_key": mode merge needs a primary key',
        'V9__bad.yaml:25: sync "no_connection": connection "crm" is not configured',
        'V9__bad.yaml:35: job broken: command: syntax error at or near "SELEC"',
        'V9__bad.yaml:35: job broken: run_as: role "nobody" does not exist',
        'V9__bad.yaml:39: job orphan: after: no job named "nothing" is declared or scheduled',
    ]
    assert problems == expected, "\n".join(problems)
    # What the file alone shows is refused when it loads, with file:line:column.
    (directory / "V9__bad.yaml").write_text(
        "syncs:\n  - {name: s, source: items, into: t, schedule: every day}\n")
    result = CliRunner().invoke(main, ["migrate", "validate", "--dir", str(directory),
                                       "--url", lake.url()])
    assert result.exit_code != 0
    assert "V9__bad.yaml:2:" in result.output and "invalid schedule: every day" in result.output


def test_a_long_retry_after_ends_at_cancel_and_statement_timeout(
    conn: psycopg.Connection, api: Api
) -> None:
    api.set_items(5)
    # A live call of the source, under statement_timeout.
    api.failing("/pages", (429, {"Retry-After": "60"}))
    conn.execute("SET statement_timeout = '1s'")
    started = time.monotonic()
    try:
        with pytest.raises(psycopg.errors.QueryCanceled, match="statement timeout"):
            conn.execute("SELECT * FROM items()").fetchall()
    finally:
        conn.execute("RESET statement_timeout")
    assert time.monotonic() - started < 5  # not the 60 s asked for (a loaded machine)
    # A sync run, canceled by the client after a second.
    api.failing("/pages", (429, {"Retry-After": "60"}))
    before = conn.execute("SELECT count(*) FROM forge_meta.sync_runs").fetchone()
    timer = threading.Timer(1.0, conn.cancel)
    started = time.monotonic()
    timer.start()
    with pytest.raises(psycopg.errors.QueryCanceled, match="user request"):
        conn.execute("CALL forge_sync('items_copy')")
    assert time.monotonic() - started < 5
    timer.join()
    run = last_run(conn, "items_copy")
    assert run["status"] == "failed" and "user request" in str(run["error"])
    assert conn.execute("SELECT count(*) FROM forge_meta.sync_runs").fetchone() == (
        before[0] + 1,)  # type: ignore[index]
    api.fail.clear()


def test_a_key_read_twice_in_a_run_keeps_its_newest_row(
    conn: psycopg.Connection, api: Api
) -> None:
    api.set_items(4)
    # Key 2 comes three times (the newest cursor wins), key 3 twice with one cursor value
    # (the last read wins); the others once, which the merge takes without deduplicating.
    api.items += [{"id": 2, "name": "newest", "updated_at": 9},
                  {"id": 2, "name": "older", "updated_at": 5},
                  {"id": 3, "name": "first", "updated_at": 6},
                  {"id": 3, "name": "last", "updated_at": 6}]
    result = sync(conn, "forge_sync('items_sync', full_refresh => true)")
    assert (result["read"][0], result["inserted"][0], result["updated"][0]) == (8, 4, 0)
    assert conn.execute("SELECT id, name FROM synced.items ORDER BY id").fetchall() == [
        (1, "item 1"), (2, "newest"), (3, "last"), (4, "item 4")]
    api.set_items(4)
    api.items[0]["name"] = "changed"
    result = sync(conn, "forge_sync('items_sync')")  # from 9 - 2: no item is read again
    assert (result["read"][0], result["inserted"][0], result["updated"][0]) == (0, 0, 0)
    api.items[0]["updated_at"] = 10
    result = sync(conn, "forge_sync('items_sync')")
    assert (result["read"][0], result["inserted"][0], result["updated"][0]) == (1, 0, 1)
    assert conn.execute("SELECT name FROM synced.items WHERE id = 1").fetchone() == (
        "changed",)


def test_plan_flags_a_replace_sync_of_a_big_table(
    lake: RunningServer, conn: psycopg.Connection, tmp_path: Path
) -> None:
    conn.execute("CREATE TABLE big_copy AS SELECT range AS id FROM range(1000000)")
    directory = tmp_path / "migrations"
    directory.mkdir()
    (directory / "V1__syncs.yaml").write_text(textwrap.dedent(MIGRATION))
    (directory / "V9__big.yaml").write_text(
        "syncs:\n  - {name: big, source: items, into: big_copy, mode: replace}\n")
    result = CliRunner().invoke(main, ["migrate", "plan", "--json", "--dir", str(directory),
                                       "--url", lake.url()])
    assert result.exit_code == 0, result.output
    findings = [f for step in json.loads(result.stdout)["pending"] for f in step["findings"]]
    assert {"risk": "data-dependent", "line": 2, "summary": "sync big: mode replace rewrites "
            "the 1,000,000 rows of big_copy at each run; use merge with a cursor"} in findings
    conn.execute("DROP TABLE big_copy")
