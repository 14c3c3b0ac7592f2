"""psql's describe commands (\\l \\dn \\dt \\dv \\di \\df \\du \\d \\d+ \\x) list what the
lake holds: names, types, NOT NULL, defaults, comments and declared keys."""

from __future__ import annotations

import shutil

import psycopg
import pytest
from server import RunningServer
from test_psql import psql

pytestmark = pytest.mark.skipif(shutil.which("psql") is None, reason="psql is not installed")


def describe(server: RunningServer, command: str, *options: str) -> str:
    done = psql(server, "-v", "ON_ERROR_STOP=1", *options, "-c", command)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout


@pytest.fixture
def table(conn: psycopg.Connection, table_name: str) -> str:
    """A table with comments, NOT NULL, a default, declared keys, a check and indexes."""
    conn.execute(f"CREATE TABLE {table_name}_team (id BIGINT PRIMARY KEY, code VARCHAR UNIQUE)")
    conn.execute(f"CREATE TABLE {table_name} (id BIGINT NOT NULL PRIMARY KEY, "
                 f"name VARCHAR DEFAULT 'x', price DECIMAL(10,2) CHECK (price > 0), "
                 f"tags VARCHAR[], seen TIMESTAMPTZ, "
                 f"team BIGINT REFERENCES {table_name}_team (id) ON DELETE CASCADE)")
    conn.execute(f"COMMENT ON TABLE {table_name} IS 'things we sell'")
    conn.execute(f"COMMENT ON COLUMN {table_name}.name IS 'display name'")
    conn.execute(f"CREATE VIEW {table_name}_v AS SELECT id, name FROM {table_name}")
    conn.execute(f"CREATE INDEX {table_name}_seen_idx ON {table_name} (seen DESC, name)")
    return table_name


def rows(output: str) -> list[list[str]]:
    """The cells of psql's aligned table output (title, header and footer left out)."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if set(line) <= set("-+") and line) + 1
    found = []
    for line in lines[start:]:
        if not line.strip() or line.startswith("(") or "|" not in line:
            break
        found.append([cell.strip() for cell in line.split("|")])
    return found


def test_list_databases(server: RunningServer) -> None:
    assert ["forge", "forge", "UTF8", "C", "C", "", "libc", ""] in rows(describe(server, r"\l"))


def test_list_schemas_hides_bookkeeping(server: RunningServer) -> None:
    names = [row[0] for row in rows(describe(server, r"\dn"))]
    assert "public" in names
    assert "forge_meta" not in names
    assert not [name for name in names if name.startswith("pg_")]


def test_list_tables_views_indexes(server: RunningServer, table: str) -> None:
    assert ["public", table, "table", "forge"] in rows(describe(server, r"\dt"))
    assert ["public", f"{table}_v", "view", "forge"] in rows(describe(server, r"\dv"))
    indexes = rows(describe(server, r"\di"))
    assert ["public", f"{table}_pkey", "index", "forge", table] in indexes
    assert ["public", f"{table}_seen_idx", "index", "forge", table] in indexes
    tables = rows(describe(server, r"\dt+"))
    assert [row[-1] for row in tables if row[1] == table] == ["things we sell"]
    assert "constraints" not in [row[1] for row in tables]


def test_describe_table(server: RunningServer, table: str) -> None:
    out = describe(server, rf"\d {table}")
    assert f'Table "public.{table}"' in out
    assert rows(out) == [
        ["id", "bigint", "", "not null", ""],
        ["name", "character varying", "", "", "'x'::character varying"],
        ["price", "numeric(10,2)", "", "", ""],
        ["tags", "character varying[]", "", "", ""],
        ["seen", "timestamp with time zone", "", "", ""],
        ["team", "bigint", "", "", ""],
    ]
    assert f'"{table}_pkey" PRIMARY KEY, btree (id)' in out
    assert f'"{table}_seen_idx" btree (seen DESC, name)' in out
    # psql asks for the pretty form: one pair of brackets (PostgreSQL adds ::numeric to 0)
    assert f'"{table}_price_check" CHECK (price > 0)' in out
    assert (f'"{table}_team_fkey" FOREIGN KEY (team) REFERENCES {table}_team(id) '
            "ON DELETE CASCADE") in out
    referenced = describe(server, rf"\d {table}_team")
    assert f'"{table}_team_code_key" UNIQUE CONSTRAINT, btree (code)' in referenced
    assert f'TABLE "{table}" CONSTRAINT "{table}_team_fkey" FOREIGN KEY' in referenced


def test_describe_table_verbose(server: RunningServer, table: str) -> None:
    out = describe(server, rf"\d+ {table}")
    described = {row[0]: row for row in rows(out)}
    assert described["name"][-1] == "display name"
    assert described["id"][-1] == ""
    assert "Access method: heap" in out


def test_describe_view(server: RunningServer, table: str) -> None:
    out = describe(server, rf"\d+ {table}_v")
    assert [row[:2] for row in rows(out)] == [["id", "bigint"], ["name", "character varying"]]
    assert "View definition:" in out and f"FROM {table}" in out


def test_expanded_display(server: RunningServer, table: str) -> None:
    sql = (f"SELECT c.relname, c.relkind, d.description FROM pg_catalog.pg_class c "
           f"LEFT JOIN pg_catalog.pg_description d ON d.objoid = c.oid AND d.objsubid = 0 "
           f"WHERE c.relname = '{table}';")
    done = psql(server, "-v", "ON_ERROR_STOP=1", stdin=f"\\x on\n{sql}\n")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "Expanded display is on."
    assert lines[1].startswith("-[ RECORD 1 ]")
    assert [line.split("|") for line in lines[2:5]] == [
        ["relname     ", f" {table}"], ["relkind     ", " r"], ["description ", " things we sell"]]


def test_list_functions_and_roles(server: RunningServer, conn: psycopg.Connection,
                                  table_name: str) -> None:
    conn.execute(f"CREATE MACRO {table_name}_twice(a) AS a * 2")
    functions = rows(describe(server, r"\df"))
    assert [row[:2] for row in functions if row[1] == f"{table_name}_twice"] == [
        ["public", f"{table_name}_twice"]]
    roles = rows(describe(server, r"\du"))
    assert roles[0][0] == "forge" and "Superuser" in roles[0][1]
