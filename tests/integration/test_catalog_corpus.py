"""Replay of the statements BI tools and drivers send on connect and browse
(shared/corpus beside the repository): each succeeds, the important ones return the rows
the tool needs, and each gives the column names and types a real PostgreSQL gives for the
same objects."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from postgres import PostgresServer, postgres  # noqa: F401
from server import RunningServer, start_server

from forge_sql.seam import oids

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


OBJECTS = [
    "CREATE TABLE clubs (id BIGINT PRIMARY KEY, name VARCHAR, founded DATE)",
    "COMMENT ON TABLE clubs IS 'football clubs'",
    "CREATE TABLE games (id INTEGER, home BIGINT, score DECIMAL(5,1))",
    "CREATE VIEW recent_games AS SELECT id, score FROM games",
]

# PostgreSQL types of catalog columns that a DuckDB result cannot carry, and the types they
# arrive as (PostgreSQL's type -> the ones accepted): OID-like values as int8, names and
# other text-like catalog types as varchar or text, vectors as arrays of their elements.
_TEXTUAL = {oids.VARCHAR, oids.TEXT}
CARRIED_AS: dict[int, set[int]] = {
    oids.OID: {oids.INT8},
    28: {oids.INT8},  # xid
    oids.REGPROC: {oids.INT8, *_TEXTUAL},  # regproc columns hold names, casts the name
    2205: _TEXTUAL,  # regclass
    2206: _TEXTUAL,  # regtype
    oids.NAME: _TEXTUAL,
    oids.TEXT: _TEXTUAL,
    oids.CHAR: _TEXTUAL,
    194: _TEXTUAL,  # pg_node_tree
    869: _TEXTUAL,  # inet
    22: {1005, *_TEXTUAL},  # int2vector: a list, indoption its printed text
    30: {oids.ARRAY_OF[oids.INT8]},  # oidvector
    oids.OID_ARRAY: {oids.ARRAY_OF[oids.INT8]},
    oids.TEXT_ARRAY: {oids.VARCHAR_ARRAY, oids.TEXT_ARRAY},
    oids.NAME_ARRAY: {oids.VARCHAR_ARRAY, oids.TEXT_ARRAY},
    oids.CHAR_ARRAY: {oids.VARCHAR_ARRAY, oids.TEXT_ARRAY},
    1034: {oids.VARCHAR_ARRAY, oids.TEXT_ARRAY},  # aclitem[]
}
# Columns PostgreSQL 16 added, which forge-sql presents (its server_version is 16) and an
# older PostgreSQL fixture lacks.
POSTGRES_16_COLUMNS = {"daticurules", "collicurules", "oid", "inherit_option", "set_option"}
# Differences the catalog cannot fix, with where they are decided: (a piece of the
# statement, forge-sql's column name, PostgreSQL's).
OTHER_NAMES = {
    # SHOW's result column is named by the session's SHOW handling (lower case).
    ("show time", "timezone", "TimeZone"),
    # An unnamed NULL is ?column? in PostgreSQL (result naming).
    ("SELECT pubname", "NULL", "?column?"),
}
# Statement piece -> column whose type is decided elsewhere: an untyped NULL in a CTE is
# text in PostgreSQL (parameter and literal typing).
OTHER_TYPES = {("with table_privileges as", "role")}


def _described(dsn: str, sql: str) -> list[tuple[str, int]] | None:
    """The result's (name, type OID) pairs, None when the statement fails."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        try:
            cur = conn.execute(sql)
        except psycopg.Error:
            return None
        return [(column.name, column.type_code) for column in cur.description or ()]


@pytest.fixture(scope="module")
def corpus_postgres(postgres: PostgresServer) -> str:  # noqa: F811
    """A PostgreSQL database with the same objects as corpus_server."""
    name = f"corpus_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres.dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = f"host=127.0.0.1 port={postgres.port} dbname={name} user=postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in OBJECTS:
            conn.execute(statement)
    return dsn


@pytest.fixture(scope="module")
def corpus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server of its own, with the objects the captured statements name."""
    running = start_server(tmp_path_factory.mktemp("corpus") / "data")
    with psycopg.connect(running.dsn(), autocommit=True) as conn:
        for statement in OBJECTS:
            conn.execute(statement)
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


def _same_columns(sql: str, forge: list[tuple[str, int]], pg: list[tuple[str, int]]) -> None:
    pg_names = {name for name, _ in pg}
    forge = [(n, t) for n, t in forge if n in pg_names or n not in POSTGRES_16_COLUMNS]
    assert len(forge) == len(pg), f"{sql[:120]!r}: {forge} vs {pg}"
    for (name, kind), (pg_name, pg_kind) in zip(forge, pg, strict=True):
        known = any(piece in sql and (name, pg_name) == (a, b) for piece, a, b in OTHER_NAMES)
        assert name == pg_name or known, f"{sql[:120]!r}: column {name!r}, not {pg_name!r}"
        other = any(piece in sql and column == pg_name for piece, column in OTHER_TYPES)
        assert kind == pg_kind or kind in CARRIED_AS.get(pg_kind, ()) or other, (
            f"{sql[:120]!r}: column {name!r} has type {kind}, PostgreSQL's is {pg_kind}"
        )


@pytest.mark.parametrize("sql", [sql for _, _, sql in _tool_statements()]
                         + [item["sql"] for item in _catalog_statements()],
                         ids=lambda sql: " ".join(sql.split())[:40])
def test_columns_as_on_postgres(corpus_server: RunningServer, corpus_postgres: str,
                                sql: str) -> None:
    """Column names and type OIDs as PostgreSQL's, where PostgreSQL runs the statement."""
    pg = _described(corpus_postgres, sql)
    if pg is None:
        return  # FAILS_ON_POSTGRESQL, or a newer psql's statement an older server refuses
    forge = _described(corpus_server.dsn(), sql)
    assert forge is not None, f"{sql[:120]!r} failed"
    _same_columns(sql, forge, pg)
