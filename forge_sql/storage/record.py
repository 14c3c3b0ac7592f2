"""The lake record: a small file in the data directory naming the lake this directory
serves and the last snapshot seen, so a lost or older catalog is noticed at start-up."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path

from forge_sql.errors import ConfigError

log = logging.getLogger(__name__)

FILE = "lake-record.json"
# How often a running server writes down the lake's last snapshot: an older catalog put
# back by hand is noticed if it predates the record by more than this.
INTERVAL = 5.0


@dataclass(frozen=True, slots=True)
class LakeRecord:
    """What the data directory knows about its lake."""

    lake_id: str  # the catalog's identity (forge_sql.storage.identity.lake_id)
    last_snapshot: int  # the latest snapshot this directory's server has seen
    # When this catalog became the directory's catalog (created, adopted or restored): a
    # file DuckLake made before then is not this catalog's, so never an orphan of it.
    since: datetime
    restored_from: str | None = None


def path(data_dir: Path) -> Path:
    return data_dir / FILE


def read(data_dir: Path) -> LakeRecord | None:
    """The record of ``data_dir``, or None when it has none yet."""
    file = path(data_dir)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read the lake record {file}: {exc}") from None
    try:
        raw = json.loads(text)
        return LakeRecord(
            lake_id=str(raw["lake_id"]),
            last_snapshot=int(raw["last_snapshot"]),
            since=datetime.fromisoformat(raw["since"]),
            restored_from=raw.get("restored_from"),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"the lake record {file} is damaged ({exc}): move it away to start without it "
            "(the catalog's identity is then not checked at this start)"
        ) from None


def write(data_dir: Path, record: LakeRecord) -> None:
    """Replace the record atomically (a crash leaves the old or the new one)."""
    file = path(data_dir)
    raw = asdict(record)
    raw["since"] = record.since.isoformat()
    temporary = file.with_name(f".{file.name}.{os.getpid()}")
    temporary.write_text(json.dumps(raw, indent=2) + "\n", encoding="utf-8")
    with temporary.open("rb") as handle:
        os.fsync(handle.fileno())
    temporary.replace(file)


class Recorder:
    """Writes the lake's last snapshot into the record while the server runs."""

    def __init__(
        self, data_dir: Path, record: LakeRecord, latest: Callable[[], int | None]
    ) -> None:
        self.record = record
        self._data_dir = data_dir
        self._latest = latest
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="lake-record", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(INTERVAL):
            self.update()

    def update(self) -> None:
        """Write the latest snapshot down if it moved on; failures are logged."""
        try:
            latest = self._latest()
        except Exception as exc:  # the database is closing, or a catalog hiccup
            log.debug("lake record not updated: %s", exc)
            return
        if latest is None or latest <= self.record.last_snapshot:
            return
        self.record = replace(self.record, last_snapshot=latest)
        try:
            write(self._data_dir, self.record)
        except OSError as exc:
            log.warning("cannot write the lake record %s: %s", path(self._data_dir), exc)

    def stop(self) -> None:
        """Stop the thread and write the last snapshot down a final time."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=INTERVAL + 1)
        with contextlib.suppress(Exception):
            self.update()
