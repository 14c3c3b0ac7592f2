"""The rewrite pass: edits of ordered rules spliced into the text once."""

from __future__ import annotations

import pytest

from forge_sql.sql.rewrite import SLOTS, Edit, Rule, Source, apply, edits, ordered
from forge_sql.sql.statements import classify, tokenize


def test_edits_are_spliced_at_their_offsets() -> None:
    sql = "SELECT a, b FROM t"
    assert apply(sql, [Edit(7, 8, "x"), Edit(17, 18, "u")]) == "SELECT x, b FROM u"


def test_insertions_at_one_place_keep_their_order() -> None:
    sql = "SELECT $1"
    proposed = [
        Edit(7, 7, "('(?s).*(?:' || ", -1),
        Edit(7, 7, "CAST("),
        Edit(9, 9, " AS TEXT)"),
        Edit(9, 9, " || ').*')", 1),
    ]
    assert apply(sql, proposed) == "SELECT ('(?s).*(?:' || CAST($1 AS TEXT) || ').*')"


def test_an_edit_overlapping_an_earlier_one_is_dropped() -> None:
    sql = "SELECT abc"
    assert apply(sql, [Edit(7, 10, "x"), Edit(8, 9, "y"), Edit(9, 9, "z")]) == "SELECT x"
    assert apply(sql, [Edit(8, 9, "y"), Edit(7, 10, "x")]) == "SELECT ayc"


def test_no_edits_is_the_same_text() -> None:
    assert apply("SELECT 1", ()) == "SELECT 1"


def _upper_names(source: Source) -> list[Edit]:
    return [Edit(t.start, t.end, t.text.upper()) for t in source.tokens if t.kind == "identifier"]


def test_rules_run_in_slot_order_and_only_when_wanted() -> None:
    calls: list[str] = []

    def rule(name: str) -> Rule:
        def propose(source: Source) -> list[Edit]:
            calls.append(name)
            return []

        return Rule(name, propose, lambda sql: "skip" not in sql)

    rules = ordered(parameters=[rule("p")], catalog=[rule("c")], postgres=[rule("g")])
    assert [r.name for r in rules] == ["c", "g", "p"]
    edits(Source.of("SELECT 1", tokenize("SELECT 1")), rules)
    assert calls == ["c", "g", "p"]
    calls.clear()
    edits(Source.of("SELECT 'skip'", tokenize("SELECT 'skip'")), rules)
    assert calls == []


def test_unknown_slots_are_refused() -> None:
    with pytest.raises(ValueError, match="no rewrite slot named nulls"):
        ordered(nulls=())
    assert SLOTS.index("semantics") < SLOTS.index("table_functions") < SLOTS.index("parameters")


def test_comments_are_not_offered_to_rules() -> None:
    source = Source.of("SELECT a /* b */ -- c\n", tokenize("SELECT a /* b */ -- c\n"))
    assert [t.text for t in source.tokens] == ["SELECT", "a"]


def test_split_keeps_the_edits_and_parses_the_rewritten_text() -> None:
    rules = (Rule("upper", _upper_names),)
    [one, two] = [classify(s, rules) for s in ("SELECT a FROM t", "SELECT 1")]
    assert one.edits and one.for_duckdb == "SELECT A FROM T"
    assert one.sql == "SELECT a FROM t"  # the client's text stays for errors and privileges
    assert one.parsed is not None and one.parsed.query == "SELECT A FROM T"
    assert two.edits == () and two.rewritten is None and two.for_duckdb == "SELECT 1"
