"""A sync's declaration (syncs: in a YAML migration): what it accepts, and the file:line of
what it refuses."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

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
