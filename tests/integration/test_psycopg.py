"""psycopg 3 against the server: command tags, simple and extended protocol, pipelines,
prepared statements, and the ParameterStatus values reported on connect and on SET."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
import rawclient
from psycopg import errors as pgerrors
from psycopg.types.string import TextLoader
from server import RunningServer


def test_command_tags(conn: psycopg.Connection, table_name: str) -> None:
    view = f"{table_name}_v"
    cur = conn.cursor()
    steps = [
        (f"CREATE TABLE {table_name} (a INTEGER, b VARCHAR)", "CREATE TABLE"),
        (f"INSERT INTO {table_name} VALUES (1, 'x'), (2, 'y'), (3, 'z')", "INSERT 0 3"),
        (f"SELECT * FROM {table_name} WHERE a < 3", "SELECT 2"),
        (f"SELECT * FROM {table_name} WHERE a > 10", "SELECT 0"),
        (f"UPDATE {table_name} SET b = 'w' WHERE a = 1", "UPDATE 1"),
        (f"UPDATE {table_name} SET b = 'w' WHERE a > 10", "UPDATE 0"),
        (f"DELETE FROM {table_name} WHERE a >= 2", "DELETE 2"),
        (f"CREATE VIEW {view} AS SELECT a FROM {table_name}", "CREATE VIEW"),
        (f"DROP VIEW {view}", "DROP VIEW"),
        ("BEGIN", "BEGIN"),
        ("COMMIT", "COMMIT"),
        ("BEGIN", "BEGIN"),
        ("ROLLBACK", "ROLLBACK"),
        ("SET application_name = 'tags'", "SET"),
        ("SHOW application_name", "SHOW"),
        (f"DROP TABLE {table_name}", "DROP TABLE"),
    ]
    for sql, tag in steps:
        cur.execute(sql)
        assert cur.statusmessage == tag, sql
    # The extended protocol gives the same tags.
    extended: list[tuple[str, tuple[int, ...] | None, str]] = [
        (f"CREATE TABLE {table_name} (a INTEGER)", None, "CREATE TABLE"),
        (f"INSERT INTO {table_name} VALUES (%s), (%s)", (1, 2), "INSERT 0 2"),
        (f"SELECT a FROM {table_name} WHERE a > %s", (0,), "SELECT 2"),
        (f"UPDATE {table_name} SET a = a + %s", (10,), "UPDATE 2"),
        (f"DELETE FROM {table_name} WHERE a = %s", (11,), "DELETE 1"),
        (f"DROP TABLE {table_name}", None, "DROP TABLE"),
    ]
    for sql, params, tag in extended:
        cur.execute(sql, params, prepare=params is not None)
        assert cur.statusmessage == tag, sql


def test_rowcount(conn: psycopg.Connection, table_name: str) -> None:
    cur = conn.cursor()
    cur.execute(f"CREATE TABLE {table_name} AS SELECT range AS a FROM range(5)")
    cur.execute(f"UPDATE {table_name} SET a = a * 2 WHERE a < %s", (3,))
    assert cur.rowcount == 3
    cur.execute(f"SELECT a FROM {table_name} ORDER BY a")
    assert cur.rowcount == 5
    assert [r[0] for r in cur.fetchall()] == [0, 2, 3, 4, 4]


def test_several_statements_in_one_query(conn: psycopg.Connection, table_name: str) -> None:
    cur = conn.cursor()
    cur.execute(f"CREATE TABLE {table_name} (a INTEGER); INSERT INTO {table_name} VALUES (1), (2);"
                f" SELECT a FROM {table_name} ORDER BY a; SELECT 'two', 2.5::DOUBLE")
    results = []
    while True:
        results.append((cur.statusmessage, cur.fetchall() if cur.description else None))
        if not cur.nextset():
            break
    assert results == [
        ("CREATE TABLE", None),
        ("INSERT 0 2", None),
        ("SELECT 2", [(1,), (2,)]),
        ("SELECT 1", [("two", 2.5)]),
    ]


@pytest.mark.parametrize("sql", ["", "   ", ";", " ; ;", "-- only a comment", "/* c */"])
def test_empty_query(server: RunningServer, sql: str) -> None:
    """An empty query string answers EmptyQueryResponse then ReadyForQuery."""
    with rawclient.connect(server.host, server.port) as raw:
        raw.startup()
        raw.send(rawclient.query(sql))
        types = [t for t, _ in raw.read_until_ready()]
        assert types == [b"I", b"Z"]
        raw.send(rawclient.query("SELECT 1; ;"))
        messages = raw.read_until_ready()
        assert rawclient.data_rows(messages) == [["1"]]


def test_empty_query_psycopg(conn: psycopg.Connection) -> None:
    cur = conn.cursor()
    cur.execute("")
    assert cur.description is None
    assert cur.pgresult is not None
    assert cur.pgresult.status == psycopg.pq.ExecStatus.EMPTY_QUERY
    assert conn.execute("SELECT 1").fetchone() == (1,)


def _parses(path: Path) -> list[str]:
    """Names of the statements libpq's trace shows being parsed."""
    return re.findall(r'F\t\d+\tParse\t "(_pg3_\d+)"', path.read_text())


