"""Session functions clients call by their PostgreSQL names: current_setting, set_config,
the advisory locks, pg_backend_pid, pg_cancel_backend and pg_terminate_backend.

Each macro passes the calling session's token (its DuckDB variable ``forge_session``) to
the Python function of forge_sql.engine.pg_functions that does the work.
"""

from __future__ import annotations

from collections.abc import Iterator

from forge_sql.catalog import SCHEMA

TOKEN = "getvariable('forge_session')"

# name -> the forge_advisory operation; these return void in PostgreSQL (here '').
_VOID_LOCKS = {
    "pg_advisory_lock": "lock",
    "pg_advisory_lock_shared": "lock_shared",
    "pg_advisory_xact_lock": "xact_lock",
    "pg_advisory_xact_lock_shared": "xact_lock_shared",
}
_BOOLEAN_LOCKS = {
    "pg_try_advisory_lock": "try_lock",
    "pg_try_advisory_lock_shared": "try_lock_shared",
    "pg_try_advisory_xact_lock": "try_xact_lock",
    "pg_try_advisory_xact_lock_shared": "try_xact_lock_shared",
    "pg_advisory_unlock": "unlock",
    "pg_advisory_unlock_shared": "unlock_shared",
}
def definitions() -> Iterator[str]:
    yield (
        f"CREATE OR REPLACE MACRO {SCHEMA}.current_setting(name) AS "
        f"forge_current_setting({TOKEN}, name, false), "
        f"(name, missing_ok) AS forge_current_setting({TOKEN}, name, missing_ok)"
    )
    yield (
        f"CREATE OR REPLACE MACRO {SCHEMA}.set_config(name, value, is_local) AS "
        f"forge_set_config({TOKEN}, name, value::VARCHAR, is_local)"
    )
    yield f"CREATE OR REPLACE MACRO {SCHEMA}.pg_backend_pid() AS forge_backend_pid({TOKEN})"
    for name, terminate in (("pg_cancel_backend", "false"), ("pg_terminate_backend", "true")):
        yield (
            f"CREATE OR REPLACE MACRO {SCHEMA}.{name}(pid) AS "
            f"forge_signal_backend({TOKEN}, pid, {terminate})"
        )
    yield (
        f"CREATE OR REPLACE MACRO {SCHEMA}.pg_advisory_unlock_all() AS "
        f"CASE WHEN forge_advisory({TOKEN}, 'unlock_all', NULL, NULL) THEN '' END"
    )
    for names, wrap in ((_VOID_LOCKS, "CASE WHEN {} THEN '' END"), (_BOOLEAN_LOCKS, "{}")):
        for name, operation in names.items():
            one = wrap.format(f"forge_advisory({TOKEN}, '{operation}', key, NULL)")
            two = wrap.format(f"forge_advisory({TOKEN}, '{operation}', key1, key2)")
            yield (
                f"CREATE OR REPLACE MACRO {SCHEMA}.{name}(key) AS {one}, "
                f"(key1, key2) AS {two}"
            )
