"""Replay of the statements BI tools and drivers send on connect and browse
(shared/corpus beside the repository): each succeeds, and the important ones return the
rows the tool needs."""

from __future__ import annotations

from collections.abc import Iterator
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
        conn.execute("CREATE TABLE clubs (id BIGINT NOT NULL, name VARCHAR, founded DATE)")
        conn.execute("COMMENT ON TABLE clubs IS 'football clubs'")
        conn.execute("CREATE TABLE games (id INTEGER, home BIGINT, score DECIMAL(5,1))")
        conn.execute("CREATE VIEW recent_games AS SELECT id, score FROM games")
        conn.execute(
            "INSERT INTO forge_meta.constraints (schema_name, table_name, name, kind, columns) "
            "VALUES ('public', 'clubs', 'clubs_pkey', 'p', ['id'])"
        )
    yield running
    err = running.stop()
    assert "Traceback" not in err, err


def _run(conn: psycopg.Connection, sql: str) -> list[tuple[Any, ...]]:
    cur = conn.execute(sql)
    return cur.fetchall() if cur.description is not None else []


def _check(server: RunningServer, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        expected = FAILS_ON_POSTGRESQL.get(sql)
        if expected is not None:
            with pytest.raises(expected):
                _run(conn, sql)
            return []
        return _run(conn, sql)


@pytest.mark.parametrize(("tool", "index", "sql"), _tool_statements(),
                         ids=lambda v: v if isinstance(v, str) and len(v) < 20 else None)
def test_tool_statement(corpus_server: RunningServer, tool: str, index: int, sql: str) -> None:
    _check(corpus_server, sql)


@pytest.mark.parametrize("item", _catalog_statements(), ids=lambda i: f"{i['suite']}-{i['name']}")
def test_catalog_statement(corpus_server: RunningServer, item: dict[str, Any]) -> None:
    _check(corpus_server, item["sql"])
