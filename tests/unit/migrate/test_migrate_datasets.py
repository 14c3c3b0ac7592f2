"""External datasets in YAML: the statements a declaration turns into, and their undo."""

from __future__ import annotations

from pathlib import Path

from forge_sql.migrate import datasets
from forge_sql.migrate.declaration import ExternalDecl
from forge_sql.migrate.diff import Risk

RECORD = "forge_meta.external_datasets"


def _decl(**values: object) -> ExternalDecl:
    return ExternalDecl.model_validate({"name": "events", **values},
                                       context={"base": Path("/srv/project/migrations")})


def test_create_records_then_creates_the_view() -> None:
    decl = _decl(path="../data/*.csv", format="csv", options={"header": True})
    (change,) = datasets.diff(None, decl, "V1__e.yaml").changes
    view = ('CREATE OR REPLACE VIEW "public"."events" AS SELECT * FROM '
            "read_csv('/srv/project/data/*.csv', header = true)")
    assert change.sql == (
        'CREATE SCHEMA IF NOT EXISTS "public"',
        f"DELETE FROM {RECORD} WHERE schema_name = 'public' AND view_name = 'events'",
        f"INSERT INTO {RECORD} (schema_name, view_name, path, definition, declared_in) "
        "VALUES ('public', 'events', '/srv/project/data/*.csv', "
        "'CREATE OR REPLACE VIEW \"public\".\"events\" AS SELECT * FROM "
        "read_csv(''/srv/project/data/*.csv'', header = true)', 'V1__e.yaml')",
        view,
    )
    assert change.undo == (
        'DROP VIEW "public"."events"',
        f"DELETE FROM {RECORD} WHERE schema_name = 'public' AND view_name = 'events'",
    )
    assert change.risk is Risk.SAFE


def test_unchanged_declaration_changes_nothing() -> None:
    decl = _decl(path="/srv/data/*.parquet")
    state = datasets.declared(decl, "V1__e.yaml")
    assert datasets.diff(state, decl, "V2__e.yaml").changes == []


def test_replace_and_drop_undo_to_the_recorded_definition() -> None:
    old = datasets.declared(_decl(path="/srv/old/*.parquet"), "V1__e.yaml")
    assert old is not None and old.definition is not None
    (change,) = datasets.diff(old, _decl(path="/srv/new/*.parquet"), "V2__e.yaml").changes
    assert change.summary == "replace external dataset public.events over /srv/new/*.parquet"
    assert change.undo[0] == 'DROP VIEW IF EXISTS "public"."events"'
    assert "'/srv/old/*.parquet'" in change.undo[2] and "'V1__e.yaml'" in change.undo[2]
    assert change.undo[3] == old.definition
    (dropped,) = datasets.diff(old, _decl(drop=True), "V3__e.yaml").changes
    assert dropped.sql[0] == 'DROP VIEW "public"."events"'
    assert dropped.undo[3] == old.definition


def test_a_view_no_migration_declared_is_restored_from_the_catalog() -> None:
    # DuckLake keeps a view's name unqualified in its definition.
    live = datasets.DatasetState("raw", "events", "CREATE VIEW events AS SELECT 1 AS x")
    decl = _decl(schema="raw", path="/srv/data/*.parquet")
    (change,) = datasets.diff(live, decl, "V1__e.yaml").changes
    assert change.undo == (
        'DROP VIEW IF EXISTS "raw"."events"',
        f"DELETE FROM {RECORD} WHERE schema_name = 'raw' AND view_name = 'events'",
        'CREATE VIEW "raw"."events" AS SELECT 1 AS x',
    )


def test_a_path_with_no_file_is_a_finding(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x\n1\n")
    assert datasets.findings(_decl(path=str(tmp_path / "*.csv"))) == []
    ((risk, text),) = datasets.findings(_decl(path=str(tmp_path / "none" / "*.csv")))
    assert risk is Risk.DATA
    assert text.startswith(f"external dataset public.events: no file matches {tmp_path}/none/")
    assert datasets.findings(_decl(drop=True)) == []


def test_offline_runs_open_the_declared_directories(tmp_path: Path) -> None:
    (tmp_path / "V1__e.yaml").write_text(
        "external:\n  - {name: a, path: ../files/a/*.csv, format: csv}\n"
        "  - {name: b, path: /srv/b/**/*.parquet}\n  - {name: c, drop: true}\n"
    )
    (tmp_path / "V2__broken.yaml").write_text("external: [{name: d, pth: x}]\n")
    assert datasets.directories(tmp_path) == sorted(
        [tmp_path.parent / "files" / "a", Path("/srv/b")])
