"""pg_catalog and information_schema as PostgreSQL clients and BI tools expect them.

DuckDB refuses a user schema named pg_catalog, so the emulation lives in the server's own
database as ``server.pgc``: sessions put it on their search path, and forge_sql.catalog.rewrite
turns qualified ``pg_catalog.X`` references to what it provides into ``server.pgc.X``.
"""

from __future__ import annotations

SCHEMA = "server.pgc"

# What ``pg_catalog.<name>`` is rewritten to ``server.pgc.<name>`` for: relations and
# functions whose DuckDB built-ins carry DuckDB OIDs or do not exist.
PROVIDED = frozenset(
    {
        "pg_type",
        "pg_range",
        "pg_namespace",
        "pg_class",
        "pg_attribute",
        "format_type",
        "pg_stat_activity",
    }
)
# Session functions (catalog.session_functions), reached as pg_catalog.<name> too.
PROVIDED |= frozenset(
    {
        "version",
        "current_setting",
        "set_config",
        "pg_backend_pid",
        "pg_cancel_backend",
        "pg_terminate_backend",
        "pg_advisory_unlock_all",
        "pg_advisory_lock",
        "pg_advisory_lock_shared",
        "pg_advisory_xact_lock",
        "pg_advisory_xact_lock_shared",
        "pg_try_advisory_lock",
        "pg_try_advisory_lock_shared",
        "pg_try_advisory_xact_lock",
        "pg_try_advisory_xact_lock_shared",
        "pg_advisory_unlock",
        "pg_advisory_unlock_shared",
    }
)


def literal(value: object) -> str:
    """A Python value as a DuckDB SQL literal (catalog DDL is built from trusted tables)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def search_path(catalog: str) -> str:
    """DuckDB search_path for a session: the lake's public schema, then the emulation."""
    return f"{_quote(catalog)}.public,{SCHEMA}"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
