"""Client programs in other languages (Java, Node.js) run against the test server.

Each program prints one JSON line per check it runs: ``{"check": name, "result": ...}`` or
``{"check": name, "error": ...}``. A tool that is not installed fails the test with what to
install (CI installs everything with ``make system-deps``): a skip would hide a missing step.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

CLIENTS = Path(__file__).resolve().parents[2] / "clients"
INSTALL_HINT = "run `make install-test` (system packages need root)"


def require_program(name: str, package: str) -> str:
    """The path of ``name`` on PATH, or fail saying which package provides it."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: {INSTALL_HINT}, or apt-get install {package}")
    return path


def require_file(path: Path, package: str) -> Path:
    if not path.exists():
        pytest.fail(f"{path} is missing: {INSTALL_HINT}, or install {package}")
    return path


def run_checks(command: list[str], *, cwd: Path | None = None, timeout: float = 120,
               env: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """Run a client program and return its JSON lines keyed by check name."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env={**os.environ, **(env or {})})
    assert done.returncode == 0, f"{command[0]} exited {done.returncode}:\n{done.stderr}"
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    return {line["check"]: line for line in lines}


def result(checks: dict[str, dict[str, Any]], name: str) -> Any:
    """What check ``name`` returned; its error (with SQLSTATE) as the failure message."""
    assert name in checks, f"check {name} did not run; ran {sorted(checks)}"
    line = checks[name]
    assert "error" not in line, f"{name} failed: {line}"
    return line["result"]
