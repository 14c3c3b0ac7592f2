"""Replay of the statements BI tools and drivers send on connect and browse
(shared/corpus beside the repository): each succeeds, and the important ones return the
rows the tool needs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from server import RunningServer, start_server

REPOSITORY = Path(__file__).resolve().parents[2]
# The corpus lives beside the repository (worktrees sit one level deeper).
CORPUS = next(
    (p / "shared" / "corpus" for p in REPOSITORY.parents if (p / "shared" / "corpus").is_dir()),
    None,
)
pytestmark = pytest.mark.skipif(CORPUS is None, reason="shared/corpus is not present")

# Statements the corpus README says fail on PostgreSQL too, with the error PostgreSQL gives.
FAILS_ON_POSTGRESQL: dict[str, type[psycopg.Error]] = {
    # Duckgres's own function; PostgreSQL has none.
    "SELECT worker_version()": psycopg.errors.UndefinedFunction,
    # An extension's view; PostgreSQL does not install it by default.
    "SELECT * FROM pg_stat_statements LIMIT 5": psycopg.errors.UndefinedTable,
    # relnamespace is an oid: PostgreSQL refuses 'public' as one (22P02).
    "select c.oid,pg_catalog.pg_total_relation_size(c.oid) as total_rel_size,"
    "pg_catalog.pg_relation_size(c.oid) as rel_size\n     FROM pg_class c\n"
    "     WHERE c.relnamespace='public'": psycopg.errors.InvalidTextRepresentation,
}


Rows = list[tuple[Any, ...]]


def _names(rows: Rows, column: int = 0) -> set[Any]:
    return {row[column] for row in rows}


# What the tools need from the answers, keyed by a piece of the statement that identifies it.
NEEDED: dict[str, Callable[[Rows], bool]] = {
    # DBeaver: schemas with comments, then the catalog's own relations.
    "SELECT n.oid,n.*,d.description FROM pg_catalog.pg_namespace n": lambda rows: (
        {"public", "pg_catalog", "information_schema"} <= _names(rows, 2)
        and "forge_meta" not in _names(rows, 2)
    ),
    "WHERE c.relnamespace=11 AND c.relkind not in": lambda rows: (
        {"pg_class", "pg_attribute", "pg_type"} <= _names(rows, 2)
    ),
    # Metabase: schemas, privileges and the table list with comments and row estimates.
    'SELECT nspname AS "TABLE_SCHEM"': lambda rows: "public" in _names(rows),
    "with table_privileges as": lambda rows: (None, "public", "clubs", True, True, True, True)
    in rows,
    'AS "estimated_row_count"': lambda rows: (
        ("public", "clubs", "TABLE", "football clubs", 0) in rows
        and ("public", "recent_games", "VIEW", None, None) in rows
    ),
    # Grafana: the table picker (names qualified unless current_setting('search_path')
    # lists the schema) and the columns of public.games.
    "FROM information_schema.tables\n": lambda rows: {"clubs", "games"}
    <= {name.removeprefix("public.") for name in _names(rows)},
    "parse_ident('public.games')": lambda rows: rows
    == [("id", "integer"), ("home", "bigint"), ("score", "numeric")],
    # pgcli: completion lists of tables, views and columns.
    "WHERE   c.relkind = ANY('{r,p,f}')": lambda rows: ("public", "clubs") in rows,
    "WHERE   c.relkind = ANY('{v,m}')": lambda rows: ("public", "recent_games") in rows,
    "INNER JOIN pg_catalog.pg_class cls": lambda rows: (
        ("public", "clubs", "id", "bigint", False, None) in rows
        or ("public", "recent_games", "id", "integer", False, None) in rows
    ),
    "SELECT d.datname\n": lambda rows: rows == [("forge",)],
    # ADBC: the columns of a table it appends to.
    "cls.oid = 'clubs'::regclass::oid": lambda rows: rows
    == [("id", 20), ("name", 1043), ("founded", 1082)],
    # catalog_queries.yaml
    "SELECT format_type(1043, 54)": lambda rows: rows == [("character varying(50)",)],
    "SELECT format_type(1700, 655366)": lambda rows: rows == [("numeric(10,2)",)],
    "SELECT pg_get_userbyid(10)": lambda rows: rows == [("forge",)],
    "SELECT pg_encoding_to_char(6)": lambda rows: rows == [("UTF8",)],
    "SELECT pg_size_pretty(1048576)": lambda rows: rows == [("1024 kB",)],
    "SELECT quote_ident('my_table')": lambda rows: rows == [("my_table",)],
    "SELECT quote_literal('hello')": lambda rows: rows == [("'hello'",)],
    "FROM information_schema.schemata WHERE": lambda rows: "public" in _names(rows)
    and "forge_meta" not in _names(rows)
    and not [name for name in _names(rows) if name.startswith("pg_")],
    "pg_catalog.pg_get_userbyid(c.relowner) as \"Owner\"": lambda rows: (
        ("public", "clubs", "table", "forge") in rows
    ),
    'pg_catalog.pg_get_userbyid(n.nspowner) AS "Owner"': lambda rows: ("public", "forge")
    in rows,
    'as "Encoding" FROM pg_catalog.pg_database d ORDER BY 1': lambda rows: rows
    == [("forge", "forge", "UTF8")],
    "SELECT relname FROM pg_stat_user_tables": lambda rows: bool(rows),
    "SELECT typname, typtype FROM pg_type LIMIT 10": lambda rows: len(rows) == 10,
}


def _tool_statements() -> list[tuple[str, int, str]]:
    if CORPUS is None:
        return []
    data = yaml.safe_load((CORPUS / "bi_tool_queries.yaml").read_text())
    return [
        (tool, index, sql)
        for tool, statements in sorted(data["tools"].items())
        for index, sql in enumerate(statements)
    ]


def _catalog_statements() -> list[dict[str, Any]]:
    if CORPUS is None:
        return []
    return list(yaml.safe_load((CORPUS / "catalog_queries.yaml").read_text()))


@pytest.fixture(scope="module")
def corpus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server of its own, with the objects the captured statements name."""
    running = start_server(tmp_path_factory.mktemp("corpus") / "data")
    with psycopg.connect(running.dsn(), autocommit=True) as conn:
        conn.execute("CREATE TABLE clubs (id BIGINT PRIMARY KEY, name VARCHAR, founded DATE)")
        conn.execute("COMMENT ON TABLE clubs IS 'football clubs'")
        conn.execute("CREATE TABLE games (id INTEGER, home BIGINT, score DECIMAL(5,1))")
        conn.execute("CREATE VIEW recent_games AS SELECT id, score FROM games")
    yield running
    err = running.stop()
    assert "Traceback" not in err, err


