"""The model registry: projects, models, runs and deployments as files in the extension's
storage directory (beside the lake's data files, so every server of a shared lake sees
them). Writes are a file written aside then renamed, under a lock file."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from forge_sql.ext import ExtensionError

MODEL_FILE = "model.joblib"
META_FILE = "model.json"


def _write_json(path: Path, value: Any) -> None:
    aside = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    aside.write_text(json.dumps(value, indent=1, default=str))
    os.replace(aside, path)


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def check_name(project: str) -> str:
    if not project or not all(c.isalnum() or c in "_-" for c in project) or len(project) > 63:
        raise ExtensionError(
            f'invalid project name "{project}"', "22023",
            hint="project names are letters, digits, _ and - (at most 63)",
        )
    return project


class Registry:
    """The files under ``root``: ``projects/<name>/project.json`` (task, deployments),
    ``projects/<name>/models/<id>/`` (the fitted pipeline and its record) and
    ``runs/<id>.json``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    # -- locking -------------------------------------------------------------------------
    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # -- projects ------------------------------------------------------------------------
    def project_dir(self, project: str) -> Path:
        return self.root / "projects" / check_name(project)

    def project(self, project: str) -> dict[str, Any]:
        path = self.project_dir(project) / "project.json"
        try:
            return _read_json(path)  # type: ignore[no-any-return]
        except FileNotFoundError:
            raise ExtensionError(
                f'project "{project}" does not exist', "42704",
                hint="train a model first: SELECT * FROM ml.train(...)",
            ) from None

    def projects(self) -> list[str]:
        base = self.root / "projects"
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if (p / "project.json").is_file())

    def save_project(self, project: str, record: dict[str, Any]) -> None:
        directory = self.project_dir(project)
        directory.mkdir(parents=True, exist_ok=True)
        _write_json(directory / "project.json", record)

    def drop_project(self, project: str) -> int:
        """Remove the project's files; the number of models removed."""
        with self.locked():
            record = self.project(project)
            directory = self.project_dir(project)
            count = len(record.get("models", []))
            graveyard = self.root / f".dropped-{uuid.uuid4().hex}"
            os.replace(directory, graveyard)  # one step: readers see it all or nothing
            shutil.rmtree(graveyard, ignore_errors=True)
            return count

    # -- models --------------------------------------------------------------------------
    def model_dir(self, project: str, model_id: int) -> Path:
        return self.project_dir(project) / "models" / str(model_id)

    def model(self, project: str, model_id: int) -> dict[str, Any]:
        try:
            return _read_json(self.model_dir(project, model_id) / META_FILE)  # type: ignore[no-any-return]
        except FileNotFoundError:
            raise ExtensionError(
                f'model {model_id} of project "{project}" does not exist', "42704"
            ) from None

    def next_model_id(self) -> int:
        counter = self.root / "next_model_id"
        current = int(counter.read_text()) if counter.is_file() else 1
        _write_json(counter, current + 1)
        return current

    def staging(self) -> Path:
        directory = self.root / "staging" / uuid.uuid4().hex
        directory.mkdir(parents=True)
        return directory

    def publish(self, staged: Path, project: str, model_id: int) -> Path:
        target = self.model_dir(project, model_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, target)
        return target

    # -- runs ----------------------------------------------------------------------------
    def start_run(self, record: dict[str, Any]) -> str:
        run_id = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
        (self.root / "runs").mkdir(parents=True, exist_ok=True)
        self.update_run(run_id, {**record, "run_id": run_id, "state": "running",
                                 "started": time.time()})
        return run_id

    def update_run(self, run_id: str, record: dict[str, Any]) -> None:
        path = self.root / "runs" / f"{run_id}.json"
        current = _read_json(path) if path.is_file() else {}
        current.update(record)
        _write_json(path, current)

    def runs(self) -> list[dict[str, Any]]:
        base = self.root / "runs"
        if not base.is_dir():
            return []
        found = []
        for path in sorted(base.glob("*.json")):
            with contextlib.suppress(OSError, ValueError):
                found.append(_read_json(path))
        return found
