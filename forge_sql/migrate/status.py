"""Files against history: what is applied, pending, changed since applied, or missing."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from forge_sql.migrate.files import MigrationFile, Version
from forge_sql.migrate.ledger import Entry


class State(Enum):
    APPLIED = "applied"
    PENDING = "pending"
    OUT_OF_ORDER = "out-of-order"  # pending, with a version below an applied one
    CHANGED = "changed"  # applied, but the file's content differs from what ran
    MISSING = "missing"  # applied, but the file is gone
    BASELINE = "baseline"  # the baseline row itself
    BELOW_BASELINE = "below-baseline"  # a file the baseline stands for: never run


@dataclass(frozen=True, slots=True)
class Item:
    state: State
    file: MigrationFile | None
    entry: Entry | None

    @property
    def label(self) -> str:
        if self.file is not None:
            return self.file.label
        assert self.entry is not None
        return self.entry.label

    @property
    def script(self) -> str:
        return self.file.script if self.file is not None else (self.entry.script if self.entry
                                                                else "")

    def as_json(self) -> dict[str, object]:
        source = self.file or self.entry
        assert source is not None
        version = source.version
        return {
            "state": self.state.value,
            "version": None if version is None else str(version),
            "name": source.name,
            "script": self.script,
            "kind": self.entry.kind if self.entry else ("repeatable" if self.file and
                                                         self.file.repeatable else
                                                         self.file.kind if self.file else None),
            "checksum": self.file.checksum if self.file else None,
            "applied_checksum": self.entry.checksum if self.entry else None,
            "installed_by": self.entry.installed_by if self.entry else None,
            "installed_at": str(self.entry.installed_at) if self.entry else None,
            "duration_ms": self.entry.duration_ms if self.entry else None,
        }


def survey(files: list[MigrationFile], entries: list[Entry]) -> list[Item]:
    """One item per file and per history row without a file, in the order they run."""
    baselines = [e.version for e in entries if e.kind == "baseline" and e.version is not None]
    baseline = max(baselines, key=lambda v: v.key) if baselines else None
    applied: dict[Version, Entry] = {
        e.version: e for e in entries if e.version is not None and e.kind != "baseline"
    }
    repeated: dict[str, Entry] = {e.name: e for e in entries if e.version is None}
    top = max((v.key for v in applied), default=None)
    items: list[Item] = [Item(State.BASELINE, None, e) for e in entries if e.kind == "baseline"]
    seen_versions: set[Version] = set()
    seen_names: set[str] = set()
    for file in files:
        if file.version is None:
            seen_names.add(file.name)
            entry = repeated.get(file.name)
            state = State.APPLIED if entry and entry.checksum == file.checksum else State.PENDING
            items.append(Item(state, file, entry))
            continue
        seen_versions.add(file.version)
        entry = applied.get(file.version)
        if entry is not None:
            state = State.APPLIED if entry.checksum == file.checksum else State.CHANGED
        elif baseline is not None and file.version <= baseline:
            state = State.BELOW_BASELINE
        elif top is not None and file.version.key < top:
            state = State.OUT_OF_ORDER
        else:
            state = State.PENDING
        items.append(Item(state, file, entry))
    for version, entry in applied.items():
        if version not in seen_versions:
            items.append(Item(State.MISSING, None, entry))
    for name, entry in repeated.items():
        if name not in seen_names:
            items.append(Item(State.MISSING, None, entry))
    return items


def pending(items: list[Item], out_of_order: bool) -> list[MigrationFile]:
    """Files to run: versioned ones in version order, then changed repeatable ones."""
    wanted = {State.PENDING, State.OUT_OF_ORDER} if out_of_order else {State.PENDING}
    chosen = [i.file for i in items if i.state in wanted and i.file is not None]
    return [f for f in chosen if f.version is not None] + [f for f in chosen if f.repeatable]
