"""What a migration command reports when it cannot go on; the CLI prints it and exits 1."""

from __future__ import annotations


class MigrationError(Exception):
    """A problem the user has to act on (bad file, edited migration, refused change)."""


class StatementFailed(MigrationError):
    """A statement of a migration failed; the migration's transaction was rolled back."""

    def __init__(self, script: str, line: int, statement: str, message: str,
                 sqlstate: str | None = None) -> None:
        shown = statement.strip()
        if len(shown) > 400:
            shown = shown[:400] + " ..."
        where = f"{script}:{line}" if line else script
        super().__init__(
            f"{where}: {message}"
            + (f" (SQLSTATE {sqlstate})" if sqlstate else "")
            + f"\n  statement: {shown}\n  nothing of {script} was applied"
        )
        self.script = script
        self.line = line
        self.statement = statement
        self.sqlstate = sqlstate


class DatabaseError(Exception):
    """A statement failed in the database, offline or through a server (same shape)."""

    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.sqlstate = sqlstate


class LockUnavailable(MigrationError):
    """Another migrate run holds the lock (or the data directory) longer than we wait."""
