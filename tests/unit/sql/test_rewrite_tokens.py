"""The rewritten text's tokens are made from the client's tokens (only each edited place is
lexed again), and come out as lexing the whole rewritten text would make them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from forge_sql.engine.rules import RULES
from forge_sql.sql import rewrite, storage_parameters
from forge_sql.sql.rewrite import Edit, Source
from forge_sql.sql.tokens import tokenize

STATEMENTS = [
    "SELECT 'abc' ~ 'b', 'x' !~* 'Y'",
    "SELECT c.relname FROM pg_catalog.pg_class c WHERE c.relname OPERATOR(pg_catalog.~) 'x'",
    "SELECT 'pg_class'::regclass::oid, CAST('int4' AS regtype)",
    "select n.nspname, c.relname from pg_catalog.pg_namespace n "
    "join pg_catalog.pg_class c on c.relnamespace=n.oid",
    "SELECT ARRAY[1,2]::int[], '{1,2}'::int[], 7 / 2, 7/2.0",
    "SELECT json_build_object('a', 1), * FROM generate_series(1, 3) g",
    "SELECT x FROM t WHERE y LIKE 'a\\_%' AND z = '\\x00ff'::bytea -- trailing comment",
    "SELECT /* c */ a||-b, f((1)), 1.5::numeric FROM information_schema.tables",
    "SELECT 'ünï' ~ 'n', relname FROM pg_class /* é */ WHERE relname ~ '^t'",
    "SELECT format('%s', 1), 10 % 3, 2 ^ 3, -7 / 2",
    "SELECT (SELECT count(*) FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid) "
    "FROM pg_catalog.pg_class c",
]


def _corpus() -> list[str]:
    here = Path(__file__).resolve()
    for parent in here.parents:
        corpus = parent / "shared" / "corpus"
        if corpus.is_dir():
            found: list[str] = []
            for path in sorted(corpus.glob("*.yaml")):
                entries = yaml.safe_load(path.read_text()) or []
                found += [e["sql"] for e in entries if isinstance(e, dict) and "sql" in e]
            return found
    return []


@pytest.mark.parametrize("sql", STATEMENTS + _corpus())
def test_tokens_of_the_rewritten_text_match_lexing_it(sql: str) -> None:
    tokens = tokenize(sql)
    edits = rewrite.edits(Source.of(sql, tokens), RULES)
    text, made = rewrite.apply_tokens(sql, tokens, edits)
    assert text == rewrite.apply(sql, edits)
    assert made == tokenize(text)


def test_statements_here_are_rewritten() -> None:
    """The fixture statements exercise the splice (each has edits)."""
    for sql in STATEMENTS:
        assert rewrite.edits(Source.of(sql, tokenize(sql)), RULES), sql


@pytest.mark.parametrize(
    "edit",
    [Edit(7, 8, "'a"), Edit(7, 8, "1 -- x"), Edit(7, 8, "$q$a"), Edit(8, 8, "||"),
     Edit(0, 0, "  "), Edit(9, 10, "")],
)
def test_edits_that_change_the_lexing_around_them(edit: Edit) -> None:
    sql = "SELECT 1|-2, 'z'"
    text, made = rewrite.apply_tokens(sql, tokenize(sql), [edit])
    assert made == tokenize(text)


@pytest.mark.parametrize("sql", [
    "CREATE TABLE t (a INTEGER, b TEXT) WITH (fillfactor = 90)",
    "CREATE TABLE pgbench_accounts (aid int not null,bid int) with (fillfactor=100)",
])
def test_tokens_after_storage_parameters_are_cut(sql: str) -> None:
    tokens = tokenize(sql)
    edits = tuple(storage_parameters.RULE.edits(Source.of(sql, tokens)))
    assert edits
    text, made = rewrite.apply_tokens(sql, tokens, edits)
    assert "fillfactor" not in text
    assert made == tokenize(text)
