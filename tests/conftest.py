"""Shared pytest configuration: the package is imported from the source tree."""

from __future__ import annotations

import sys
from pathlib import Path


def pytest_report_header() -> list[str]:
    """The client versions the integration tests run against, at the top of every run."""
    sys.path.insert(0, str(Path(__file__).parent / "integration"))
    from clients import versions

    return versions.report()
