"""Python table functions in FROM, through a real server loading a real extensions
directory: every kind of return value, named arguments, joins, filters, CREATE TABLE AS,
INSERT ... SELECT, COPY (SELECT ...) TO STDOUT; Describe from the declared columns without
calling the function; rows that do not fit; exceptions; cancel and statement_timeout
between batches; superuser-only functions and the registered streams out of a
non-superuser's reach; and a 20M-row generator streamed with bounded server memory."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from process_stats import memory_kb, reset_peak
from psycopg import errors as pgerrors
from server import RunningServer, start_server

from forge_sql.wire.auth import make_verifier

PASSWORD = "pw"

EXTENSION = '''
import time
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel

from forge_sql.ext import Context, ExtensionError, table

CALLS = Path(__file__).with_suffix(".calls")


@table(columns={"id": "BIGINT", "title": "VARCHAR"})
def top_stories(n: int = 3, prefix: str = "story"):
    """The latest stories (dicts)."""
    for i in range(n):
        yield {"id": i, "title": f"{prefix} {i}"}


@table(columns={"id": "BIGINT", "title": "VARCHAR"})
def recorded(n: int):
    CALLS.open("a").write(f"{n}\\n")
    return [{"id": n, "title": "called"}]


@table(columns={"i": "BIGINT", "half": "DOUBLE"})
def arrow_table(n: int):
    return pa.table({"i": pa.array(range(n), pa.int64()), "half": [i / 2 for i in range(n)]})


@table(columns={"i": "BIGINT"})
def arrow_reader(n: int):
    schema = pa.schema([("i", pa.int64())])
    batches = (pa.record_batch([pa.array(range(s, min(n, s + 7)), pa.int64())], schema=schema)
               for s in range(0, n, 7))
    return pa.RecordBatchReader.from_batches(schema, batches)


@table(columns={"i": "INTEGER", "s": "VARCHAR"})
def polars_frame(n: int):
    return pl.DataFrame({"i": list(range(n)), "s": [str(i) for i in range(n)]})


@table(columns={"i": "BIGINT", "twice": "BIGINT"})
def polars_lazy(n: int):
    return pl.LazyFrame({"i": list(range(n))}).with_columns((pl.col("i") * 2).alias("twice"))


class Person(BaseModel):
    name: str
    age: int


@table(columns=Person)
def people():
    yield Person(name="ada", age=36)
    yield Person(name="alan", age=41)


@table(columns={"v": "BIGINT"})
def bad_value(at: int):
    for i in range(1, 5):
        yield {"v": "not a number" if i == at else i}


@table(columns={"a": "BIGINT", "b": "VARCHAR"})
def bad_keys(kind: str):
    yield {"a": 1, "b": "x"}
    yield {"a": 2} if kind == "missing" else {"a": 2, "b": "y", "c": 3}


@table(columns={"x": "BIGINT"})
def broken(n: int):
    yield {"x": 1}
    raise RuntimeError("the API said no")


@table(columns={"x": "BIGINT"})
def refuses(n: int):
    raise ExtensionError("n must be positive", "22023", hint="give n > 0")


@table(columns={"x": "BIGINT"}, superuser_only=True)
def read_files(n: int):
    yield {"x": n}


@table(columns={"who": "VARCHAR", "setting": "VARCHAR"})
def whoami(*, ctx: Context):
    yield {"who": ctx.user, "setting": str(ctx.settings.get("greeting"))}


@table(describe=lambda width: {f"c{i}": "BIGINT" for i in range(width)})
def wide(width: int):
    yield {f"c{i}": i for i in range(width)}


def _wide_columns(width: int) -> dict[str, str]:
    return {f"c{i}": "BIGINT" for i in range(width)}


@table(describe=_wide_columns)
def wide_from(width: int, start: int = 0):
    """Its columns depend on width only: start may be anything."""
    yield {f"c{i}": start + i for i in range(width)}


@table(columns={"i": "BIGINT"})
def slow():
    schema = pa.schema([("i", pa.int64())])
    i = 0
    while True:
        time.sleep(0.02)
        yield pa.record_batch([pa.array([i], pa.int64())], schema=schema)
        i += 1


@table(columns={"i": "BIGINT", "pad": "VARCHAR"})
def many(n: int, width: int = 40):
    step = 16384
    for start in range(0, n, step):
        ids = pa.array(range(start, min(n, start + step)), pa.int64())
        pad = pc.utf8_lpad(pc.cast(ids, pa.string()), width, "x")
        yield pa.record_batch([ids, pad], names=["i", "pad"])
'''


@pytest.fixture(scope="module")
def extensions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("extensions")
    (directory / "stories.py").write_text(EXTENSION)
    return directory


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, extensions: Path) -> Iterator[RunningServer]:
    verifier = make_verifier(PASSWORD)
    config = (
        f'[users.admin]\npassword = "{verifier}"\nsuperuser = true\n\n'
        f'[users.bob]\npassword = "{verifier}"\n\n'
        '[extension_settings.stories]\ngreeting = "hello"\n'
    )
    running = start_server(
        tmp_path_factory.mktemp("table_functions") / "data", config=config,
        env={"FORGE_SQL_EXTENSIONS": str(extensions)},
    )
    yield running
    running.stop()


@pytest.fixture
def conn(server: RunningServer) -> Iterator[psycopg.Connection]:
    with psycopg.connect(server.dsn(user="admin", password=PASSWORD), autocommit=True) as c:
        yield c


@pytest.fixture
def bob(server: RunningServer) -> Iterator[psycopg.Connection]:
    with psycopg.connect(server.dsn(user="bob", password=PASSWORD), autocommit=True) as c:
        yield c


def rows(conn: psycopg.Connection, sql: str, params: object = None,
         prepare: bool | None = None) -> list[tuple[object, ...]]:
    return conn.execute(sql, params, prepare=prepare).fetchall()  # type: ignore[arg-type]


# -- what the function returns ---------------------------------------------------------
@pytest.mark.parametrize("prepare", [False, True], ids=["simple", "extended"])
def test_dicts_positional_and_named_arguments(conn: psycopg.Connection, prepare: bool) -> None:
    assert rows(conn, "SELECT * FROM top_stories(2)", prepare=prepare) == [
        (0, "story 0"), (1, "story 1")
    ]
    assert rows(conn, "SELECT title FROM top_stories(prefix => 'x', n => 3) s WHERE id > 0 "
                "ORDER BY id DESC", prepare=prepare) == [("x 2",), ("x 1",)]
    assert rows(conn, "SELECT count(*) FROM top_stories()", prepare=prepare) == [(3,)]


def test_parameters_as_arguments_in_the_extended_protocol(conn: psycopg.Connection) -> None:
    cur = conn.cursor(binary=True)
    cur.execute("SELECT id, title FROM top_stories(%s, prefix => %s) ORDER BY id", (2, "p"))
    assert cur.fetchall() == [(0, "p 0"), (1, "p 1")]
    assert [c.type_code for c in cur.description] == [20, 1043]  # int8, varchar


def test_arrow_polars_and_pydantic_results(conn: psycopg.Connection) -> None:
    assert rows(conn, "SELECT sum(i), sum(half) FROM arrow_table(10)") == [(45, 22.5)]
    assert rows(conn, "SELECT count(*), max(i) FROM arrow_reader(100)") == [(100, 99)]
    assert rows(conn, "SELECT * FROM polars_frame(3) ORDER BY i") == [(0, "0"), (1, "1"), (2, "2")]
    assert rows(conn, "SELECT sum(twice) FROM polars_lazy(5)") == [(20,)]
    assert rows(conn, "SELECT name, age FROM people() ORDER BY age") == [("ada", 36), ("alan", 41)]


def test_joins_subqueries_and_two_calls(conn: psycopg.Connection) -> None:
    got = rows(conn, "SELECT a.id, b.title FROM top_stories(3) a "
                     "JOIN top_stories(3, 'b') AS b USING (id) WHERE a.id <> 1 ORDER BY 1")
    assert got == [(0, "b 0"), (2, "b 2")]
    got = rows(conn, "SELECT count(*) FROM (SELECT * FROM arrow_table(4)) t, top_stories(2)")
    assert got == [(8,)]
    got = rows(conn, "SELECT * FROM top_stories((SELECT 1 + 1))")
    assert got == [(0, "story 0"), (1, "story 1")]


def test_create_table_as_insert_select_and_copy(conn: psycopg.Connection) -> None:
    conn.execute("DROP TABLE IF EXISTS stories")
    cur = conn.execute("CREATE TABLE stories AS SELECT * FROM top_stories(4)")
    assert cur.statusmessage == "SELECT 4"
    cur = conn.execute("INSERT INTO stories SELECT id + 10, title FROM top_stories(2)")
    assert cur.statusmessage == "INSERT 0 2"
    assert rows(conn, "SELECT count(*), max(id) FROM stories") == [(6, 11)]
    with conn.cursor().copy("COPY (SELECT * FROM top_stories(3) ORDER BY id) TO STDOUT") as copy:
        data = b"".join(bytes(b) for b in copy)
    assert data == b"0\tstory 0\n1\tstory 1\n2\tstory 2\n"
    with conn.transaction():
        conn.execute("INSERT INTO stories SELECT * FROM top_stories(1)")
    assert rows(conn, "SELECT count(*) FROM stories") == [(7,)]


def test_context_gets_the_user_and_its_settings(conn: psycopg.Connection) -> None:
    assert rows(conn, "SELECT * FROM whoami()") == [("admin", "hello")]


def test_psql(server: RunningServer, psql_installed: str) -> None:
    done = subprocess.run(
        ["psql", server.dsn(user="admin"), "-X", "-w", "-A", "-t", "-c",
         "SELECT id || ':' || title FROM top_stories(2) ORDER BY id"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "PGPASSWORD": PASSWORD},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0:story", "0", "1:story", "1"]


# -- Describe --------------------------------------------------------------------------
def test_describe_does_not_call_the_function(conn: psycopg.Connection,
                                             extensions: Path) -> None:
    calls = extensions / "stories.calls"
    calls.unlink(missing_ok=True)
    cur = conn.cursor()
    statement = "SELECT id, title FROM recorded(%s)"
    # Parse + Describe of the statement: the columns without running it.
    conn.pgconn.prepare(b"rec", b"SELECT id, title FROM recorded($1)")
    result = conn.pgconn.describe_prepared(b"rec")
    assert result.status == psycopg.pq.ExecStatus.COMMAND_OK
    assert [result.fname(i) for i in range(result.nfields)] == [b"id", b"title"]
    assert [result.ftype(i) for i in range(result.nfields)] == [20, 1043]
    assert [result.param_type(i) for i in range(result.nparams)] == [20]
    assert not calls.exists(), "the function ran at Parse/Describe"
    cur.execute(statement, (7,), prepare=True)
    assert cur.fetchall() == [(7, "called")]
    assert calls.read_text() == "7\n"


def test_describe_hook_computes_the_columns(conn: psycopg.Connection) -> None:
    cur = conn.execute("SELECT * FROM wide(3)", prepare=True)
    assert [c.name for c in cur.description] == ["c0", "c1", "c2"]
    assert cur.fetchall() == [(0, 1, 2)]
    with pytest.raises(pgerrors.FeatureNotSupported):
        conn.execute("SELECT * FROM wide(%s)", (2,))


def test_describe_hook_needs_constants_for_its_own_arguments_only(
    conn: psycopg.Connection,
) -> None:
    # start is not the hook's: a parameter, known at Bind, is fine there, Describe included.
    conn.pgconn.prepare(b"wide_from", b"SELECT * FROM wide_from(2, $1)")
    described = conn.pgconn.describe_prepared(b"wide_from")
    assert [described.fname(i) for i in range(described.nfields)] == [b"c0", b"c1"]
    assert [described.param_type(i) for i in range(described.nparams)] == [20]
    for prepare in (False, True):
        assert rows(conn, "SELECT * FROM wide_from(2, %s)", (10,), prepare=prepare) == [
            (10, 11)]
    assert rows(conn, "SELECT * FROM wide_from(3, start => (SELECT 5))") == [(5, 6, 7)]
    # width is the hook's: a parameter has no value at Describe, so it is refused clearly.
    for sql, params in (("SELECT * FROM wide_from(%s, 1)", (2,)),
                        ("SELECT * FROM wide_from(1 + 1)", None)):
        with pytest.raises(pgerrors.FeatureNotSupported) as caught:
            conn.execute(sql, params)
        message = caught.value.diag.message_primary or ""
        assert "wide_from" in message and "argument width" in message
    # Per-row arguments (LATERAL) cannot describe columns once for the statement.
    with pytest.raises(pgerrors.FeatureNotSupported) as caught:
        conn.execute("SELECT * FROM (VALUES (1)) v(n), LATERAL wide_from(2, v.n)")
    assert "LATERAL" in (caught.value.diag.message_primary or "")
    assert rows(conn, "SELECT 1") == [(1,)]


# -- bad calls and bad rows ------------------------------------------------------------
def test_wrong_arguments_are_42883_with_candidates(conn: psycopg.Connection) -> None:
    with pytest.raises(pgerrors.UndefinedFunction) as caught:
        conn.execute("SELECT * FROM top_stories(1, 'a', 3)")
    assert "top_stories(n bigint" in (caught.value.diag.message_hint or "")
    with pytest.raises(pgerrors.UndefinedFunction):
        conn.execute("SELECT * FROM top_stories(count => 1)")
    assert rows(conn, "SELECT 1") == [(1,)]


@pytest.mark.parametrize("prepare", [False, True], ids=["simple", "extended"])
def test_a_row_of_the_wrong_type_names_column_and_row(conn: psycopg.Connection,
                                                      prepare: bool) -> None:
    with pytest.raises(psycopg.Error) as caught:
        conn.execute("SELECT * FROM bad_value(3)", prepare=prepare).fetchall()
    message = caught.value.diag.message_primary or ""
    assert caught.value.sqlstate == "42804"
    assert 'column "v" of row 3' in message and "not a number" in message
    assert rows(conn, "SELECT count(*) FROM bad_value(0)") == [(4,)]


def test_missing_and_extra_keys_name_the_row(conn: psycopg.Connection) -> None:
    with pytest.raises(psycopg.Error) as caught:
        conn.execute("SELECT * FROM bad_keys('missing')").fetchall()
    assert 'row 2 of the table function\'s result lacks column "b"' in str(caught.value)
    with pytest.raises(psycopg.Error) as caught:
        conn.execute("SELECT * FROM bad_keys('extra')").fetchall()
    assert 'row 2 of the table function\'s result has no column "c"' in str(caught.value)


def test_an_exception_is_38000_with_function_and_line(server: RunningServer,
                                                      conn: psycopg.Connection,
                                                      extensions: Path) -> None:
    logged = len(server.log_file.read_text(errors="replace"))
    with pytest.raises(psycopg.Error) as caught:
        conn.execute("SELECT * FROM broken(1)").fetchall()
    assert caught.value.sqlstate == "38000"
    assert "the API said no" in (caught.value.diag.message_primary or "")
    detail = caught.value.diag.message_detail or ""
    assert "public.broken() of extension stories" in detail
    assert f"{extensions / 'stories.py'}:" in detail
    # The traceback, for a superuser, names the line that raised.
    line = EXTENSION.splitlines().index('    raise RuntimeError("the API said no")') + 1
    assert f"line {line}" in (caught.value.diag.context or "")
    with pytest.raises(psycopg.Error) as caught:
        conn.execute("SELECT * FROM refuses(1)")
    assert caught.value.sqlstate == "22023"
    assert caught.value.diag.message_hint == "give n > 0"
    # The log: the unexpected exception at ERROR with its traceback, the ExtensionError
    # (the statement's own error) at INFO; neither as an unexpected error of the server.
    log = server.log_file.read_text(errors="replace")[logged:]
    assert "ERROR forge_sql.plugins: extension function public.broken()" in log
    assert "INFO forge_sql.plugins: extension function public.refuses()" in log
    assert "unexpected error" not in log
    # The session goes on, in and out of a transaction block.
    assert rows(conn, "SELECT count(*) FROM top_stories(2)") == [(2,)]
    conn.execute("BEGIN")
    with pytest.raises(psycopg.Error):
        conn.execute("INSERT INTO stories SELECT * FROM broken(1)")
    conn.execute("ROLLBACK")
    assert rows(conn, "SELECT count(*) FROM top_stories(1)") == [(1,)]


def test_prepare_runs_the_call_at_each_execute(conn: psycopg.Connection,
                                               extensions: Path) -> None:
    calls = extensions / "stories.calls"
    calls.unlink(missing_ok=True)
    conn.execute("PREPARE rec AS SELECT * FROM recorded(5)")
    assert not calls.exists()
    assert rows(conn, "EXECUTE rec") == [(5, "called")]
    assert rows(conn, "EXECUTE rec") == [(5, "called")]
    assert calls.read_text() == "5\n5\n"
    conn.execute("DEALLOCATE rec")


def test_declare_cursor_over_a_table_function_is_refused(conn: psycopg.Connection) -> None:
    conn.execute("BEGIN")
    try:
        with pytest.raises(pgerrors.FeatureNotSupported):
            conn.execute("DECLARE c CURSOR FOR SELECT * FROM top_stories(1)")
    finally:
        conn.execute("ROLLBACK")


@pytest.mark.parametrize("prepare", [False, True], ids=["simple", "extended"])
def test_lateral_arguments_call_it_per_row(conn: psycopg.Connection, prepare: bool) -> None:
    got = rows(conn, "SELECT v.n, s.title FROM (VALUES (1), (2)) v(n), "
                     "LATERAL top_stories(v.n, prefix => 'p' || v.n) s ORDER BY 1, 2",
               prepare=prepare)
    assert got == [(1, "p1 0"), (2, "p2 0"), (2, "p2 1")]
    with pytest.raises(psycopg.Error) as caught:
        conn.execute("SELECT * FROM (VALUES (3)) v(n), LATERAL bad_value(v.n)")
    assert caught.value.sqlstate == "42804"
    assert 'column "v" of row 3' in str(caught.value)


def test_a_view_calls_the_function_when_read(conn: psycopg.Connection, bob: psycopg.Connection,
                                             extensions: Path) -> None:
    calls = extensions / "stories.calls"
    calls.unlink(missing_ok=True)
    conn.execute("DROP VIEW IF EXISTS recorded_view")
    conn.execute("CREATE VIEW recorded_view AS SELECT id * 10 AS id, title FROM recorded(4)")
    assert not calls.exists(), "CREATE VIEW ran the function"
    assert rows(conn, "SELECT * FROM recorded_view") == [(40, "called")]
    assert rows(conn, "SELECT * FROM recorded_view", prepare=True) == [(40, "called")]
    assert calls.read_text() == "4\n4\n"
    conn.execute("CREATE OR REPLACE VIEW story_view AS "
                 "SELECT * FROM top_stories(n => 2, prefix => 'v') WHERE id >= 0")
    assert rows(conn, "SELECT title FROM story_view ORDER BY id") == [("v 0",), ("v 1",)]
    # A view over a superuser-only function: the reader's privileges decide.
    conn.execute("CREATE OR REPLACE VIEW files_view AS SELECT * FROM read_files(1)")
    conn.execute("GRANT SELECT ON files_view TO bob")
    assert rows(conn, "SELECT * FROM files_view") == [(1,)]
    with pytest.raises(pgerrors.InsufficientPrivilege):
        bob.execute("SELECT * FROM files_view")
    with pytest.raises(pgerrors.FeatureNotSupported):
        conn.execute("CREATE VIEW wide_view AS SELECT * FROM wide(2)")


def test_views_expand_as_the_session_sees_them(server: RunningServer,
                                              conn: psycopg.Connection,
                                              bob: psycopg.Connection) -> None:
    conn.execute("CREATE OR REPLACE VIEW story_v AS SELECT * FROM top_stories(2)")
    assert rows(conn, "SELECT count(*) FROM story_v") == [(2,)]
    # Replaced: the new text at once, in the transaction that replaced it too.
    conn.execute("CREATE OR REPLACE VIEW story_v AS SELECT * FROM top_stories(3)")
    assert rows(conn, "SELECT count(*) FROM story_v") == [(3,)]
    conn.execute("BEGIN")
    conn.execute("CREATE OR REPLACE VIEW story_v AS SELECT 7 AS id, 'seven' AS title")
    assert rows(conn, "SELECT * FROM story_v") == [(7, "seven")]
    conn.execute("ROLLBACK")
    assert rows(conn, "SELECT count(*) FROM story_v s WHERE s.id >= 0") == [(3,)]
    # A CTE of the name, and a temporary view of the name, hide it.
    assert rows(conn, "WITH story_v AS (SELECT 5 AS id) SELECT * FROM story_v") == [(5,)]
    with psycopg.connect(server.dsn(user="admin", password=PASSWORD), autocommit=True) as own:
        own.execute("CREATE TEMP VIEW story_v AS SELECT 1 AS id")
        assert rows(own, "SELECT * FROM story_v") == [(1,)]
    # Column names of CREATE VIEW v (a, b).
    with conn.cursor().copy("COPY story_v TO STDOUT") as copy:
        assert b"".join(bytes(block) for block in copy).count(b"\n") == 3
    conn.execute("CREATE OR REPLACE VIEW story_cols (a, b) AS SELECT * FROM top_stories(1)")
    cursor = conn.execute("SELECT * FROM story_cols")
    assert cursor.fetchall() == [(0, "story 0")]
    assert [c.name for c in cursor.description or ()] == ["a", "b"]
    # The view's owner reads the tables of its query, the reader calls its functions.
    conn.execute("DROP TABLE IF EXISTS secret_n")
    conn.execute("CREATE TABLE secret_n AS SELECT 2 AS n")
    conn.execute("CREATE OR REPLACE VIEW counts_v AS "
                 "SELECT * FROM top_stories((SELECT n FROM secret_n))")
    conn.execute("GRANT SELECT ON counts_v TO bob")
    assert rows(bob, "SELECT count(*) FROM counts_v") == [(2,)]
    with pytest.raises(pgerrors.InsufficientPrivilege):
        bob.execute("SELECT * FROM secret_n")
    conn.execute("DROP VIEW counts_v")
    with pytest.raises(pgerrors.UndefinedTable):
        bob.execute("SELECT * FROM counts_v")


def test_a_prepared_statement_reads_the_view_as_it_is_now(conn: psycopg.Connection) -> None:
    """PostgreSQL plans a prepared statement again after DDL on what it reads."""
    conn.execute("CREATE OR REPLACE VIEW story_p AS SELECT * FROM top_stories(2)")
    query = "SELECT count(*) FROM story_p WHERE id >= %s"
    conn.execute("PREPARE story_count AS SELECT count(*) FROM story_p WHERE id >= $1")
    try:
        assert rows(conn, query, (0,), prepare=True) == [(2,)]
        assert rows(conn, "EXECUTE story_count(0)") == [(2,)]
        conn.execute("CREATE OR REPLACE VIEW story_p AS SELECT * FROM top_stories(4)")
        assert rows(conn, query, (0,), prepare=True) == [(4,)]
        assert rows(conn, "EXECUTE story_count(0)") == [(4,)]
        conn.execute("CREATE OR REPLACE VIEW story_p AS SELECT 9 AS id")
        assert rows(conn, query, (0,), prepare=True) == [(1,)]
        assert rows(conn, "EXECUTE story_count(0)") == [(1,)]
    finally:
        conn.execute("DEALLOCATE story_count")


def test_sql_prepare_of_a_call(conn: psycopg.Connection, bob: psycopg.Connection) -> None:
    conn.execute("PREPARE stories_p AS SELECT id, title FROM top_stories($1, prefix => $2)")
    try:
        assert rows(conn, "EXECUTE stories_p(2, 'x' || 'y')") == [(0, "xy 0"), (1, "xy 1")]
        assert rows(conn, "EXECUTE stories_p (1, 'z')") == [(0, "z 0")]
        with pytest.raises(pgerrors.SyntaxError) as caught:
            conn.execute("EXECUTE stories_p(1)")
        assert "wrong number of parameters" in str(caught.value)
        with pytest.raises(pgerrors.DuplicatePreparedStatement):
            conn.execute("PREPARE stories_p AS SELECT * FROM top_stories(1)")
    finally:
        conn.execute("DEALLOCATE stories_p")
    with pytest.raises(psycopg.Error):
        conn.execute("EXECUTE stories_p(1, 'z')")
    # A superuser-only function; arguments are expressions (as in PostgreSQL, no
    # subqueries: DuckDB's parser refuses them, 22023).
    bob.execute("PREPARE files_p AS SELECT * FROM read_files(1)")
    with pytest.raises(pgerrors.InsufficientPrivilege):
        bob.execute("EXECUTE files_p")
    bob.execute("PREPARE counts_p AS SELECT count(*) FROM top_stories($1)")
    with pytest.raises(pgerrors.InvalidParameterValue):
        bob.execute("EXECUTE counts_p((SELECT 2))")
    assert rows(bob, "EXECUTE counts_p(2 + 2)") == [(4,)]
    bob.execute("DEALLOCATE ALL")
    with pytest.raises(psycopg.Error):
        bob.execute("EXECUTE counts_p(2)")


@pytest.fixture(scope="module")
def wide_views(server: RunningServer) -> None:
    """Views over 400k wide rows, and a first call (the server's first allocations)."""
    with psycopg.connect(server.dsn(user="admin", password=PASSWORD), autocommit=True) as c:
        c.execute("CREATE OR REPLACE VIEW wide_view AS SELECT i, pad FROM many(400000, 200)")
        c.execute("CREATE OR REPLACE VIEW wide_outer AS SELECT i AS j, pad FROM wide_view")
        c.execute("CREATE SCHEMA IF NOT EXISTS streams")
        c.execute("CREATE OR REPLACE VIEW streams.wide AS SELECT * FROM many(400000, 200)")
        c.execute("SELECT count(*) FROM many(100000, 200)").fetchall()


@pytest.mark.parametrize("form", ["direct", "view", "view of a view", "view in a schema",
                                  "COPY of a view", "PREPARE", "extended"])
def test_rows_stream_through_views_and_prepared_statements(server: RunningServer,
                                                            conn: psycopg.Connection,
                                                            wide_views: None,
                                                            form: str) -> None:
    """400k rows of 240 bytes, ~100 MB in Arrow if they were held whole (as DuckDB's table
    macro holds them): in every form of the call the server's peak RSS grows by far less
    (sql.views expands the views; PREPARE and the extended protocol expand the call when
    they execute)."""
    summary = "SELECT count(*), max(length(pad)) FROM "
    queries = {
        "direct": summary + "many(400000, 200)",
        "view": summary + "wide_view",
        "view of a view": summary + "wide_outer w WHERE w.j >= 0",
        "view in a schema": summary + "streams.wide",
    }
    reset_peak(server.pid)
    before = memory_kb(server.pid)
    if form in queries:
        got = rows(conn, queries[form])
    elif form == "COPY of a view":
        with conn.cursor().copy(f"COPY ({summary} wide_view) TO STDOUT") as copy:
            text = b"".join(bytes(block) for block in copy).decode()
        got = [tuple(int(v) for v in text.split())]
    elif form == "PREPARE":
        conn.execute(f"PREPARE wide_rows AS {summary} many($1, 200)")
        try:
            got = rows(conn, "EXECUTE wide_rows(400000)")
        finally:
            conn.execute("DEALLOCATE wide_rows")
    else:
        got = rows(conn, summary + "many(%s, 200)", (400000,), prepare=True)
    peak = memory_kb(server.pid, "VmHWM")
    assert got == [(400000, 200)]
    # Held whole (a LATERAL call, DuckDB's table macro) it grew by ~240 MB.
    assert peak - before < 100_000, f"{form}: RSS {before} kB, peak {peak} kB"


# -- cancel and statement_timeout ------------------------------------------------------
def test_cancel_stops_the_generator_between_batches(conn: psycopg.Connection) -> None:
    failure: list[BaseException] = []

    def run() -> None:
        try:
            conn.execute("SELECT count(*) FROM slow()").fetchall()
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    time.sleep(0.5)
    canceled = time.monotonic()
    conn.cancel_safe()
    thread.join(20)
    assert not thread.is_alive()
    assert time.monotonic() - canceled < 5
    assert isinstance(failure[0], pgerrors.QueryCanceled), failure
    assert rows(conn, "SELECT count(*) FROM top_stories(2)") == [(2,)]


@pytest.mark.parametrize("prepare", [False, True], ids=["simple", "extended"])
def test_statement_timeout_stops_it(conn: psycopg.Connection, prepare: bool) -> None:
    conn.execute("SET statement_timeout = '400ms'")
    started = time.monotonic()
    with pytest.raises(pgerrors.QueryCanceled) as caught:
        conn.execute("SELECT * FROM slow()", prepare=prepare).fetchall()
    assert "statement timeout" in str(caught.value)
    assert time.monotonic() - started < 10
    conn.execute("SET statement_timeout = 0")
    assert rows(conn, "SELECT count(*) FROM top_stories(2)") == [(2,)]


def test_reload_takes_changed_and_removed_functions(conn: psycopg.Connection,
                                                   extensions: Path) -> None:
    source = extensions / "versioned.py"
    body = ("from forge_sql.ext import table\n\n"
            "@table(columns={{'v': 'BIGINT'}})\ndef version_rows(n: int):\n"
            "    return [{{'v': {v}}}] * n\n")
    source.write_text(body.format(v=1))
    conn.execute("CALL forge_reload_extensions()")
    prepared = "SELECT v FROM version_rows(%s)"
    assert rows(conn, prepared, (2,), prepare=True) == [(1,), (1,)]
    source.write_text(body.format(v=2))
    conn.execute("CALL forge_reload_extensions()")
    assert rows(conn, prepared, (1,), prepare=True) == [(2,)]
    assert rows(conn, "SELECT v FROM version_rows(1)") == [(2,)]
    source.unlink()
    conn.execute("CALL forge_reload_extensions()")
    for prepare in (False, True):  # never the stand-in's empty rows
        with pytest.raises(psycopg.Error) as caught:
            conn.execute(prepared, (1,), prepare=prepare)
        # (DuckDB's word for an unknown table function is translated as 42P01)
        assert caught.value.sqlstate in ("42883", "42P01"), caught.value


# -- privileges ------------------------------------------------------------------------
def test_superuser_only_function(conn: psycopg.Connection, bob: psycopg.Connection) -> None:
    assert rows(conn, "SELECT * FROM read_files(5)") == [(5,)]
    for prepare in (False, True):
        with pytest.raises(pgerrors.InsufficientPrivilege):
            bob.execute("SELECT * FROM read_files(5)", prepare=prepare)
    with pytest.raises(pgerrors.InsufficientPrivilege):
        bob.execute("COPY (SELECT * FROM read_files(5)) TO STDOUT")
    assert rows(bob, "SELECT * FROM top_stories(1)") == [(0, "story 0")]


def test_streams_and_python_objects_are_out_of_reach(bob: psycopg.Connection) -> None:
    for sql in (
        'SELECT * FROM "forge_table_stream_00"',
        "SELECT * FROM forge_table_stream_x, top_stories(1)",
    ):
        with pytest.raises(pgerrors.InsufficientPrivilege):
            bob.execute(sql)
    # Names of the server's Python objects are not tables (replacement scans are off).
    for name in ("registry", "settings", "os", "self"):
        with pytest.raises(psycopg.Error) as caught:
            bob.execute(f"SELECT * FROM {name}")
        assert caught.value.sqlstate in ("42P01", "42501"), (name, caught.value)
    with pytest.raises(psycopg.Error):
        bob.execute("SELECT * FROM top_stories((SELECT count(*) FROM forge_meta.roles))")


def test_arguments_read_only_what_the_role_may(conn: psycopg.Connection,
                                               bob: psycopg.Connection) -> None:
    conn.execute("DROP TABLE IF EXISTS secret_counts")
    conn.execute("CREATE TABLE secret_counts AS SELECT 2 AS n")
    with pytest.raises(pgerrors.InsufficientPrivilege):
        bob.execute("SELECT * FROM top_stories((SELECT n FROM secret_counts))")
    assert rows(conn, "SELECT count(*) FROM top_stories((SELECT n FROM secret_counts))") == [(2,)]


# -- memory ----------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_twenty_million_rows_stream_with_bounded_memory(server: RunningServer,
                                                        psql_installed: str) -> None:
    """20M rows (int8, 40 characters) through COPY TO STDOUT to psql: ~990 MB of text, and
    over 1 GB of Arrow data if they were held whole; the server's peak RSS grows by far
    less, and stays under 1 GiB."""
    before = memory_kb(server.pid)
    reader = subprocess.Popen(
        ["psql", server.dsn(user="admin"), "-X", "-w", "-c",
         "COPY (SELECT * FROM many(20000000)) TO STDOUT"],
        stdout=subprocess.PIPE, env={**os.environ, "PGPASSWORD": PASSWORD},
    )
    assert reader.stdout is not None
    total = lines = 0
    while block := reader.stdout.read(1 << 20):
        total += len(block)
        lines += block.count(b"\n")
    assert reader.wait(60) == 0
    peak = memory_kb(server.pid, "VmHWM")
    assert lines == 20_000_000
    assert total > 950_000_000
    assert peak - before < 450_000, f"RSS grew from {before} kB to a peak of {peak} kB"
    assert peak < 1 << 20


