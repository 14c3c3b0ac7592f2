"""Another commit of forge-sql checked out beside this one, so a bench can start both
servers and measure them in the same run (``--baseline REF``)."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, check=True, capture_output=True,
                          text=True).stdout.strip()


@contextlib.contextmanager
def checkout(ref: str) -> Iterator[Path]:
    """``git worktree add --detach`` of ``ref`` in a temporary directory, removed at the end.

    The C row framer is built in place and not committed: when its source is the same at
    ``ref`` the built module is copied over; otherwise that server frames rows in numpy
    (forge_sql.wire.encode.framer's fallback) and ``missing_extensions`` says so."""
    commit = _git("rev-parse", "--verify", f"{ref}^{{commit}}")
    parent = Path(tempfile.mkdtemp(prefix="forge-baseline-"))
    path = parent / commit[:10]
    _git("worktree", "add", "--detach", str(path), commit)
    try:
        for built in REPO.glob("forge_sql/**/*.so"):
            source = built.with_name(built.name.split(".")[0] + ".c")
            twin = path / source.relative_to(REPO)
            if twin.exists() and twin.read_bytes() == source.read_bytes():
                shutil.copy2(built, path / built.relative_to(REPO))
        yield path
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            _git("worktree", "remove", "--force", str(path))
        shutil.rmtree(parent, ignore_errors=True)


def describe(ref: str) -> str:
    """``ref`` as a short hash and subject, for the report."""
    return _git("log", "-1", "--format=%h %s", ref)[:80]


def missing_extensions(path: Path) -> list[str]:
    """Built modules of this checkout that the one at ``path`` lacks."""
    return [str(b.relative_to(REPO)) for b in REPO.glob("forge_sql/**/*.so")
            if not (path / b.relative_to(REPO)).exists()]
