"""Views calling table functions, expanded where a statement reads them (sql.views): which
views call one (directly or through others), and the text that replaces their names."""

from __future__ import annotations

import pytest

from forge_sql.sql import table_functions as tf
from forge_sql.sql import views

STORIES = tf.Signature("public", "stories", "k", (tf.Parameter("n", "BIGINT"),),
                       (("id", "BIGINT"),))
RELATIONS: dict[tuple[str, str], str | None] = {
    ("public", "t"): None,
    ("public", "plain"): "CREATE VIEW plain AS SELECT 1 AS id;",
    ("public", "v"): "CREATE VIEW v AS SELECT * FROM stories(5);",
    ("public", "w"): "CREATE VIEW w (x) AS SELECT id FROM v WHERE (id > 1);",
    ("s", "t"): None,
    ("s", "u"): "CREATE VIEW s.u AS SELECT * FROM t, v;",
}


@pytest.fixture
def found() -> dict[tuple[str, str], views.View]:
    registered = tf.Registered()
    registered.replace([STORIES])
    return views.calling(RELATIONS, registered)


def test_views_calling_a_function_directly_or_through_views(
    found: dict[tuple[str, str], views.View],
) -> None:
    assert sorted(found) == [("public", "v"), ("public", "w"), ("s", "u")]
    assert found[("public", "w")].columns == ("x",)
    assert found[("public", "v")].body == "SELECT * FROM stories(5)"


@pytest.mark.parametrize(
    ("sql", "expanded"),
    [
        ("SELECT * FROM v", 'SELECT * FROM (SELECT * FROM stories(5)) AS "v"'),
        ("SELECT * FROM public.v AS a", "SELECT * FROM (SELECT * FROM stories(5)) AS a"),
        ("SELECT v.id FROM t JOIN v ON true",
         'SELECT v.id FROM t JOIN (SELECT * FROM stories(5)) AS "v" ON true'),
        # Column names of CREATE VIEW w (x), and the view inside it.
        ("SELECT x FROM w",
         'SELECT x FROM (SELECT * FROM (SELECT id FROM (SELECT * FROM stories(5)) AS "v" '
         'WHERE (id > 1)) AS "w"("x")) AS "w"'),
        # A view of schema s: its unqualified names of s's relations are qualified.
        ("SELECT count(*) FROM s.u",
         'SELECT count(*) FROM (SELECT * FROM "s".t, (SELECT * FROM stories(5)) AS "v") '
         'AS "u"'),
    ],
)
def test_expansion(found: dict[tuple[str, str], views.View], sql: str, expanded: str) -> None:
    assert views.expand(sql, found, RELATIONS) == expanded


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM plain",
        "SELECT * FROM t",
        "WITH v AS (SELECT 1) SELECT * FROM v",  # the CTE, not the view
        "SELECT v FROM t",  # not a FROM item
        "SELECT * FROM other.v",
    ],
)
def test_left_as_written(found: dict[tuple[str, str], views.View], sql: str) -> None:
    assert views.expand(sql, found, RELATIONS) is None
