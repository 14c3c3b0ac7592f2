"""Running an implicit transaction again when its commit conflicts with another server's.

A statement sent outside BEGIN ... COMMIT is committed by the server, so the server may
also run it again: when DuckLake refuses the commit because another server changed the
same table first, the statements are replayed in a new transaction, a bounded number of
times with backoff. A transaction the client opened gets 40001 instead, as in PostgreSQL:
only the client knows what it read. Statements whose effect cannot be replayed (COPY data
already consumed, rows already sent back) spoil the replay, and their conflict is
reported too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import duckdb

from forge_sql.engine.connection import Connection
from forge_sql.storage import conflicts

log = logging.getLogger(__name__)

Step = Callable[[], object]


class Replay:
    """The steps of one implicit transaction, in the order they ran."""

    def __init__(self) -> None:
        self.steps: list[Step] | None = []

    def record(self, step: Step) -> None:
        if self.steps is not None:
            self.steps.append(step)

    def spoil(self) -> None:
        """Something ran that cannot run again: a conflict is the client's to handle."""
        self.steps = None

    def commit(self, connection: Connection, commit: Step, retries: int) -> None:
        """``commit()``; on a conflict, begin again, replay the steps and commit again."""
        steps = self.steps
        attempt = 0
        while True:
            try:
                commit()
                return
            except duckdb.Error as exc:
                if steps is None or attempt >= retries or not conflicts.is_conflict(exc):
                    raise
                attempt += 1
                log.info("commit conflict, running the statements again (%d/%d)", attempt, retries)
            time.sleep(conflicts.pause(attempt))
            connection.execute("BEGIN TRANSACTION", interruptible=False)
            try:
                for step in steps:
                    step()
            except BaseException:
                connection.execute("ROLLBACK", interruptible=False)
                raise
