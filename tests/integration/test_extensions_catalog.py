"""Clients see the extensions' functions (pg_proc, information_schema.routines, psql's \\df
and \\df+, forge_functions()); the CLI lists and checks them; a broken file stops the
server before it listens; reloads pick up changed files while sessions stay connected."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from server import RunningServer, start_server
from test_psql import psql

from forge_sql.wire.auth import make_verifier

FIRST = '''
from forge_sql.ext import scalar

@scalar
def tag(s: str, prefix: str = "#") -> str:
    """Prefix a word with a tag sign."""
    return prefix + s
'''
SECOND = '''
from forge_sql.ext import scalar

@scalar
def tag(s: str, prefix: str = "@") -> str:
    """Prefix a word with an at sign."""
    return prefix + s

@scalar
def added(x: int) -> int:
    return x + 1
'''
USERS = "".join(
    f'[users.{name}]\npassword = "{make_verifier("pw")}"\nsuperuser = {str(admin).lower()}\n'
    for name, admin in (("alice", True), ("bob", False))
)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("project")
    (root / "extensions").mkdir()
    (root / "extensions" / "tags.py").write_text(textwrap.dedent(FIRST))
    return root


@pytest.fixture(scope="module")
def lake(project: Path) -> Iterator[RunningServer]:
    # ./extensions of the directory the server starts in is loaded by default.
    running = start_server(project / "data", config=USERS, cwd=project)
    yield running
    running.stop()


def connect(lake: RunningServer, user: str) -> psycopg.Connection:
    return psycopg.connect(lake.dsn(user=user, password="pw"), autocommit=True)


def test_pg_proc_and_routines_list_the_functions(lake: RunningServer) -> None:
    with connect(lake, "bob") as bob:
        row = bob.execute(
            "SELECT p.proname, n.nspname, pg_get_function_arguments(p.oid), "
            "pg_get_function_result(p.oid), p.pronargs, p.pronargdefaults, "
            "p.proargtypes, t.typname, l.lanname, "
            "obj_description(p.oid, 'pg_proc') "
            "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "JOIN pg_type t ON t.oid = p.prorettype "
            "LEFT JOIN pg_language l ON l.oid = p.prolang WHERE p.proname = 'tag'"
        ).fetchall()
        assert row == [("tag", "public", "s character varying, prefix character varying "
                        "DEFAULT '#'", "character varying", 2, 1, "1043 1043", "varchar",
                        "plpython3u", "Prefix a word with a tag sign.")]
        routines = bob.execute(
            "SELECT routine_schema, routine_name, data_type, external_language "
            "FROM information_schema.routines WHERE routine_name = 'tag'"
        ).fetchall()
        assert routines == [("public", "tag", "character varying", "PYTHON")]
        listed = bob.execute(
            "SELECT name, kind, signature, extension, source FROM forge_functions() "
            "WHERE name = 'tag'"
        ).fetchall()
        assert listed[0][:4] == ("tag", "scalar", "tag(s VARCHAR, prefix VARCHAR DEFAULT '#')",
                                 "tags")
        assert listed[0][4].endswith("tags.py:4")


def test_psql_df_lists_them_with_docstrings(lake: RunningServer, psql_installed: str) -> None:
    dsn = lake.dsn(user="bob", password="pw")
    done = psql(lake, "-v", "ON_ERROR_STOP=1", "-c", "\\df tag", dsn=dsn)
    assert done.returncode == 0, done.stderr
    assert "tag" in done.stdout and "character varying" in done.stdout
    assert "prefix character varying DEFAULT '#'" in done.stdout
    done = psql(lake, "-v", "ON_ERROR_STOP=1", "-c", "\\df+ tag", dsn=dsn)
    assert done.returncode == 0, done.stderr
    assert "Prefix a word with a tag sign." in done.stdout
    assert "plpython3u" in done.stdout


def test_reload_by_call_and_by_sighup(lake: RunningServer, project: Path) -> None:
    source = project / "extensions" / "tags.py"
    with connect(lake, "alice") as alice, connect(lake, "bob") as bob:
        assert bob.execute("SELECT tag('x')").fetchone() == ("#x",)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bob.execute("CALL forge_reload_extensions()")
        source.write_text(textwrap.dedent(SECOND))
        alice.execute("CALL forge_reload_extensions()")
        assert bob.execute("SELECT tag('x'), added(1)").fetchone() == ("@x", 2)
        assert bob.execute(
            "SELECT obj_description(oid, 'pg_proc') FROM pg_proc WHERE proname = 'tag'"
        ).fetchone() == ("Prefix a word with an at sign.",)
        # A broken file: the reload fails with file:line, the running functions stay.
        source.write_text("from forge_sql.ext import scalar\n\n@scalar\ndef bad(x): ...\n")
        with pytest.raises(psycopg.errors.InvalidFunctionDefinition) as caught:
            alice.execute("CALL forge_reload_extensions()")
        assert f"{source}:3" in str(caught.value)
        assert bob.execute("SELECT tag('y')").fetchone() == ("@y", )
        # SIGHUP reloads too.
        source.write_text(textwrap.dedent(FIRST))
        lake.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 30
        while bob.execute("SELECT tag('z')").fetchone() != ("#z",):
            assert time.monotonic() < deadline, "SIGHUP did not reload the extensions"
            time.sleep(0.1)
        with pytest.raises(psycopg.errors.UndefinedFunction):
            bob.execute("SELECT added(1)")


def forge_sql(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "forge_sql", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "FORGE_SQL_EXTENSIONS": ""})


BROKEN = [
    ("syntax.py", "def f(:\n", 1, "syntax error"),
    ("imports.py", "x = 1\nimport not_a_module_anywhere\n", 2, "ModuleNotFoundError"),
    ("decorator.py", "from forge_sql.ext import scalar\n\n@scalar(volatility='sometimes')\n"
     "def f(x: int) -> int:\n    return x\n", 3, "volatility"),
]


@pytest.mark.parametrize(("name", "text", "line", "reason"), BROKEN)
def test_a_broken_file_stops_serve_and_check(tmp_path: Path, name: str, text: str,
                                             line: int, reason: str) -> None:
    (tmp_path / "extensions").mkdir()
    path = tmp_path / "extensions" / name
    path.write_text(text)
    with pytest.raises(RuntimeError) as caught:
        start_server(tmp_path / "data", cwd=tmp_path)
    assert f"{path}:{line}" in str(caught.value) and reason in str(caught.value)
    assert "listening" not in str(caught.value)
    done = forge_sql("extensions", "check", cwd=tmp_path)
    assert done.returncode == 1
    assert f"{path}:{line}" in done.stderr and reason in done.stderr
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "V1__t.sql").write_text("CREATE TABLE t (a INTEGER);\n")
    done = forge_sql("migrate", "--dir", "migrations", "--data-dir", "data", cwd=tmp_path)
    assert done.returncode != 0
    assert f"{path}:{line}" in done.stdout + done.stderr


def test_duplicate_functions_across_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "extensions").mkdir()
    for name in ("one", "two"):
        (tmp_path / "extensions" / f"{name}.py").write_text(
            "from forge_sql.ext import scalar\n\n@scalar\ndef same(x: int) -> int:\n"
            "    return x\n"
        )
    done = forge_sql("extensions", "check", cwd=tmp_path)
    assert done.returncode == 1
    assert f"{tmp_path / 'extensions' / 'two.py'}:3" in done.stderr
    assert "already declared at" in done.stderr and "one.py:3" in done.stderr


def test_list_json_and_new(tmp_path: Path) -> None:
    done = forge_sql("extensions", "new", "demo", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "extensions" / "test_demo.py").exists()
    done = forge_sql("extensions", "list", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    listed = {f["name"]: f for f in json.loads(done.stdout)}
    assert listed["demo_greet"]["kind"] == "scalar"
    assert listed["demo_greet"]["returns"] == "VARCHAR"
    assert listed["demo_numbers"]["kind"] == "table"
    assert listed["demo_numbers"]["columns"] == [
        {"name": "n", "type": "BIGINT"}, {"name": "square", "type": "BIGINT"}]
    test = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "test_demo.py"], cwd=tmp_path / "extensions",
                          capture_output=True, text=True, timeout=120)
    assert test.returncode == 0, test.stdout
    done = forge_sql("extensions", "new", "demo", cwd=tmp_path)
    assert done.returncode == 1 and "exists" in done.stderr


def test_reloads_while_sessions_call_the_functions(lake: RunningServer, project: Path) -> None:
    """Sessions calling a function while it is reloaded get the old or the new result,
    never an error, and the server keeps running."""
    import threading

    source = project / "extensions" / "tags.py"
    source.write_text(textwrap.dedent(FIRST))
    with connect(lake, "alice") as alice:
        alice.execute("CALL forge_reload_extensions()")
    stop = threading.Event()
    seen: list[str] = []
    failures: list[BaseException] = []

    def call() -> None:
        try:
            with connect(lake, "bob") as bob:
                while not stop.is_set():
                    row = bob.execute(
                        "SELECT max(tag(range::VARCHAR)) FROM range(2000)").fetchone()
                    assert row is not None
                    seen.append(row[0][0])
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=call) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        with connect(lake, "alice") as alice:
            for text in (SECOND, FIRST, SECOND):
                source.write_text(textwrap.dedent(text))
                alice.execute("CALL forge_reload_extensions()")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert not failures, failures
    assert set(seen) <= {"#", "@"} and seen
    with connect(lake, "bob") as bob:
        assert bob.execute("SELECT tag('x')").fetchone() == ("@x",)
    assert lake.process.poll() is None


def implementations(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT count(*) FROM duckdb_functions() "
                       "WHERE function_name LIKE 'forge_ext_%'").fetchone()
    assert row is not None
    return int(row[0])


def test_reloads_reclaim_the_replaced_implementations(lake: RunningServer,
                                                      project: Path) -> None:
    """A reload's replaced implementations are removed once no transaction that began
    before it is open: repeated reloads do not add functions without bound."""
    source = project / "extensions" / "tags.py"
    source.write_text(textwrap.dedent(SECOND))
    with connect(lake, "alice") as alice, connect(lake, "bob") as bob:
        alice.execute("CALL forge_reload_extensions()")
        alice.execute("CALL forge_reload_extensions()")
        settled = implementations(alice)
        for _ in range(5):
            alice.execute("CALL forge_reload_extensions()")
        assert implementations(alice) == settled
        # A transaction open across reloads keeps what it may still run.
        bob.execute("BEGIN")
        assert bob.execute("SELECT tag('x')").fetchone() == ("@x",)
        for _ in range(3):
            alice.execute("CALL forge_reload_extensions()")
        assert implementations(alice) > settled
        assert bob.execute("SELECT tag('y'), added(1)").fetchone() == ("@y", 2)
        bob.execute("COMMIT")
        alice.execute("CALL forge_reload_extensions()")
        assert implementations(alice) == settled
        assert bob.execute("SELECT tag('z')").fetchone() == ("@z",)
