"""From a table's state to its declaration: statements, undo and risk."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from forge_sql.migrate import declaration
from forge_sql.migrate.diff import Risk, TableDiff, diff
from forge_sql.migrate.errors import MigrationError
from forge_sql.migrate.tables import ColumnState, Constraint, TableState


def _decl(text: str) -> declaration.TableDecl:
    (table,) = declaration.load(Path("V2__t.yaml"), textwrap.dedent(text).lstrip())
    return table


def _state(*columns: ColumnState, **extra: object) -> TableState:
    return TableState("public", "t", list(columns), **extra)  # type: ignore[arg-type]


def _sql(result: TableDiff) -> list[str]:
    return [s for c in result.changes for s in c.sql]


def _undo(result: TableDiff) -> list[str]:
    return [s for c in reversed(result.changes) for s in c.undo]


def test_create_table_with_comments_layout_and_keys() -> None:
    result = diff(None, _decl("""
        table: t
        description: It's a table.
        columns:
          - {name: id, type: BIGINT, description: Key}
          - {name: status, type: VARCHAR, default: "'new'", nullable: false}
        primary_key: [id]
        checks: [{name: known_status, expression: "status IN ('new', 'old')"}]
        partitioned_by: [status]
        sorted_by: [id]
    """))
    assert _sql(result) == [
        'CREATE SCHEMA IF NOT EXISTS "public"',
        'CREATE TABLE "public"."t" ("id" BIGINT NOT NULL, '
        '"status" VARCHAR DEFAULT (\'new\') NOT NULL)',
        'COMMENT ON TABLE "public"."t" IS \'It\'\'s a table.\'',
        'COMMENT ON COLUMN "public"."t"."id" IS \'Key\'',
        'ALTER TABLE "public"."t" SET PARTITIONED BY (status)',
        'ALTER TABLE "public"."t" SET SORTED BY (id)',
        "INSERT INTO forge_meta.constraints (schema_name, table_name, name, kind, columns, "
        "definition) VALUES ('public', 't', 't_pkey', 'p', ['id']::VARCHAR[], NULL), "
        "('public', 't', 'known_status', 'c', []::VARCHAR[], "
        "'CHECK (status IN (''new'', ''old''))')",
    ]
    assert {c.risk for c in result.changes} == {Risk.SAFE}
    assert result.changes[0].undo_risk is Risk.DESTRUCTIVE
    assert 'DROP TABLE "public"."t"' in _undo(result)


def test_add_rename_and_drop_columns() -> None:
    before = _state(ColumnState("id", "BIGINT", False), ColumnState("mail", "VARCHAR"),
                    ColumnState("old", "INTEGER"))
    result = diff(before, _decl("""
        table: t
        columns:
          - {name: id, type: BIGINT, nullable: false}
          - {name: email, type: VARCHAR, renamed_from: mail}
          - {name: score, type: INTEGER, default: 0}
    """))
    assert _sql(result) == [
        'ALTER TABLE "public"."t" RENAME COLUMN "mail" TO "email"',
        'ALTER TABLE "public"."t" DROP COLUMN "old"',
        'ALTER TABLE "public"."t" ADD COLUMN "score" INTEGER DEFAULT (0)',
    ]
    assert [c.risk for c in result.changes] == [Risk.SAFE, Risk.DESTRUCTIVE, Risk.SAFE]
    assert _undo(result) == [
        'ALTER TABLE "public"."t" DROP COLUMN "score"',
        'ALTER TABLE "public"."t" ADD COLUMN "old" INTEGER',
        'ALTER TABLE "public"."t" RENAME COLUMN "email" TO "mail"',
    ]


def test_rename_already_done_is_not_repeated() -> None:
    before = _state(ColumnState("email", "VARCHAR"))
    result = diff(before, _decl("""
        table: t
        columns: [{name: email, type: VARCHAR, renamed_from: mail}]
    """))
    assert result.changes == []


def test_widening_is_safe_and_narrowing_rewrites() -> None:
    before = _state(ColumnState("a", "INTEGER"), ColumnState("b", "BIGINT", True, "1"))
    result = diff(before, _decl("""
        table: t
        columns:
          - {name: a, type: BIGINT}
          - {name: b, type: INTEGER, default: 1}
    """))
    widen, narrow = result.changes
    assert widen.risk is Risk.SAFE and widen.undo_risk is Risk.DESTRUCTIVE
    assert widen.sql == ('ALTER TABLE "public"."t" ALTER COLUMN "a" SET DATA TYPE BIGINT',)
    assert narrow.risk is Risk.DESTRUCTIVE
    assert narrow.sql == (
        'ALTER TABLE "public"."t" ADD COLUMN "__forge_retype_b" INTEGER',
        'UPDATE "public"."t" SET "__forge_retype_b" = CAST("b" AS INTEGER)',
        'ALTER TABLE "public"."t" DROP COLUMN "b"',
        'ALTER TABLE "public"."t" RENAME COLUMN "__forge_retype_b" TO "b"',
        'ALTER TABLE "public"."t" ALTER COLUMN "b" SET DEFAULT (1)',
    )


def test_what_ducklake_cannot_make_not_null_in_one_migration_is_refused() -> None:
    before = _state(ColumnState("a", "BIGINT", False), ColumnState("b", "INTEGER"),
                    ColumnState("c", "INTEGER"))
    with pytest.raises(MigrationError, match=r"public\.t\.a: DuckLake cannot make a column "
                       r"rewritten as INTEGER NOT NULL"):
        diff(before, _decl("""
            table: t
            columns: [{name: a, type: INTEGER, nullable: false}, {name: b, type: INTEGER},
                      {name: c, type: INTEGER}]
        """))
    with pytest.raises(MigrationError, match=r"public\.t\.b, public\.t\.c: DuckLake cannot make "
                       r"more than one column NOT NULL"):
        diff(before, _decl("""
            table: t
            columns: [{name: a, type: BIGINT, nullable: false},
                      {name: b, type: INTEGER, nullable: false},
                      {name: c, type: INTEGER, nullable: false}]
        """))


def test_nullability_changes_come_first() -> None:
    before = _state(ColumnState("a", "INTEGER"), ColumnState("old", "INTEGER", False))
    result = diff(before, _decl("""
        table: t
        columns:
          - {name: new, type: INTEGER, renamed_from: old}
          - {name: a, type: INTEGER, nullable: false}
          - {name: z, type: INTEGER}
    """))
    assert _sql(result) == [
        'ALTER TABLE "public"."t" ALTER COLUMN "a" SET NOT NULL',
        'ALTER TABLE "public"."t" ALTER COLUMN "old" DROP NOT NULL',
        'ALTER TABLE "public"."t" RENAME COLUMN "old" TO "new"',
        'ALTER TABLE "public"."t" ADD COLUMN "z" INTEGER',
    ]
    # Undone under the names the migration leaves.
    assert 'ALTER TABLE "public"."t" ALTER COLUMN "new" SET NOT NULL' in _undo(result)


def test_not_null_is_data_dependent_and_defaults_compare_unquoted() -> None:
    before = _state(ColumnState("a", "INTEGER", True, "'7'"), ColumnState("b", "VARCHAR"))
    result = diff(before, _decl("""
        table: t
        columns:
          - {name: a, type: INTEGER, default: 7, nullable: false}
          - {name: b, type: VARCHAR, default: "'x'"}
    """))
    assert [(c.summary, c.risk) for c in result.changes] == [
        ("public.t.a NOT NULL", Risk.DATA),
        ("default of public.t.b: 'x'", Risk.SAFE),
    ]
    assert _undo(result)[0] == 'ALTER TABLE "public"."t" ALTER COLUMN "b" DROP DEFAULT'


def test_keys_replace_the_recorded_ones() -> None:
    before = _state(ColumnState("a", "INTEGER", False),
                    constraints=[Constraint("t_pkey", "p", ("a",))])
    same = diff(before, _decl("table: t\ncolumns: [{name: a, type: INTEGER}]\n"
                              "primary_key: [a]\n"))
    assert same.changes == []
    result = diff(before, _decl("table: t\ncolumns: [{name: a, type: INTEGER, nullable: false}]\n"
                                "unique: [[a]]\n"))
    (change,) = result.changes
    assert change.risk is Risk.DATA  # existing rows may already break the new key
    assert change.sql[0].startswith("DELETE FROM forge_meta.constraints WHERE")
    assert "'t_a_key', 'u', ['a']" in change.sql[1]
    assert "'t_pkey', 'p', ['a']" in change.undo[1]


def test_layout_compared_with_the_previous_declaration() -> None:
    decl = _decl("table: t\ncolumns: [{name: a, type: INTEGER}]\npartitioned_by: [a]\n")
    unknown = _state(ColumnState("a", "INTEGER"))
    assert _sql(diff(unknown, decl)) == ['ALTER TABLE "public"."t" SET PARTITIONED BY (a)']
    known = _state(ColumnState("a", "INTEGER"), partitioned_by=["a"], sorted_by=[])
    assert diff(known, decl).changes == []
    removed = _decl("table: t\ncolumns: [{name: a, type: INTEGER}]\n")
    assert _sql(diff(known, removed)) == ['ALTER TABLE "public"."t" RESET PARTITIONED BY']


def test_drop_table() -> None:
    before = _state(ColumnState("a", "INTEGER"))
    result = diff(before, _decl("table: t\ndrop: true\n"))
    (change,) = result.changes
    assert change.risk is Risk.DESTRUCTIVE and change.sql[0] == 'DROP TABLE "public"."t"'
    assert diff(None, _decl("table: t\ndrop: true\n")).changes == []


def test_key_following_a_renamed_column_is_not_a_new_risk() -> None:
    before = _state(ColumnState("mail", "VARCHAR"),
                    constraints=[Constraint("t_mail_key", "u", ("mail",))])
    result = diff(before, _decl("""
        table: t
        columns: [{name: email, type: VARCHAR, renamed_from: mail}]
        unique: [[email]]
    """))
    rename, keys = result.changes
    assert rename.sql[0].endswith('RENAME COLUMN "mail" TO "email"')
    assert keys.risk is Risk.SAFE and "'t_email_key', 'u', ['email']" in keys.sql[1]
