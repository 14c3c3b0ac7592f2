"""Progress lines on a terminal, nothing with --json."""

from __future__ import annotations

import io

from forge_sql.migrate.progress import Progress


def test_progress_lines_when_enabled() -> None:
    out = io.StringIO()
    progress = Progress(True, out, quiet=False)
    progress.start("V1__a.sql", 1, 2)
    progress.finish(12)
    progress.start("V2__b.sql", 2, 2)
    progress.fail()
    assert out.getvalue() == "[1/2] V1__a.sql ... done (12 ms)\n[2/2] V2__b.sql ... FAILED\n"


def test_quiet_writes_nothing_and_notes_without_terminal() -> None:
    out = io.StringIO()
    quiet = Progress(False, out, quiet=True)
    quiet.start("V1__a.sql", 1, 1)
    quiet.note("waiting")
    assert out.getvalue() == ""
    plain = Progress(False, out, quiet=False)
    plain.start("V1__a.sql", 1, 1)
    plain.note("waiting for the lock")
    assert out.getvalue() == "waiting for the lock\n"
