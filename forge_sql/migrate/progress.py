"""Progress lines for long runs: on a terminal only, never mixed into --json output."""

from __future__ import annotations

import sys
from typing import TextIO


class Progress:
    """Per-migration lines when ``enabled`` (a terminal); notes such as "waiting for the
    lock" unless ``quiet`` (--json), since CI logs want those too."""

    def __init__(self, enabled: bool, stream: TextIO | None = None, quiet: bool = True) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.quiet = quiet and not enabled

    @classmethod
    def for_terminal(cls, quiet: bool) -> Progress:
        return cls(not quiet and sys.stderr.isatty(), quiet=quiet)

    def start(self, label: str, index: int, total: int) -> None:
        if self.enabled:
            self.stream.write(f"[{index}/{total}] {label} ... ")
            self.stream.flush()

    def finish(self, ms: int) -> None:
        if self.enabled:
            self.stream.write(f"done ({ms} ms)\n")
            self.stream.flush()

    def fail(self) -> None:
        if self.enabled:
            self.stream.write("FAILED\n")
            self.stream.flush()

    def note(self, message: str) -> None:
        if not self.quiet:
            self.stream.write(message + "\n")
            self.stream.flush()