@pytest.mark.slow
def test_a_lateral_call_holds_its_rows_in_arrow_up_to_a_limit(
    tmp_path: Path, extensions: Path
) -> None:
    """A LATERAL join's call of a table function runs through DuckDB, which takes the rows
    of a chunk of outer rows' calls whole (no Python table functions in DuckDB 1.5.5):
    they are held as Arrow buffers, up to 128 MB, past which the statement fails (54000)
    instead of the server's memory growing without bound. 2M rows (int8, 40 characters),
    ~100 MB in Arrow: the peak RSS grew by ~790 MB when they were held as Python rows,
    ~270-430 MB now; through a view, which the server expands, they stream."""
    running = start_server(tmp_path / "data", env={"FORGE_SQL_EXTENSIONS": str(extensions)},
                           cwd=tmp_path)
    try:
        with psycopg.connect(running.dsn(), autocommit=True) as conn:
            conn.execute("CREATE VIEW two_million AS SELECT * FROM many(2000000)")
            assert rows(conn, "SELECT count(*) FROM many(10)") == [(10,)]
            for sql, bound in (
                ("SELECT count(*), max(i), max(length(pad)) FROM two_million", 100_000),
                ("SELECT count(*), max(s.i), max(length(s.pad)) "
                 "FROM (VALUES (2000000)) t(n), LATERAL many(t.n) s", 550_000),
            ):
                reset_peak(running.pid)
                before = memory_kb(running.pid)
                assert rows(conn, sql) == [(2000000, 1999999, 40)]
                peak = memory_kb(running.pid, "VmHWM")
                assert peak - before < bound, f"{sql}: RSS {before} kB, peak {peak} kB"
            with pytest.raises(pgerrors.ProgramLimitExceeded) as caught:
                conn.execute("SELECT count(*) FROM (VALUES (3000)) t(n), "
                             "LATERAL many(t.n, 100000) s")
            assert "128 MB" in str(caught.value)
            assert "directly" in (caught.value.diag.message_hint or "")
            assert rows(conn, "SELECT count(*) FROM many(3000, 100000)") == [(3000,)]
    finally:
        running.stop()


def test_a_client_leaving_mid_stream_ends_the_function(server: RunningServer,
                                                        conn: psycopg.Connection,
                                                        psql_installed: str) -> None:
    reader = subprocess.Popen(
        ["psql", server.dsn(user="admin"), "-X", "-w", "-c", "SELECT * FROM slow()"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "PGPASSWORD": PASSWORD},
    )
    # (pg_stat_activity shows the client's text, as PostgreSQL)
    query = "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT * FROM slow()'"
    deadline = time.monotonic() + 20
    while rows(conn, query) != [(1,)] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert rows(conn, query) == [(1,)], rows(conn, "SELECT pid, state, query FROM pg_stat_activity")
    reader.kill()
    reader.wait()
    deadline = time.monotonic() + 20
    while rows(conn, query) != [(0,)] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert rows(conn, query) == [(0,)], "the session of the gone client kept running"
