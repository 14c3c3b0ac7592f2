"""A statement is tokenized and parsed once on its way through the engine: split makes the
tokens and DuckDB's parse, and execution runs that parse."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import duckdb
import pytest

from forge_sql.config import Settings
from forge_sql.engine import column_names, relations
from forge_sql.engine.backend import Engine
from forge_sql.engine.plans import Plan
from forge_sql.engine.session import EngineSession
from forge_sql.seam.backend import StartupInfo
from forge_sql.sql import parse_tree, statements, tokens


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    opened = Engine(Settings(data_dir=tmp_path_factory.mktemp("parsed") / "data"))
    try:
        yield opened
    finally:
        opened.database.close()


@pytest.fixture(scope="module")
def session(engine: Engine) -> Iterator[EngineSession]:
    opened = engine.open_session(StartupInfo("forge", engine.settings.database))
    try:
        yield opened
    finally:
        opened.close()


class Counter:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: dict[str, int] = {}
        self._monkeypatch = monkeypatch

    def wrap(self, owner: object, name: str) -> None:
        original: Callable[..., Any] = getattr(owner, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            return original(*args, **kwargs)

        self._monkeypatch.setattr(owner, name, counted)


@pytest.fixture
def counter(monkeypatch: pytest.MonkeyPatch, session: EngineSession) -> Counter:
    # The lake's views calling table functions (the shipped ml extension's) are parsed once
    # and kept (engine.table_functions.expand_views): read them before counting.
    [warm] = session.split("SELECT 2")
    session.execute(warm, ()).close()
    session._texts.clear()  # the split each query string had in earlier tests
    counter = Counter(monkeypatch)
    counter.wrap(tokens.duckdb, "tokenize")
    counter.wrap(statements.duckdb, "extract_statements")
    parse_tree.statements.cache_clear()
    counter.wrap(column_names, "_parse")  # json_serialize_sql
    return counter


@pytest.mark.parametrize("protocol", ["simple", "extended"])
def test_select_1_is_tokenized_and_parsed_once(
    session: EngineSession, counter: Counter, protocol: str
) -> None:
    if protocol == "simple":
        [prepared] = session.split("SELECT 1")
    else:
        prepared = session.prepare("SELECT 1", ())
    result = session.execute(prepared, ())
    assert [c.name for c in result.columns or ()] == ["?column?"]
    assert counter.calls == {"tokenize": 1, "extract_statements": 1}
    plan = prepared.handle
    assert isinstance(plan, Plan)
    assert isinstance(plan.parsed, duckdb.Statement)  # executed as parsed, not re-parsed


@pytest.mark.parametrize("protocol", ["simple", "extended"])
def test_a_text_sent_again_is_not_tokenized_again(
    session: EngineSession, counter: Counter, protocol: str
) -> None:
    for _ in range(3):
        if protocol == "simple":
            [prepared] = session.split("SELECT 2")
        else:
            prepared = session.prepare("SELECT 2", ())
        result = session.execute(prepared, ())
        assert result.next_batch() is not None
        result.close()
    assert counter.calls == {"tokenize": 1, "extract_statements": 1}


def test_catalog_query_is_rewritten_and_parsed_once(
    session: EngineSession, counter: Counter
) -> None:
    sql = "SELECT c.relname FROM pg_catalog.pg_class c WHERE c.relname OPERATOR(pg_catalog.~) 'x'"
    [prepared] = session.split(sql)
    assert counter.calls["extract_statements"] == 1
    plan = prepared.handle
    assert isinstance(plan, Plan)
    assert "server.pgc.pg_class" in plan.sql and "OPERATOR" not in plan.sql
    assert isinstance(plan.parsed, duckdb.Statement)


def test_setting_command_is_parsed_once(session: EngineSession, counter: Counter) -> None:
    [prepared] = session.split("SHOW TimeZone")
    plan = prepared.handle
    assert isinstance(plan, Plan)
    assert plan.statement.command is not None and plan.statement.command.verb == "SHOW"
    assert counter.calls == {"tokenize": 1}


def test_rewritten_catalog_query_is_not_lexed_again(
    session: EngineSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rewritten text's tokens come from the client's: only the edited places are lexed
    again, never the whole rewritten text."""
    lexed: list[str] = []
    original = tokens.duckdb.tokenize

    def recording(sql: str) -> Any:
        lexed.append(sql)
        return original(sql)

    monkeypatch.setattr(tokens.duckdb, "tokenize", recording)
    sql = ("SELECT c.relname, n.nspname FROM pg_catalog.pg_class c "
           "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relname ~ 'zz'")
    [prepared] = session.split(sql)
    plan = prepared.handle
    assert isinstance(plan, Plan)
    assert plan.statement.sql != sql  # rewritten
    assert lexed.count(sql) == 1
    assert plan.statement.sql not in lexed
    assert plan.statement.tokens == tokens.tokenize(plan.statement.sql)
    result = session.execute(prepared, ())
    result.close()


def test_privileges_and_column_names_read_one_parse() -> None:
    """A SELECT is parsed by DuckDB's serializer once: the privilege check
    (relations.accesses) and the result column names read the same tree."""
    sql = "SELECT a + 1 FROM parse_shared"
    parse_tree.statements.cache_clear()
    accesses = relations.accesses(statements.classify(sql))
    assert [(a.action, a.name.name) for a in accesses] == [(relations.READ, "parse_shared")]
    columns = column_names.result_columns(sql, [("(a + 1)", "INTEGER")])
    assert [c.name for c in columns] == ["?column?"]
    assert parse_tree.statements.cache_info().misses == 1


def test_a_text_is_split_again_under_another_search_path(
    session: EngineSession, counter: Counter
) -> None:
    """What a text splits into is kept per search path: name resolution may depend on it."""
    for _ in range(2):
        session.split("SELECT 3")
    assert counter.calls == {"tokenize": 1, "extract_statements": 1}
    session.settings.set("search_path", "pg_catalog, public")
    try:
        session.split("SELECT 3")
        assert counter.calls == {"tokenize": 2, "extract_statements": 2}
        session.split("SELECT 3")
        assert counter.calls == {"tokenize": 2, "extract_statements": 2}
    finally:
        session.settings.reset("search_path")
    session.split("SELECT 3")
    assert counter.calls == {"tokenize": 3, "extract_statements": 3}