def _run(conn: psycopg.Connection, sql: str) -> list[tuple[Any, ...]]:
    cur = conn.execute(sql)
    return cur.fetchall() if cur.description is not None else []


def _check(server: RunningServer, sql: str) -> None:
    """``sql`` succeeds (or fails as on PostgreSQL) and answers what the tool needs."""
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        expected = FAILS_ON_POSTGRESQL.get(sql)
        if expected is not None:
            with pytest.raises(expected):
                _run(conn, sql)
            return
        rows = _run(conn, sql)
    for piece, needed in NEEDED.items():
        if piece in sql:
            assert needed(rows), f"{sql[:120]!r} answered {rows[:20]!r}"


def test_needed_rows_are_checked() -> None:
    """Each entry of NEEDED matches a statement of the corpus (none is silently unused)."""
    corpus = [sql for _, _, sql in _tool_statements()] + [
        item["sql"] for item in _catalog_statements()
    ]
    unused = [piece for piece in NEEDED if not any(piece in sql for sql in corpus)]
    assert unused == []


@pytest.mark.parametrize(("tool", "index", "sql"), _tool_statements(),
                         ids=lambda v: v if isinstance(v, str) and len(v) < 20 else None)
def test_tool_statement(corpus_server: RunningServer, tool: str, index: int, sql: str) -> None:
    _check(corpus_server, sql)


@pytest.mark.parametrize("item", _catalog_statements(), ids=lambda i: f"{i['suite']}-{i['name']}")
def test_catalog_statement(corpus_server: RunningServer, item: dict[str, Any]) -> None:
    _check(corpus_server, item["sql"])
