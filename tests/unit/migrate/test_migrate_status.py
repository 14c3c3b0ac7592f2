"""Files against history: applied, pending, changed, missing, out of order, baseline."""

from __future__ import annotations

from pathlib import Path

from forge_sql.migrate.files import MigrationFile, Version
from forge_sql.migrate.ledger import Entry
from forge_sql.migrate.status import State, pending, survey


def _file(version: str | None, name: str, checksum: str = "c") -> MigrationFile:
    prefix = f"V{version}" if version else "R"
    return MigrationFile(Path(f"{prefix}__{name}.sql"), Version(version) if version else None,
                         name, "sql", checksum)


def _entry(rank: int, version: str | None, name: str, checksum: str | None = "c",
           kind: str = "sql") -> Entry:
    prefix = f"V{version}" if version else "R"
    return Entry(rank, Version(version) if version else None, name, kind,
                 f"{prefix}__{name}.sql", checksum, "me", "2025-01-01", 1, None)


def test_states() -> None:
    files = [_file("1", "a"), _file("2", "b", "edited"), _file("3", "c"), _file("5", "e"),
             _file(None, "v", "new"), _file(None, "w")]
    entries = [_entry(1, "1", "a"), _entry(2, "2", "b"), _entry(3, "4", "d"),
               _entry(4, None, "v", "old"), _entry(5, None, "w"), _entry(6, "9", "gone")]
    items = survey(files, entries)
    assert [(i.label, i.state) for i in items] == [
        ("V1__a", State.APPLIED), ("V2__b", State.CHANGED), ("V3__c", State.OUT_OF_ORDER),
        ("V5__e", State.OUT_OF_ORDER), ("R__v", State.PENDING), ("R__w", State.APPLIED),
        ("V4__d", State.MISSING), ("V9__gone", State.MISSING),
    ]
    assert [f.label for f in pending(items, out_of_order=False)] == ["R__v"]
    assert [f.label for f in pending(items, out_of_order=True)] == ["V3__c", "V5__e", "R__v"]


def test_baseline() -> None:
    files = [_file("1", "a"), _file("2", "b"), _file("3", "c")]
    entries = [_entry(1, "2", "baseline", None, kind="baseline")]
    items = survey(files, entries)
    assert [i.state for i in items] == [State.BASELINE, State.BELOW_BASELINE,
                                        State.BELOW_BASELINE, State.PENDING]
    assert [f.label for f in pending(items, False)] == ["V3__c"]
    assert items[0].as_json()["kind"] == "baseline"