def test_server_side_prepared_statement(conn: psycopg.Connection, table_name: str,
                                        tmp_path: Path) -> None:
    conn.execute(f"CREATE TABLE {table_name} (id INTEGER, v VARCHAR)")
    conn.execute(f"INSERT INTO {table_name} SELECT range, 'v' || range FROM range(50)")
    trace = tmp_path / "trace.txt"
    cur = conn.cursor()
    sql = f"SELECT v FROM {table_name} WHERE id = %s"
    with trace.open("w") as out:
        conn.pgconn.trace(out.fileno())
        conn.pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
        for index in range(20):
            cur.execute(sql, (index,), prepare=True)
            assert cur.fetchall() == [(f"v{index}",)]
        conn.pgconn.untrace()
    named_parses = _parses(trace)
    binds = re.findall(r'F\t\d+\tBind\t "" "(_pg3_\d+)"', trace.read_text())
    assert len(named_parses) == 1
    assert binds == named_parses * 20


def test_prepare_threshold_zero(server: RunningServer, table_name: str, tmp_path: Path) -> None:
    with psycopg.connect(server.dsn(), autocommit=True, prepare_threshold=0) as conn:
        conn.execute(f"CREATE TABLE {table_name} (id INTEGER, v DOUBLE)")
        trace = tmp_path / "trace.txt"
        with trace.open("w") as out:
            conn.pgconn.trace(out.fileno())
            for index in range(10):
                conn.execute(f"INSERT INTO {table_name} VALUES (%s, %s)", (index, index / 4))
            for binary in (False, True):
                cur = conn.cursor(binary=binary)
                for index in range(10):
                    cur.execute(f"SELECT v FROM {table_name} WHERE id = %s", (index,))
                    assert cur.fetchone() == (index / 4,)
            conn.pgconn.untrace()
        # One named statement for the INSERT, one for the SELECT (both result formats).
        assert len(set(_parses(trace))) == 2
        assert conn.execute(f"SELECT count(*), sum(v) FROM {table_name}").fetchone() == (10, 11.25)


def test_rollback_after_automatic_prepare(server: RunningServer, table_name: str) -> None:
    """psycopg's defaults: transactions, statements prepared after 5 executions."""
    with psycopg.connect(server.dsn()) as conn:
        conn.execute(f"CREATE TABLE {table_name} (a INTEGER)")
        conn.commit()
        for index in range((conn.prepare_threshold or 0) + 1):
            conn.execute(f"SELECT count(*) FROM {table_name} WHERE a > %s", (index,))
        conn.execute(f"INSERT INTO {table_name} VALUES (1)")
        conn.rollback()
        assert conn.execute(f"SELECT count(*) FROM {table_name}").fetchone() == (0,)
        conn.execute(f"DROP TABLE {table_name}")
        conn.commit()


