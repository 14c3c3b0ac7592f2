"""Scalar extension functions through a real server: row-wise and vectorized, overloads,
defaults and named arguments, NULL handling, volatility, Context, superuser-only, errors
(SQLSTATE, DETAIL with file:line, traceback for superusers only), in the simple, extended
and binary protocols."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from server import RunningServer, start_server

from forge_sql.wire.auth import make_verifier

FUNCTIONS = Path(__file__).parent / "extensions_fixture"
SOURCE = FUNCTIONS / "functions.py"
CONFIG = (
    f"extensions = [{str(FUNCTIONS)!r}]\n"
    "[extension_settings.functions]\ngreeting = 'hi'\n"
    "[secrets]\napi = 's3cr3t'\n"
    "[maintenance]\ninterval = 0\nat_startup = false\n"
    + "".join(
        f'[users.{name}]\npassword = "{make_verifier("pw")}"\nsuperuser = {str(admin).lower()}\n'
        for name, admin in (("alice", True), ("bob", False))
    )
)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("ext") / "data", config=CONFIG)
    yield running
    running.stop()


@pytest.fixture
def alice(lake: RunningServer) -> Iterator[psycopg.Connection]:
    with psycopg.connect(lake.dsn(user="alice", password="pw"), autocommit=True) as conn:
        yield conn


@pytest.fixture
def bob(lake: RunningServer) -> Iterator[psycopg.Connection]:
    with psycopg.connect(lake.dsn(user="bob", password="pw"), autocommit=True) as conn:
        yield conn


def one(conn: psycopg.Connection, sql: str, params: tuple[object, ...] | None = None,
        **kwargs: object) -> object:
    row = conn.execute(sql, params, **kwargs).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return row[0]


@pytest.mark.parametrize("mode", ["simple", "extended", "binary"])
def test_row_wise_function_in_every_protocol(bob: psycopg.Connection, mode: str) -> None:
    if mode == "simple":
        assert one(bob, "SELECT shout('hey')") == "HEY!"
    else:
        assert one(bob, "SELECT shout(%s)", ("hey",), prepare=True,
                   binary=mode == "binary") == "HEY!"
        assert one(bob, "SELECT shout(%s::text)", ("hey",), prepare=True,
                   binary=mode == "binary") == "HEY!"


def test_function_over_a_table_column(bob: psycopg.Connection) -> None:
    rows = bob.execute(
        "SELECT shout(w) FROM (VALUES ('a'), ('b'), (NULL)) AS t(w) ORDER BY 1"
    ).fetchall()
    assert rows == [("A!",), ("B!",), (None,)]


def test_overloads_by_count_and_type(bob: psycopg.Connection) -> None:
    assert one(bob, "SELECT area(3)") == 9.0
    assert one(bob, "SELECT area(3, 4)") == 12.0
    assert one(bob, "SELECT describe_value(5)") == "int 5"
    assert one(bob, "SELECT describe_value('five')") == "text five"
    assert one(bob, "SELECT describe_value(x) FROM (SELECT 7::INTEGER AS x)") == "int 7"


def test_defaults_and_named_arguments(bob: psycopg.Connection) -> None:
    assert one(bob, "SELECT scaled(2)") == 20.0
    assert one(bob, "SELECT scaled(2, 3)") == 6.0
    assert one(bob, "SELECT scaled(2, shift => 1)") == 21.0
    assert one(bob, "SELECT scaled(2, shift => 1, scale => 2)") == 5.0
    assert one(bob, "SELECT public.scaled(2, scale := 5)") == 10.0


def test_wrong_arguments_are_42883_with_candidates(bob: psycopg.Connection) -> None:
    with pytest.raises(psycopg.errors.UndefinedFunction) as caught:
        bob.execute("SELECT area('x', 'y', 'z')")
    diag = caught.value.diag
    assert "area" in (diag.message_primary or "")
    assert "area(width DOUBLE, height DOUBLE)" in (diag.message_detail or "")
    assert "area(side DOUBLE)" in (diag.message_detail or "")
    assert one(bob, "SELECT 1") == 1  # the session stays usable


def test_null_handling(bob: psycopg.Connection) -> None:
    assert one(bob, "SELECT strict_label(NULL)") is None
    assert one(bob, "SELECT null_label(NULL)") == "was null"
    assert one(bob, "SELECT null_label('x')") == "was x"


def test_volatile_function_is_called_for_every_row(bob: psycopg.Connection) -> None:
    values = [r[0] for r in bob.execute("SELECT next_number() FROM range(5)").fetchall()]
    assert len(set(values)) == 5


def test_vectorized_function_gets_whole_batches(bob: psycopg.Connection) -> None:
    assert one(bob, "SELECT sum(doubled(range)) FROM range(10000)") == 2 * sum(range(10000))
    assert one(bob, "SELECT max(batch_sizes(range)) FROM range(10000)") > 1000
    assert one(bob, "SELECT doubled(NULL)") is None


def test_context_gives_user_settings_and_secrets(
    alice: psycopg.Connection, bob: psycopg.Connection
) -> None:
    assert one(bob, "SELECT whoami(1)") == "bob:hi:1"
    assert one(alice, "SELECT whoami(2)") == "alice:hi:2"
    assert one(bob, "SELECT secret_length('api')") == len("s3cr3t")
    with pytest.raises(psycopg.errors.UndefinedObject) as caught:
        bob.execute("SELECT secret_length('nope')")
    assert 'secret "nope"' in str(caught.value)


def test_json_arguments_and_results(bob: psycopg.Connection) -> None:
    assert one(bob, """SELECT keys_of('{"b": 1, "a": 2}')""") == ["a", "b"]
    assert one(bob, """SELECT wrap('{"a": 1}')""") == {"wrapped": {"a": 1}}


def test_superuser_only_function(alice: psycopg.Connection, bob: psycopg.Connection,
                                 lake: RunningServer) -> None:
    assert one(alice, f"SELECT read_server_file('{SOURCE}')").startswith('"""Functions')
    attempts = [
        f"SELECT read_server_file('{SOURCE}')",
        f"SELECT \"read_server_file\"('{SOURCE}')",
        f"SELECT public.read_server_file('{SOURCE}')",
        f"SELECT * FROM (SELECT read_server_file('{SOURCE}')) AS t",
        f"EXPLAIN ANALYZE SELECT read_server_file('{SOURCE}')",
    ]
    for sql in attempts:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bob.execute(sql)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        bob.execute("SELECT read_server_file(%s)", (str(SOURCE),), prepare=True)
    # A view made by a superuser does not lend its rights to the function.
    alice.execute(f"CREATE OR REPLACE VIEW peek AS SELECT read_server_file('{SOURCE}') AS t")
    alice.execute("GRANT SELECT ON peek TO bob")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        bob.execute("SELECT * FROM peek")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        bob.execute("SELECT * FROM peek", prepare=True)
    # Nor does a non-superuser's own view launder the call: checked is who reads it, as
    # PostgreSQL checks functions in views (docs/extensions.md, Security).
    bob.execute(f"CREATE OR REPLACE VIEW bobs_peek AS SELECT read_server_file('{SOURCE}') AS t")
    try:
        for sql in ("SELECT * FROM bobs_peek",
                    "SELECT length(t) FROM (SELECT * FROM bobs_peek) AS s",
                    "EXPLAIN ANALYZE SELECT * FROM bobs_peek"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                bob.execute(sql)
        assert one(alice, "SELECT * FROM bobs_peek").startswith('"""Functions')
    finally:
        bob.execute("DROP VIEW bobs_peek")


def test_registered_implementations_cannot_be_reached_or_shadowed(
    bob: psycopg.Connection,
) -> None:
    names = [r[0] for r in bob.execute(
        "SELECT function_name FROM duckdb_functions() "
        "WHERE function_name LIKE 'forge_ext_%read_server_file%'").fetchall()]
    for name in names:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bob.execute(f"SELECT {name}(getvariable('forge_session'), '/etc/passwd')")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        bob.execute("CREATE MACRO shout(s) AS 'pwned'")
    for sql in (
        "CREATE OR REPLACE MACRO forge_ext.public.shout(s) AS 'pwned'",
        "CREATE MACRO \"forge_ext\".\"public\".sneaky(s) AS 'pwned'",
        "USE forge_ext",
        "USE forge_ext.public",
        "DETACH forge_ext",
        "DROP MACRO forge_ext.public.shout",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bob.execute(sql)
    # The session's token cannot be set; reset, it makes functions refuse, not answer NULL.
    with pytest.raises(psycopg.Error):
        bob.execute("SET VARIABLE forge_session = 'guessed'")
    bob.execute("RESET VARIABLE forge_session")
    for sql in ("SELECT whoami(1)", f"SELECT read_server_file('{SOURCE}')",
                "SELECT admin_doubled(2)"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bob.execute(sql)
    assert one(bob, "SELECT shout('a')") == "A!"


def test_a_vectorized_superuser_only_function_refuses_a_reset_session(
    alice: psycopg.Connection, bob: psycopg.Connection,
) -> None:
    # Strict NULL handling still gives NULL without passing NULLs to the function.
    assert alice.execute(
        "SELECT admin_doubled(x) FROM (VALUES (1), (NULL), (3)) AS t(x) ORDER BY x"
    ).fetchall() == [(2,), (6,), (None,)]
    assert one(alice, "SELECT admin_doubled(NULL)") is None
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        bob.execute("SELECT admin_doubled(2)")
    for conn in (alice, bob):
        conn.execute("RESET VARIABLE forge_session")
        for sql in ("SELECT admin_doubled(2)",
                    "SELECT admin_doubled(x) FROM (VALUES (1), (NULL)) AS t(x)"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql)


def test_an_exception_is_38000_with_function_and_line(
    alice: psycopg.Connection, bob: psycopg.Connection, lake: RunningServer
) -> None:
    with pytest.raises(psycopg.errors.ExternalRoutineException) as caught:
        bob.execute("SELECT fails(0)")
    diag = caught.value.diag
    assert diag.sqlstate == "38000"
    assert diag.message_primary == "ZeroDivisionError: integer division or modulo by zero"
    assert f"{SOURCE}:" in (diag.message_detail or "")
    assert "fails" in (diag.message_detail or "")
    assert diag.context is None  # no traceback for other roles
    assert one(bob, "SELECT fails(2)") == 5  # the session stays usable
    with pytest.raises(psycopg.errors.ExternalRoutineException) as caught:
        alice.execute("SELECT fails(0)")
    assert "Traceback" in (caught.value.diag.context or "")
    assert "ZeroDivisionError" in lake.log_file.read_text()


def test_the_function_chooses_its_sqlstate(bob: psycopg.Connection) -> None:
    with pytest.raises(psycopg.errors.InvalidParameterValue) as caught:
        bob.execute("SELECT fails_with_state(-1)")
    diag = caught.value.diag
    assert diag.message_primary == "bad value -1"
    assert (diag.message_detail or "").startswith("x must be positive")
    assert diag.message_hint == "give a positive x"


def test_a_failing_function_leaves_nothing_half_written(bob: psycopg.Connection,
                                                        alice: psycopg.Connection) -> None:
    alice.execute("CREATE OR REPLACE TABLE fail_target (x BIGINT)")
    alice.execute("GRANT INSERT, SELECT ON fail_target TO bob")
    with pytest.raises(psycopg.errors.ExternalRoutineException):
        bob.execute("INSERT INTO fail_target SELECT fails(2 - range) FROM range(5)")
    assert one(bob, "SELECT count(*) FROM fail_target") == 0
    bob.execute("BEGIN")
    with pytest.raises(psycopg.errors.ExternalRoutineException):
        bob.execute("SELECT fails(0)")
    with pytest.raises(psycopg.errors.InFailedSqlTransaction):
        bob.execute("SELECT 1")
    bob.execute("ROLLBACK")


def test_python_variables_cannot_be_read_as_tables(bob: psycopg.Connection,
                                                   alice: psycopg.Connection) -> None:
    # Names of the server's own Python objects (modules, globals of the engine).
    for name in ("os", "sys", "log", "settings", "duckdb", "_counter"):
        for conn in (alice, bob):
            with pytest.raises(psycopg.Error) as caught:
                conn.execute(f"SELECT * FROM {name}")
            assert caught.value.sqlstate in ("42P01", "42501")


def test_wrong_type_for_a_single_function_is_42883(bob: psycopg.Connection) -> None:
    with pytest.raises(psycopg.errors.UndefinedFunction) as caught:
        bob.execute("SELECT shout(1)")
    assert caught.value.diag.message_primary == "function shout(integer) does not exist"
    with pytest.raises(psycopg.errors.UndefinedFunction):
        bob.execute("SELECT shout('a', 'b')")
    # A string literal takes the parameter's type, as PostgreSQL's unknown literals do.
    assert one(bob, "SELECT id_date('2024-02-29')").isoformat() == "2024-02-29"


def test_statement_timeout_and_cancel_stop_a_slow_function(bob: psycopg.Connection) -> None:
    import threading
    import time

    bob.execute("SET statement_timeout = '500ms'")
    began = time.monotonic()
    with pytest.raises(psycopg.errors.QueryCanceled) as caught:
        bob.execute("SELECT sum(slow_row(range)) FROM range(100000)")
    assert "statement timeout" in str(caught.value)
    assert time.monotonic() - began < 30  # 100000 calls would take 200 s
    bob.execute("RESET statement_timeout")
    timer = threading.Timer(0.5, bob.cancel)
    timer.start()
    began = time.monotonic()
    with pytest.raises(psycopg.errors.QueryCanceled):
        bob.execute("SELECT sum(slow_row(range)) FROM range(100000)")
    timer.join()
    assert time.monotonic() - began < 30
    assert one(bob, "SELECT shout('still here')") == "STILL HERE!"


def test_a_function_in_its_own_schema(bob: psycopg.Connection) -> None:
    assert one(bob, "SELECT ml.score(2)") == 4.0
    assert one(bob, 'SELECT "ml"."score"(x) FROM (SELECT 3.0::DOUBLE AS x)') == 6.0
    assert one(bob, "SELECT ml.score(%s::double precision)", (1.5,), prepare=True) == 3.0
    assert one(bob, "SELECT 'ml.score(1)'") == "ml.score(1)"  # literals untouched
