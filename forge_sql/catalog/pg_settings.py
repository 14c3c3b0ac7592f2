"""pg_settings: the PostgreSQL settings the server answers SET/SHOW for, with their
defaults, from forge_sql.engine.session_settings (one definition for both)."""

from __future__ import annotations

from collections.abc import Iterator

from forge_sql.catalog import fixed_table
from forge_sql.sql.configuration import DISPLAY_NAMES, SETTINGS

_COLUMNS = {
    "name": "VARCHAR",
    "setting": "VARCHAR",
    "unit": "VARCHAR",
    "category": "VARCHAR",
    "short_desc": "VARCHAR",
    "extra_desc": "VARCHAR",
    "context": "VARCHAR",
    "vartype": "VARCHAR",
    "source": "VARCHAR",
    "min_val": "VARCHAR",
    "max_val": "VARCHAR",
    "enumvals": "VARCHAR[]",
    "boot_val": "VARCHAR",
    "reset_val": "VARCHAR",
    "sourcefile": "VARCHAR",
    "sourceline": "INTEGER",
    "pending_restart": "BOOLEAN",
}
_MILLISECONDS = {"statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout"}


def _vartype(default: str) -> str:
    if default in ("on", "off"):
        return "bool"
    if default.lstrip("-").isdigit():
        return "integer"
    return "string"


def rows() -> list[tuple[object, ...]]:
    """One row per setting, in PostgreSQL's spelling (DateStyle, TimeZone, ...)."""
    found: list[tuple[object, ...]] = []
    for key, setting in sorted(SETTINGS.items()):
        found.append(
            (
                DISPLAY_NAMES.get(key, key),
                setting.default,
                "ms" if key in _MILLISECONDS else None,
                "Preset Options" if setting.read_only else "Client Connection Defaults",
                setting.description,
                None,
                "internal" if setting.read_only else "user",
                _vartype(setting.default),
                "default",
                None,
                None,
                None,
                setting.default,
                setting.default,
                None,
                None,
                False,
            )
        )
    return found


def definitions() -> Iterator[str]:
    yield from fixed_table("pg_settings", _COLUMNS, rows())
