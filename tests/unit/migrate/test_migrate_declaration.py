"""YAML declarations (tables, external datasets): the models, and errors that point at
file:line:column."""

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


def _datasets(text: str) -> list[declaration.ExternalDecl]:
    return declaration.load_file(SOURCE, textwrap.dedent(text).lstrip()).external


def _dataset_error(text: str) -> str:
    with pytest.raises(MigrationError) as caught:
        _datasets(text)
    return str(caught.value)


def test_external_datasets_alongside_tables() -> None:
    loaded = declaration.load_file(SOURCE, textwrap.dedent("""
        tables:
          - table: t
            columns: [{name: a, type: INTEGER}]
        external:
          - name: events
            path: ../data/events/**/*.parquet
            hive_partitioning: true
          - name: rates
            schema: ref
            path: /srv/rates.csv
            format: csv
            options: {delim: ";", header: true, columns: {code: VARCHAR}}
          - name: old
            drop: true
    """).lstrip())
    assert [t.table for t in loaded.tables] == ["t"]
    events, rates, old = loaded.external
    # Relative to the directory that holds the migration.
    base = SOURCE.parent.absolute()
    assert events.path == str(base.parent / "data/events/**/*.parquet")
    assert (events.format, events.hive_partitioning, events.qualified) == (
        "parquet", True, ("public", "events"))
    assert (rates.path, rates.format, rates.qualified) == ("/srv/rates.csv", "csv",
                                                         ("ref", "rates"))
    assert rates.options == {"delim": ";", "header": True, "columns": {"code": "VARCHAR"}}
    assert (old.drop, old.path) == (True, None)


def test_external_dataset_errors_point_at_the_key_or_value() -> None:
    assert _dataset_error("""
        external:
          - name: events
            path: /srv/events/*.parquet
            fromat: csv
    """) == "migrations/V1__t.yaml:4:5: external[0].fromat: unknown key 'fromat'"
    assert _dataset_error("""
        external:
          - name: events
            path: /srv/events/*.parquet
            format: xlsx
    """).startswith("migrations/V1__t.yaml:4:13: external[0].format: Input should be "
                    "'parquet', 'csv' or 'json'")
    assert _dataset_error("""
        external:
          - name: events
            path: s3://bucket/events/*.parquet
    """) == ("migrations/V1__t.yaml:3:11: external[0].path: only local paths can be "
             "declared (no URLs)")
    assert _dataset_error("""
        external:
          - name: events
            path: /*.csv
    """) == ("migrations/V1__t.yaml:3:11: external[0].path: a dataset directly under / "
             "would open the whole file system")
    assert _dataset_error("""
        external:
          - name: bad name
            path: /srv/x.csv
    """).startswith("migrations/V1__t.yaml:2:11: external[0].name: 'bad name' is not a "
                    "plain identifier")
    assert _dataset_error("""
        external:
          - name: events
            options: {"bad-name": 1}
            path: /srv/x.csv
    """) == ("migrations/V1__t.yaml:3:14: external[0].options: invalid reader option name "
             "'bad-name'")


def test_external_dataset_consistency() -> None:
    assert _dataset_error("""
        external:
          - name: events
    """) == "migrations/V1__t.yaml:2:5: external[0]: path: declare the files (a path or glob)"
    assert _dataset_error("""
        external:
          - name: events
            drop: true
            path: /srv/x.csv
    """) == ("migrations/V1__t.yaml:2:5: external[0]: a dataset with drop: true declares "
             "no path or reader options")
    assert _dataset_error("external: []\n") == (
        "migrations/V1__t.yaml:1:1: declare at least one table (tables:), dataset "
        "(external:), job (jobs:) or materialized view (materialized_views:)"
    )


def test_bare_numeric_keeps_every_digit() -> None:
    """A declared numeric is the server's unconstrained numeric, not DuckDB's DECIMAL(18,3)."""
    assert declaration.duckdb_type("numeric") == "DECIMAL(38,10)"
    assert declaration.duckdb_type("decimal[]") == "DECIMAL(38,10)[]"
    assert declaration.duckdb_type("numeric(12, 2)") == "DECIMAL(12,2)"
