"""The table-function rule: which calls it finds (FROM items only), how arguments bind to
a signature (positional, named with => or :=, defaults, 42883), and the stand-in text."""

from __future__ import annotations

import pytest

from forge_sql import errors
from forge_sql.sql import table_functions as tf
from forge_sql.sql.rewrite import Source
from forge_sql.sql.tokens import tokenize

STORIES = tf.Signature(
    "public", "stories", "k_stories",
    (tf.Parameter("n", "BIGINT"), tf.Parameter("prefix", "VARCHAR", optional=True)),
    (("id", "BIGINT"), ("title", "VARCHAR")),
)
WIDE = tf.Signature(
    "public", "wide", "k_wide", (tf.Parameter("width", "BIGINT"),),
    describe=lambda given: [(f"c{i}", "INTEGER") for i in range(int(given["width"]))],  # type: ignore[call-overload]
)


@pytest.fixture
def registered() -> tf.Registered:
    found = tf.Registered()
    found.replace([STORIES, WIDE])
    return found


def calls(sql: str, registered: tf.Registered) -> list[tf.Call]:
    return tf.calls(Source.of(sql, tokenize(sql)), registered)


@pytest.mark.parametrize(
    ("sql", "spans"),
    [
        ("SELECT * FROM stories(1)", ["stories(1)"]),
        ("SELECT * FROM public.stories(1) s", ["public.stories(1)"]),
        ("SELECT * FROM t JOIN stories(2) USING (id), stories(3)", ["stories(2)", "stories(3)"]),
        ("SELECT * FROM t, LATERAL stories(t.n)", ["stories(t.n)"]),
        ("SELECT * FROM t WHERE id IN (SELECT id FROM stories(4))", ["stories(4)"]),
        ("INSERT INTO t SELECT * FROM stories(5)", ["stories(5)"]),
        ("COPY (SELECT * FROM stories(6)) TO STDOUT", ["stories(6)"]),
        ("SELECT stories(1), a, stories(2) FROM t", []),  # not FROM items
        ("SELECT * FROM t WHERE x = stories(1)", []),
        ("SELECT * FROM other.stories(1)", []),  # another schema's
        ("SELECT * FROM stories", []),  # a relation of that name
    ],
)
def test_finds_calls_in_from_items_only(sql: str, spans: list[str],
                                        registered: tf.Registered) -> None:
    assert [sql[c.start : c.end] for c in calls(sql, registered)] == spans


def test_binds_positional_named_and_default_arguments(registered: tf.Registered) -> None:
    (call,) = calls("SELECT * FROM stories(prefix => 'x', n := $1)", registered)
    assert call.arguments == ("$1", "'x'")
    (call,) = calls("SELECT * FROM stories(1 + 2)", registered)
    assert call.arguments == ("1 + 2", None)
    (call,) = calls("SELECT * FROM stories(f(1, 2), (SELECT 3)) AS s", registered)
    assert call.arguments == ("f(1, 2)", "(SELECT 3)")
    assert call.alias


@pytest.mark.parametrize("args", ["", "1, 'a', 3", "count => 1", "1, n => 2", "n => 1, 2"])
def test_arguments_that_fit_no_signature_are_42883(args: str,
                                                   registered: tf.Registered) -> None:
    with pytest.raises(errors.UndefinedFunction) as caught:
        calls(f"SELECT * FROM stories({args})", registered)
    assert "stories(n bigint, prefix varchar DEFAULT ...)" in (caught.value.hint or "")


def test_stand_in_has_the_columns_no_rows_and_keeps_the_arguments(
    registered: tf.Registered,
) -> None:
    (call,) = calls("SELECT * FROM stories((SELECT max(n) FROM t))", registered)
    text = tf.stand_in(call, tf.columns_of(call))
    assert text == (
        '(SELECT CAST(NULL AS BIGINT) AS "id", CAST(NULL AS VARCHAR) AS "title" '
        "FROM (SELECT CAST(((SELECT max(n) FROM t)) AS BIGINT)) WHERE false) AS \"stories\""
    )
    assert tf.scan(call, "forge_table_stream_1", [("id", "BIGINT")]) == (
        '(SELECT CAST("id" AS BIGINT) AS "id" FROM "forge_table_stream_1") AS "stories"'
    )


def test_describe_hook_columns_from_constants(registered: tf.Registered) -> None:
    (call,) = calls("SELECT * FROM wide(2)", registered)
    assert list(tf.columns_of(call)) == [("c0", "INTEGER"), ("c1", "INTEGER")]
    (call,) = calls("SELECT * FROM wide($1)", registered)
    with pytest.raises(errors.FeatureNotSupported):
        tf.columns_of(call)


def test_only_texts_naming_a_function_are_looked_at(registered: tf.Registered) -> None:
    assert registered.wants("select * from STORIES(1)")
    assert not registered.wants("select 1")
    assert not tf.Registered().wants("select * from stories(1)")


def test_stream_names_are_recognised_in_client_text() -> None:
    sql = 'SELECT * FROM "forge_table_stream_ab_1"'
    assert tf.names_stream(Source.of(sql, tokenize(sql)))
    sql = "SELECT 'forge_table_stream_ab_1'"
    assert not tf.names_stream(Source.of(sql, tokenize(sql)))


def test_a_view_or_prepare_keeps_its_calls(registered: tf.Registered) -> None:
    for sql in ("CREATE VIEW v AS SELECT * FROM stories(1)",
                "CREATE OR REPLACE TEMP VIEW v AS SELECT * FROM stories(1)",
                "PREPARE p AS SELECT * FROM stories(1)"):
        assert tf.kept_for_later(Source.of(sql, tokenize(sql)))
    sql = "CREATE TABLE v AS SELECT * FROM stories(1)"
    assert not tf.kept_for_later(Source.of(sql, tokenize(sql)))
