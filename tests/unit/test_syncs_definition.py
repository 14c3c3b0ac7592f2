"""A sync's declaration (syncs: in a YAML migration): what it accepts, and the file:line of
what it refuses."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from forge_sql.cli import main
from forge_sql.engine.syncs import SyncDefinition
from forge_sql.migrate import declaration
from forge_sql.migrate.errors import MigrationError


def test_defaults_and_target() -> None:
    sync = SyncDefinition(name="s", source="src", into="raw.items")
    assert (sync.mode, sync.drift, sync.keep_runs, sync.target) == (
        "merge", "evolve", 100, ("raw", "items"))
    assert SyncDefinition(name="s", source="src", into="items").target == ("public", "items")
    assert SyncDefinition.model_validate_json(sync.as_json()) == sync


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"into": "a.b.c"}, "not a table or schema.table"),
        ({"into": "x; DROP TABLE y"}, "not a table or schema.table"),
        ({"name": "Bad Name"}, "invalid name"),
        ({"mode": "upsert"}, "Input should be"),
        ({"mode": "append", "lookback": 5}, "lookback with mode append"),
        ({"lookback": "1 hour'; DROP"}, "an interval"),
        ({"lookback": -1}, "cannot be negative"),
        ({"primary_key": ["a b"]}, "invalid column name"),
        ({"schedul": "* * * * *"}, "Extra inputs"),
        ({"connection": "crm", "query": "SELECT 1"}, "either source"),
        ({"source": None, "query": "SELECT 1"}, "go together"),
        ({"source": None}, "either source"),
        ({"schedule": "every day"}, "invalid schedule: every day"),
        ({"schedule": "90 seconds"}, "invalid schedule: 90 seconds"),
    ],
)
def test_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SyncDefinition.model_validate({"name": "s", "source": "src", "into": "t", **fields})


def test_yaml_errors_point_at_the_line(tmp_path: Path) -> None:
    path = tmp_path / "V1__s.yaml"
    path.write_text(textwrap.dedent('''
        syncs:
          - name: one
            source: src
            into: t
          - name: two
            source: src
            into: t
            mode: sideways
    ''').lstrip())
    with pytest.raises(MigrationError, match=r"V1__s.yaml:8:\d+: syncs\[1\]\.mode"):
        declaration.load_file(path)
    path.write_text("syncs:\n  - {name: a, source: s, into: t}\n"
                    "  - {name: a, source: s, into: u}\n")
    with pytest.raises(MigrationError, match="sync a is declared twice"):
        declaration.load_file(path)
    path.write_text("syncs:\n  - {name: a, source: s, into: t}\n")
    assert [s.name for s in declaration.load_file(path).syncs] == ["a"]


def test_lint_rules_for_syncs_and_jobs(tmp_path: Path) -> None:
    directory = tmp_path / "migrations"
    directory.mkdir()
    (directory / "V1__s.yaml").write_text(textwrap.dedent('''
        syncs:
          - {name: careful, source: src, into: a, lookback: 5, schedule: "*/5 * * * *"}
          - name: hasty
            source: src
            into: b
            schedule: 10 seconds
        jobs:
          - {name: bounded, schedule: "0 3 * * *", command: SELECT 1, timeout: 1 minute}
          - name: unbounded
            schedule: 5 seconds
            command: SELECT 1
    ''').lstrip())
    result = CliRunner().invoke(main, ["migrate", "lint", "--json", "--dir", str(directory)])
    assert result.exit_code == 0, result.output  # warnings, not destructive
    found = [(f["line"], f["summary"].split(":")[0] + ": " + f["summary"].split(": ")[1])
             for f in json.loads(result.stdout)["findings"]]
    assert found == [
        (3, "sync hasty: merge without lookback"),
        (3, "sync hasty: schedule '10 seconds' runs more often than every minute; each run "
            "is a lake commit"),
        (9, "job unbounded: no timeout"),
        (9, "job unbounded: schedule '5 seconds' runs more often than every minute"),
    ]
    strict = CliRunner().invoke(main, ["migrate", "lint", "--strict", "--dir", str(directory)])
    assert strict.exit_code == 1
    assert "V1__s.yaml:9: data-dependent: job unbounded: no timeout" in strict.output