def test_deallocate_all(conn: psycopg.Connection) -> None:
    conn.execute("SELECT %s::INTEGER", (1,), prepare=True)
    assert conn.execute("DEALLOCATE ALL").statusmessage == "DEALLOCATE ALL"
    assert conn.execute("SELECT %s::INTEGER", (2,), prepare=True).fetchone() == (2,)


@pytest.mark.parametrize("statement", ["ALTER TABLE {t} ADD COLUMN b INTEGER", "DROP TABLE {t}"])
def test_ddl_returns_no_columns(conn: psycopg.Connection, table_name: str,
                                statement: str) -> None:
    conn.execute(f"CREATE TABLE {table_name} (a INTEGER)")
    cur = conn.execute(statement.format(t=table_name))
    assert cur.statusmessage == statement.split()[0] + " TABLE"
    assert cur.description is None


def test_parameters_in_every_position(conn: psycopg.Connection, table_name: str) -> None:
    conn.execute(f"CREATE TABLE {table_name} (id INTEGER, name VARCHAR, score DOUBLE, d DATE)")
    cur = conn.cursor()
    cur.execute(f"INSERT INTO {table_name} (id, name, score, d) VALUES (%s, %s, %s, %s)",
                (1, "ann", 1.5, dt.date(2024, 1, 1)))
    cur.execute(f"INSERT INTO {table_name} VALUES (%s, %s, %s, %s)",
                (2, "bob", None, dt.date(2024, 1, 2)))
    cur.execute(f"UPDATE {table_name} SET score = %s, name = upper(%s) WHERE id = %s",
                (9.25, "bobby", 2))
    assert cur.rowcount == 1
    cur.execute(f"SELECT id, name, score FROM {table_name} WHERE d >= %s ORDER BY id LIMIT %s",
                (dt.date(2024, 1, 1), 1))
    assert cur.fetchall() == [(1, "ann", 1.5)]
    cur.execute(f"SELECT name FROM {table_name} WHERE name IN (%s, %s) ORDER BY name OFFSET %s",
                ("ann", "BOBBY", 1))
    assert cur.fetchall() == [("ann",)]  # byte order: upper case sorts first
    cur.execute(f"SELECT count(*) FROM {table_name} WHERE name LIKE %s AND score > %s",
                ("%O%", 2))
    assert cur.fetchone() == (1,)
    cur.execute("SELECT %s || %s, %s + %s, %s IS NULL", ("a", "b", 2, 3, None))
    assert cur.fetchone() == ("ab", 5, True)


def test_parameter_types_given_and_inferred(server: RunningServer, table_name: str) -> None:
    """Parse with OID 0 lets the server infer; ParameterDescription reports what it chose."""
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table_name} (id INTEGER, v VARCHAR, n DECIMAL(10,2))")
        cases = [
            (f"SELECT v FROM {table_name} WHERE id = $1", (0,), [23]),
            (f"INSERT INTO {table_name} VALUES ($1, $2, $3)", (0, 0, 0), [23, 1043, 1700]),
            (f"UPDATE {table_name} SET v = $1 WHERE n > $2", (0, 0), [1043, 1700]),
            (f"SELECT * FROM {table_name} LIMIT $1", (0,), [20]),
            ("SELECT $1::DATE", (0,), [1082]),
            ("SELECT $1", (20,), [20]),
            (f"SELECT v FROM {table_name} WHERE id = $1", (20,), [20]),
        ]
        for sql, oids, expected in cases:
            result = conn.pgconn.prepare(b"", sql.encode(), list(oids))
            assert result.status == psycopg.pq.ExecStatus.COMMAND_OK, result.error_message
            described = conn.pgconn.describe_prepared(b"")
            assert described.status == psycopg.pq.ExecStatus.COMMAND_OK
            assert [described.param_type(i) for i in range(described.nparams)] == expected, sql


