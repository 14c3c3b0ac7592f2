"""Tokens and statement boundaries of SQL with characters outside ASCII."""

from __future__ import annotations

from forge_sql.sql.statements import split, tokenize


def test_token_offsets_count_characters_not_bytes() -> None:
    sql = "SELECT 'héllo ✓', x::bytea FROM t"
    tokens = tokenize(sql)
    assert [t.text for t in tokens] == ["SELECT", "'héllo ✓'", ",", "x", "::", "bytea", "FROM",
                                        "t"]
    assert all(sql[t.start:t.end] == t.text for t in tokens)


def test_statements_split_after_multibyte_text() -> None:
    first, second = split("SELECT 'ü€😀'; SELECT 2")
    assert (first.sql, second.sql) == ("SELECT 'ü€😀'", "SELECT 2")
