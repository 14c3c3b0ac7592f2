"""psql as a real client: the simple query protocol and PostgreSQL's text output formats."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from server import RunningServer

pytestmark = pytest.mark.usefixtures("psql_installed")


def psql(server: RunningServer, *args: str, stdin: str | None = None,
         dsn: str | None = None, env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess[str]:
    """Run psql without reading ~/.psqlrc (-X) or prompting for a password (-w)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    clean.update({"PGCONNECT_TIMEOUT": "10", **(env or {})})
    return subprocess.run(
        ["psql", dsn or server.dsn(), "-X", "-w", *args],
        input=stdin, capture_output=True, text=True, timeout=60, env=clean,
    )


def query(server: RunningServer, sql: str) -> str:
    """Unaligned, tuples-only output of ``sql``; fails on any error."""
    done = psql(server, "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout


@pytest.mark.parametrize(("sql", "expected"), [
    ("SELECT true, false", "t|f"),
    ("SELECT NULL::INTEGER, 'x'", "|x"),
    ("SELECT 1::SMALLINT, 2::INTEGER, -3::BIGINT, 2::HUGEINT, 18446744073709551615::UBIGINT",
     "1|2|-3|2|18446744073709551615"),
    ("SELECT 1.50::DECIMAL(5,2), 0.1::DOUBLE, 1.5::REAL", "1.50|0.1|1.5"),
    ("SELECT INTERVAL '1 day 2 hours', INTERVAL '3 months', INTERVAL '-90 minutes'",
     "1 day 02:00:00|3 mons|-01:30:00"),
    ("SELECT 'AB'::BLOB, ''::BLOB", "\\x4142|\\x"),
    ("SELECT [1, 2], ['a', 'b c', NULL], []::INTEGER[]", '{1,2}|{a,"b c",NULL}|{}'),
    ("SELECT DATE '2024-01-31', TIME '13:14:15'", "2024-01-31|13:14:15"),
    ("SELECT TIMESTAMP '2024-01-01 10:00:00', TIMESTAMP '2024-01-01 10:00:00.25'",
     "2024-01-01 10:00:00|2024-01-01 10:00:00.25"),
    ("SELECT TIMESTAMPTZ '2024-01-01 10:00:00+00'", "2024-01-01 10:00:00+00"),
    ("SELECT '6ecd8c99-4036-403d-bf84-cf8400f67836'::UUID",
     "6ecd8c99-4036-403d-bf84-cf8400f67836"),
    ("SELECT 'it''s', 'ü✓'", "it's|ü✓"),
])
def test_text_output(server: RunningServer, sql: str, expected: str) -> None:
    assert query(server, sql) == expected + "\n"


def test_struct_output_is_json(server: RunningServer) -> None:
    assert json.loads(query(server, "SELECT {'a': 1, 'b': [1, 2], 'c': NULL}")) == {
        "a": 1, "b": [1, 2], "c": None}


def test_time_zone_changes_output(server: RunningServer) -> None:
    out = query(server, "SET TimeZone = 'America/New_York'; "
                        "SELECT TIMESTAMPTZ '2024-01-01 10:00:00+00'; SHOW TimeZone")
    assert out.splitlines() == ["SET", "2024-01-01 05:00:00-05", "America/New_York"]


def test_several_statements_in_one_command(server: RunningServer, table_name: str) -> None:
    out = query(server, f"CREATE TABLE {table_name} (a INTEGER, b VARCHAR); "
                        f"INSERT INTO {table_name} VALUES (1, 'x'), (2, 'y'), (3, NULL); "
                        f"UPDATE {table_name} SET b = 'z' WHERE a = 3; "
                        f"SELECT a, b FROM {table_name} ORDER BY a; "
                        f"DELETE FROM {table_name} WHERE a < 3")
    assert out.splitlines() == [
        "CREATE TABLE", "INSERT 0 3", "UPDATE 1", "1|x", "2|y", "3|z", "DELETE 2",
    ]
    assert query(server, f"SELECT count(*) FROM {table_name}") == "1\n"


def test_drop_and_alter_print_only_the_tag(server: RunningServer, table_name: str) -> None:
    out = query(server, f"CREATE TABLE {table_name} (a INTEGER); "
                        f"ALTER TABLE {table_name} ADD COLUMN b INTEGER; DROP TABLE {table_name}")
    assert out.splitlines() == ["CREATE TABLE", "ALTER TABLE", "DROP TABLE"]


def test_several_c_options(server: RunningServer) -> None:
    done = psql(server, "-A", "-t", "-c", "SELECT 1", "-c", "SELECT 'two'", "-c", "SELECT 3.5")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["1", "two", "3.5"]


def test_aligned_output_with_headers(server: RunningServer) -> None:
    done = psql(server, "-c", "SELECT 1 AS a, 'xy' AS b UNION ALL SELECT 22, NULL ORDER BY a")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        " a  | b  ", "----+----", "  1 | xy", " 22 | ", "(2 rows)", "",
    ]


def test_error_reports_sqlstate_with_verbose_verbosity(server: RunningServer) -> None:
    script = "\\set VERBOSITY verbose\nSELECT * FROM no_such_table_psql;\nSELECT 'not reached';\n"
    done = psql(server, "-A", "-t", "-v", "ON_ERROR_STOP=1", stdin=script)
    assert done.returncode == 3  # ON_ERROR_STOP: "an error occurred in a script"
    assert "ERROR:  42P01:" in done.stderr
    assert "LINE 1: SELECT * FROM no_such_table_psql;" in done.stderr
    assert "not reached" not in done.stdout


def test_script_continues_after_error_without_on_error_stop(server: RunningServer) -> None:
    script = "SELECT 'x'::INTEGER;\nSELECT 'reached';\n"
    done = psql(server, "-A", "-t", "-v", "VERBOSITY=verbose", stdin=script)
    assert done.returncode == 0
    assert "ERROR:  22P02:" in done.stderr
    assert done.stdout == "reached\n"


def test_on_error_stop_with_command(server: RunningServer) -> None:
    done = psql(server, "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", "SELEC 1")
    assert done.returncode == 1
    assert "ERROR:" in done.stderr and "syntax error" in done.stderr


def test_transaction_in_script(server: RunningServer, table_name: str) -> None:
    script = (f"CREATE TABLE {table_name} (a INTEGER);\n"
              "BEGIN;\n"
              f"INSERT INTO {table_name} VALUES (1);\n"
              "SELECT * FROM no_such_table_psql2;\n"
              f"INSERT INTO {table_name} VALUES (2);\n"
              "COMMIT;\n"
              f"SELECT count(*) FROM {table_name};\n")
    done = psql(server, "-A", "-t", "-v", "VERBOSITY=verbose", stdin=script)
    assert done.returncode == 0
    assert done.stdout.splitlines() == ["CREATE TABLE", "BEGIN", "INSERT 0 1", "ROLLBACK", "0"]
    assert "ERROR:  42P01:" in done.stderr
    assert "ERROR:  25P02:" in done.stderr


def test_empty_statement(server: RunningServer) -> None:
    done = psql(server, "-A", "-t", "-c", ";")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""


def test_connection_uri(server: RunningServer) -> None:
    done = psql(server, "-A", "-t", "-c", "SELECT 40 + 2", dsn=server.url())
    assert done.returncode == 0, done.stderr
    assert done.stdout == "42\n"