def test_executemany(conn: psycopg.Connection, table_name: str) -> None:
    conn.execute(f"CREATE TABLE {table_name} (id INTEGER, v VARCHAR, f DOUBLE)")
    rows = [(i, f"row {i}", i * 0.5) for i in range(200)]
    cur = conn.cursor()
    cur.executemany(f"INSERT INTO {table_name} VALUES (%s, %s, %s)", rows)
    assert cur.rowcount == 200
    cur.execute(f"SELECT id, v, f FROM {table_name} ORDER BY id")
    assert cur.fetchall() == rows


def test_pipeline(conn: psycopg.Connection, table_name: str) -> None:
    conn.execute(f"CREATE TABLE {table_name} (id INTEGER, v VARCHAR)")
    with conn.pipeline() as pipeline:
        inserts = [conn.execute(f"INSERT INTO {table_name} VALUES (%s, %s)", (i, f"p{i}"))
                   for i in range(5)]
        counted = conn.execute(f"SELECT count(*) FROM {table_name}")
        summed = conn.cursor(binary=True).execute(f"SELECT sum(id) FROM {table_name} WHERE id > %s",
                                                  (1,))
        pipeline.sync()
        assert counted.fetchone() == (5,)
        assert summed.fetchone() == (Decimal(9),)  # sum(INTEGER) is HUGEINT: numeric
    assert [c.statusmessage for c in inserts] == ["INSERT 0 1"] * 5
    assert conn.execute(f"SELECT string_agg(v, ',' ORDER BY id) FROM {table_name}").fetchone() == (
        "p0,p1,p2,p3,p4",)


def test_pipeline_error_rolls_back_to_sync(conn: psycopg.Connection, table_name: str) -> None:
    conn.execute(f"CREATE TABLE {table_name} (id INTEGER)")
    with pytest.raises(pgerrors.UndefinedTable), conn.pipeline():
        conn.execute(f"INSERT INTO {table_name} VALUES (%s)", (1,))
        conn.execute("SELECT * FROM no_such_table_p WHERE x = %s", (1,))
        conn.execute(f"INSERT INTO {table_name} VALUES (%s)", (2,))
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    ids = [r[0] for r in conn.execute(f"SELECT id FROM {table_name}").fetchall()]
    # The failing Sync group is one implicit transaction: nothing in it is kept.
    assert ids == []


def test_large_result(conn: psycopg.Connection) -> None:
    for binary in (False, True):
        cur = conn.cursor(binary=binary)
        cur.execute("SELECT range AS i, 'x' || range AS s FROM range(300000)")
        rows = cur.fetchall()
        assert len(rows) == 300000
        assert rows[0] == (0, "x0") and rows[-1] == (299999, "x299999")
        assert cur.statusmessage == "SELECT 300000"


def test_version_function(conn: psycopg.Connection) -> None:
    row = conn.execute("SELECT version()").fetchone()
    assert row is not None
    assert re.match(r"PostgreSQL \d+\.\d+", row[0])


# -- ParameterStatus and SET / SHOW ---------------------------------------------------------
def test_startup_parameters(server: RunningServer) -> None:
    with psycopg.connect(server.dsn(application_name="forge-tests"), autocommit=True) as conn:
        info = conn.info
        assert info.parameter_status("application_name") == "forge-tests"
        version = info.parameter_status("server_version")
        assert version is not None
        major = re.match(r"(\d+)", version)
        assert major is not None and int(major.group(1)) >= 14
        assert info.server_version >= 140000
        assert info.parameter_status("client_encoding") == "UTF8"
        assert info.parameter_status("server_encoding") == "UTF8"
        assert (info.parameter_status("DateStyle") or "").startswith("ISO")
        assert info.parameter_status("integer_datetimes") == "on"
        assert info.parameter_status("standard_conforming_strings") == "on"
        assert info.parameter_status("TimeZone") == "UTC"
        assert info.parameter_status("IntervalStyle") == "postgres"
        assert info.parameter_status("session_authorization") == "forge"
        assert info.backend_pid > 0
        assert conn.execute("SHOW application_name").fetchone() == ("forge-tests",)


