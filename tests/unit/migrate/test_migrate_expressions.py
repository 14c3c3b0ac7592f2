"""YAML values that become SQL are data: one expression by DuckDB's parser, or refused with
file:line:column and the key's name."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from forge_sql.migrate import declaration, diff, tables
from forge_sql.migrate.errors import MigrationError
from forge_sql.migrate.expressions import MAX_LENGTH, InvalidExpression, Kind, check

SOURCE = Path("migrations/V2__t.yaml")
PAYLOAD = "1); DROP TABLE victim; --"


@pytest.mark.parametrize("text", [
    "now()", "'x'", "0", "-1.5", "true", "NULL", "current_date", "CURRENT_TIMESTAMP",
    "'a;b -- c /* d'", "$$dollar; quoted$$", "'x'::VARCHAR", "INTERVAL 1 DAY",
    "gen_random_uuid()", "1 /* a closed comment */ + 1", "[1, 2]", "{'a': 1}",
    "CASE WHEN true THEN 1 ELSE 2 END", "1 -- a comment ended by a new line\n+ 1",
])
def test_legitimate_defaults_pass(text: str) -> None:
    assert check(text, Kind.DEFAULT) == text.strip()


@pytest.mark.parametrize(("text", "reason"), [
    (PAYLOAD, "syntax error"),
    ("1; DROP TABLE victim", "2 statements"),
    ("1; DROP TABLE victim; --", "statements"),
    ("1 -- comment", "comment"),
    ("1 /* unclosed", r"unterminated /\* comment"),
    ("'unclosed", "unterminated quoted string"),
    ("(SELECT 1)", "subquery"),
    ("(SELECT count(*) FROM victim)", "subquery"),
    ("EXISTS (SELECT 1)", "subquery"),
    ("1 IN (SELECT 1)", "subquery"),
    ("1 FROM victim", "FROM"),
    ("now() WHERE false", "WHERE"),
    ("1 UNION SELECT 2", "UNION"),
    ("1, 2", "2 of them"),
    ("1 AS x", "alias"),
    ("1 LIMIT 1", "LIMIT"),
    ("a", "column reference"),
    ("$1", "parameter"),
    ("row_number() OVER ()", "window function"),
    ("", "empty"),
    ("x" * (MAX_LENGTH + 1), "longer than"),
])
def test_injections_and_non_expressions_refused(text: str, reason: str) -> None:
    with pytest.raises(InvalidExpression, match=reason):
        check(text, Kind.DEFAULT)


def test_checks_may_name_columns_but_not_query() -> None:
    assert check("price > 0 AND status IN ('a', 'b')", Kind.CHECK) == (
        "price > 0 AND status IN ('a', 'b')")
    for text in ("price IN (SELECT 1)", "price > 0) OR (true", "true; DELETE FROM t"):
        with pytest.raises(InvalidExpression):
            check(text, Kind.CHECK)


def test_sort_and_partition_keys() -> None:
    assert check("id DESC NULLS LAST", Kind.SORT_KEY) == "id DESC NULLS LAST"
    assert check("year(paid)", Kind.PARTITION_KEY) == "year(paid)"
    for text, kind in (("id; DROP TABLE victim", Kind.SORT_KEY), ("id -- x", Kind.SORT_KEY),
                       ("id LIMIT 1", Kind.SORT_KEY), ("a), (SELECT 1", Kind.PARTITION_KEY),
                       ("(SELECT 1)", Kind.PARTITION_KEY)):
        with pytest.raises(InvalidExpression):
            check(text, kind)


def test_deep_nesting_as_deep_as_the_length_bound_allows() -> None:
    # The deepest value under MAX_LENGTH: parsed and walked without a RecursionError.
    depth = (MAX_LENGTH - 1) // 2
    text = "(" * depth + "1" + ")" * depth
    assert check(text, Kind.DEFAULT) == text
    with pytest.raises(InvalidExpression, match="subquery"):
        check("(" * (depth - 10) + "(SELECT 1)" + ")" * (depth - 10), Kind.DEFAULT)


def test_error_offset_points_into_the_value() -> None:
    with pytest.raises(InvalidExpression) as caught:
        check(PAYLOAD, Kind.DEFAULT)
    assert caught.value.offset == 1  # the ")"


def _error(text: str) -> str:
    with pytest.raises(MigrationError) as caught:
        declaration.load_file(SOURCE, textwrap.dedent(text).lstrip())
    return str(caught.value)


def test_payload_refused_with_file_line_column_and_key() -> None:
    message = _error(f"""
        table: t
        columns:
          - name: a
            type: int
            default: "{PAYLOAD}"
    """)
    assert message.startswith(f"{SOURCE}:5:16: columns[0].default: not an SQL expression: "
                              'syntax error at or near ")"'), message


def test_every_expression_key_is_checked() -> None:
    message = _error("""
        table: t
        columns:
          - {name: a, type: int, default: 1; DROP TABLE victim}
        checks:
          - {name: c, expression: a IN (SELECT 1)}
        partitioned_by: [a, (SELECT 1)]
        sorted_by: [a, "a -- x"]
    """)
    lines = message.splitlines()
    assert f"{SOURCE}:3:35: columns[0].default: not one SQL expression: it holds 2 " \
           "statements (a ';')" in lines, lines
    assert f"{SOURCE}:5:29: checks[0].expression: a subquery is not allowed in CHECK" \
           in lines, lines
    assert f"{SOURCE}:6:21: partitioned_by[1]: a subquery is not allowed in PARTITION BY" \
           in lines, lines
    assert any(line.startswith(f"{SOURCE}:7:16: sorted_by[1]: not one SQL expression: "
                               "a comment") for line in lines), lines


def test_types_are_types() -> None:
    for text in ("int) FROM victim --", "int), (SELECT 1", "INTEGER)), (SELECT count(*) "
                 "FROM range(100000000000)"):
        message = _error(f"""
            table: t
            columns:
              - {{name: a, type: "{text}"}}
        """)
        assert "columns[0].type: not a type" in message, message


def test_defaults_are_pasted_parenthesised() -> None:
    (decl,) = declaration.load_file(SOURCE, textwrap.dedent("""
        table: t
        columns:
          - {name: a, type: BOOLEAN, default: 1 NOT NULL}
    """).lstrip()).tables
    sql = [s for c in diff.diff(None, decl).changes for s in c.sql]
    # Parenthesised, the default stays an expression; bare, NOT NULL would become the
    # column's constraint.
    assert 'CREATE TABLE "public"."t" ("a" BOOLEAN DEFAULT (1 NOT NULL))' in sql
    assert tables.declared(decl).column("a") is not None


def test_defaults_compare_as_the_catalog_writes_them() -> None:
    (decl,) = declaration.load_file(SOURCE, textwrap.dedent("""
        table: t
        columns:
          - {name: a, type: INTEGER, default: 1+2}
          - {name: b, type: BOOLEAN, default: 1 NOT NULL}
          - {name: c, type: INTEGER, default: 7}
    """).lstrip()).tables
    live = tables.TableState("public", "t", [
        tables.ColumnState("a", "INTEGER", default="(1 + 2)"),
        tables.ColumnState("b", "BOOLEAN", default="(1 IS NOT NULL)"),
        tables.ColumnState("c", "INTEGER", default="'7'"),
    ], constraints=[])
    assert diff.diff(live, decl).changes == []
