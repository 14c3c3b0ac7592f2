"""YAML table declarations: the models, and errors that point at file:line:column."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from forge_sql.migrate import declaration
from forge_sql.migrate.errors import MigrationError

SOURCE = Path("migrations/V1__t.yaml")


def _load(text: str) -> list[declaration.TableDecl]:
    return declaration.load(SOURCE, textwrap.dedent(text).lstrip())


def _error(text: str) -> str:
    with pytest.raises(MigrationError) as caught:
        _load(text)
    return str(caught.value)


def test_full_declaration() -> None:
    (table,) = _load("""
        table: orders
        schema: sales
        description: Orders.
        columns:
          - name: id
            type: int8
          - name: amount
            type: decimal(10, 2)
            nullable: false
            default: 0
            description: Total.
          - name: note
            type: text
            renamed_from: remark
          - name: paid
            type: bool
            default: false
        primary_key: [id]
        unique:
          - [note]
          - {name: amount_note, columns: [amount, note]}
        checks:
          - {name: amount_positive, expression: amount >= 0}
        partitioned_by: [year(paid)]
        sorted_by: [id DESC]
    """)
    assert table.qualified == ("sales", "orders")
    # Types as DuckDB spells them.
    assert [c.type for c in table.columns] == ["BIGINT", "DECIMAL(10,2)", "VARCHAR", "BOOLEAN"]
    assert [c.default for c in table.columns] == [None, "0", None, "false"]
    assert table.not_null == {"id", "amount"}  # the primary key implies NOT NULL
    assert [k.columns for k in table.unique] == [["note"], ["amount", "note"]]
    assert table.columns[2].renamed_from == "remark"
    assert table.partitioned_by == ["year(paid)"] and table.sorted_by == ["id DESC"]


def test_several_tables_in_one_file() -> None:
    tables = _load("""
        tables:
          - table: a
            columns: [{name: x, type: INTEGER}]
          - table: b
            drop: true
    """)
    assert [(t.table, t.drop) for t in tables] == [("a", False), ("b", True)]


def test_unknown_key_points_at_the_key() -> None:
    message = _error("""
        table: t
        columns:
          - name: a
            type: INTEGER
            nulable: false
    """)
    assert message == "migrations/V1__t.yaml:5:5: columns[0].nulable: unknown key 'nulable'"


def test_unknown_top_level_key_in_a_list_of_tables() -> None:
    message = _error("""
        tables:
          - table: a
            colums: []
    """)
    assert "migrations/V1__t.yaml:3:5: tables[0].colums: unknown key 'colums'" in message


def test_missing_key_points_at_its_mapping() -> None:
    assert _error("""
        table: t
        columns:
          - {name: a, type: INTEGER}
          - {name: b}
    """) == "migrations/V1__t.yaml:4:5: columns[1].type: missing key 'type'"


def test_bad_type_points_at_the_value() -> None:
    message = _error("""
        table: t
        columns:
          - name: a
            type: INTEGR
    """)
    assert message.startswith("migrations/V1__t.yaml:4:11: columns[0].type: unknown type 'INTEGR'")


def test_type_text_cannot_carry_sql() -> None:
    message = _error("""
        table: t
        columns:
          - {name: a, type: "INTEGER); DROP TABLE x; --"}
    """)
    assert "columns[0].type: not a type" in message


def test_wrong_value_types() -> None:
    message = _error("""
        table: t
        columns:
          - {name: a, type: INTEGER, nullable: maybe}
        primary_key: id
    """)
    lines = message.splitlines()
    assert lines[0].startswith("migrations/V1__t.yaml:3:40: columns[0].nullable:")
    assert lines[1].startswith("migrations/V1__t.yaml:4:14: primary_key:")


def test_consistency_rules() -> None:
    assert "key on undeclared columns: nope" in _error("""
        table: t
        columns: [{name: a, type: INTEGER}]
        primary_key: [nope]
    """)
    assert "columns declared twice: a" in _error("""
        table: t
        columns: [{name: a, type: INTEGER}, {name: a, type: VARCHAR}]
    """)
    assert "primary key column a cannot be nullable" in _error("""
        table: t
        columns: [{name: a, type: INTEGER, nullable: true}]
        primary_key: [a]
    """)
    assert "declare at least one column" in _error("table: t\n")
    assert "not a plain identifier" in _error("""
        table: "t; drop"
        columns: [{name: a, type: INTEGER}]
    """)


def test_yaml_syntax_error_has_a_position() -> None:
    message = _error("""
        table: t
        columns:
          - {name: a, type: INTEGER
    """)
    assert message.startswith("migrations/V1__t.yaml:4:1: invalid YAML:")


def test_not_a_mapping() -> None:
    assert _error("- a\n- b\n") == (
        "migrations/V1__t.yaml:1:1: expected a table declaration (a mapping)"
    )