def test_startup_options_set_parameters(server: RunningServer) -> None:
    dsn = server.dsn(options="'-c TimeZone=Europe/Paris'")
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute("SHOW TimeZone").fetchone() == ("Europe/Paris",)
        cur = conn.cursor()
        cur.adapters.register_loader("timestamptz", TextLoader)
        cur.execute("SELECT TIMESTAMPTZ '2024-01-01 10:00:00+00'")
        assert cur.fetchone() == ("2024-01-01 11:00:00+01",)


def test_startup_options_reported_in_parameter_status(server: RunningServer) -> None:
    dsn = server.dsn(options="'-c TimeZone=Europe/Paris'")
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.info.parameter_status("TimeZone") == "Europe/Paris"


def test_set_time_zone(conn: psycopg.Connection) -> None:
    cur = conn.execute("SET TimeZone = 'America/New_York'")
    assert cur.statusmessage == "SET"
    assert conn.info.parameter_status("TimeZone") == "America/New_York"
    assert conn.execute("SHOW TimeZone").fetchone() == ("America/New_York",)
    cur = conn.execute("SELECT TIMESTAMPTZ '2024-01-01 10:00:00+00'")
    row = cur.fetchone()
    assert row is not None and row[0].utcoffset() == dt.timedelta(hours=-5)
    conn.execute("SET TIME ZONE 'UTC'")
    assert conn.info.parameter_status("TimeZone") == "UTC"
    conn.execute("SET TimeZone TO 'Asia/Tokyo'")
    assert conn.info.parameter_status("TimeZone") == "Asia/Tokyo"
    conn.execute("RESET TimeZone")
    assert conn.info.parameter_status("TimeZone") == "UTC"


def test_timestamptz_cast_to_text_uses_session_time_zone(conn: psycopg.Connection) -> None:
    conn.execute("SET TimeZone = 'America/New_York'")
    row = conn.execute("SELECT TIMESTAMPTZ '2024-01-01 10:00:00+00'::VARCHAR").fetchone()
    assert row == ("2024-01-01 05:00:00-05",)


def test_set_application_name_reported(conn: psycopg.Connection) -> None:
    conn.execute("SET application_name = 'renamed'")
    assert conn.info.parameter_status("application_name") == "renamed"
    assert conn.execute("SHOW application_name").fetchone() == ("renamed",)


@pytest.mark.parametrize(("name", "value"), [
    ("server_version", None), ("client_encoding", "UTF8"), ("DateStyle", "ISO, MDY"),
    ("standard_conforming_strings", "on"), ("integer_datetimes", "on"),
    ("transaction isolation level", None), ("search_path", None),
])
def test_show(conn: psycopg.Connection, name: str, value: str | None) -> None:
    cur = conn.execute(f"SHOW {name}")
    assert cur.description is not None and len(cur.description) == 1
    assert cur.description[0].type_code in (25, 1043)
    row = cur.fetchone()
    assert row is not None and isinstance(row[0], str) and row[0]
    if value is not None:
        assert row[0] == value


def test_show_unknown_setting(conn: psycopg.Connection) -> None:
    with pytest.raises(psycopg.Error) as info:
        conn.execute("SET no_such_setting_here = 1")
    assert info.value.sqlstate == "42704"
    assert conn.execute("SELECT 1").fetchone() == (1,)


def test_set_read_only_setting(conn: psycopg.Connection) -> None:
    with pytest.raises(psycopg.Error) as info:
        conn.execute("SET server_version = '99'")
    assert info.value.sqlstate == "55P02"
    assert conn.info.parameter_status("server_version") != "99"
