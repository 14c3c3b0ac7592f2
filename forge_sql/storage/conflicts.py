"""Commit conflicts between servers sharing one lake, and running work again after one.

DuckLake commits optimistically: when another server committed a change that clashes
with a transaction's own (both altered or deleted from the same table, say), the commit
fails with a TransactionException and nothing of the transaction is kept.
"""

from __future__ import annotations

import contextlib
import logging
import random
import re
import time
from collections.abc import Callable
from typing import TypeVar

import duckdb

log = logging.getLogger(__name__)

T = TypeVar("T")

# "Transaction conflict - ... another transaction has ...", and DuckLake giving up its own
# retries of the snapshot write when many writers commit at once ("Exceeded the maximum
# retry count"): either way nothing of the transaction was kept.
_CONFLICT = re.compile(r"[Cc]onflict|concurrent|maximum retry count", re.ASCII)
MAX_WAIT = 1.0  # seconds: the longest pause between two attempts


def is_conflict(exc: BaseException) -> bool:
    """True when ``exc`` is a commit conflict that running the work again may resolve."""
    return isinstance(exc, duckdb.TransactionException) and bool(_CONFLICT.search(str(exc)))


def pause(attempt: int) -> float:
    """Seconds to wait before attempt ``attempt`` (1-based): exponential, with jitter so
    that servers which clashed once do not clash again in lockstep."""
    ceiling = min(MAX_WAIT, 0.01 * 2.0**attempt)
    return ceiling * (0.5 + random.random() / 2)


def is_creation_race(exc: BaseException) -> bool:
    """True when two servers attaching a new catalog at once both created its tables:
    the one that lost finds them on its next attempt."""
    text = str(exc)
    return "Failed to initialize DuckLake" in text and (
        "duplicate key" in text or "already exists" in text
    )


def retry(
    action: Callable[[], T],
    attempts: int,
    when: Callable[[BaseException], bool] = is_conflict,
) -> T:
    """Run ``action``; when it fails ``when``-wise, run it again, at most ``attempts`` more
    times."""
    attempt = 0
    while True:
        try:
            return action()
        except duckdb.Error as exc:
            if attempt >= attempts or not when(exc):
                raise
            attempt += 1
            log.info("retrying after (%d/%d): %s", attempt, attempts, exc)
            time.sleep(pause(attempt))


def in_transaction(
    cursor: duckdb.DuckDBPyConnection,
    action: Callable[[duckdb.DuckDBPyConnection], T],
    attempts: int,
) -> T:
    """``action`` in a transaction of its own on ``cursor``, committed; rolled back and run
    again when another server's commit conflicts, at most ``attempts`` more times."""

    def attempt() -> T:
        cursor.execute("BEGIN TRANSACTION")
        try:
            result = action(cursor)
            cursor.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                cursor.execute("ROLLBACK")
            raise
        return result

    return retry(attempt, attempts)
