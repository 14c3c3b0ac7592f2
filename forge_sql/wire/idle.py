"""PostgreSQL's idle_session_timeout and idle_in_transaction_session_timeout: how long the
wait for a client's next command may last, and the FATAL error that ends it."""

from __future__ import annotations

from forge_sql import errors
from forge_sql.seam.backend import BackendSession


def idle_timeout(db: BackendSession) -> tuple[float, errors.FatalError] | None:
    """Seconds the session may wait for its next command and the error that closes it
    then, or None when the timeout that applies (by transaction status) is off."""
    session_ms, transaction_ms = db.idle_timeouts()
    if db.transaction_status == "I":
        if session_ms <= 0:
            return None
        return session_ms / 1000, errors.IdleSessionTimeout(
            "terminating connection due to idle-session timeout"
        )
    if transaction_ms <= 0:
        return None
    # In a transaction block, failed or not ("T" or "E"), as in PostgreSQL.
    return transaction_ms / 1000, errors.IdleInTransactionSessionTimeout(
        "terminating connection due to idle-in-transaction timeout"
    )
