"""PostgreSQL session settings, answered by the server: SET, SHOW, RESET.

DuckDB's configuration is locked for clients (DESIGN.md, sandbox), so the settings drivers
and BI tools send on connect are kept here, per session, under their PostgreSQL names.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from typing import Protocol

from forge_sql import errors
from forge_sql.sql.configuration import (
    CUSTOM,
    DISPLAY_NAMES,
    SEMANTICS,
    SEMANTICS_VALUES,
    SETTINGS,
    Setting,
    isolation_level,
    unquote,
)

_ACCESS = re.compile(r"\bREAD\s+(ONLY|WRITE)\b", re.I)
# A transaction's own mode, and the session default it starts from.
_TRANSACTION_DEFAULTS = {
    "transaction_isolation": "default_transaction_isolation",
    "transaction_read_only": "default_transaction_read_only",
}


class SessionSettings:
    """One session's values; unknown names are refused as PostgreSQL does (42704)."""

    def __init__(
        self, startup: dict[str, str] | None = None, defaults: dict[str, str] | None = None
    ) -> None:
        """``defaults``: the server's own defaults (its configuration), which RESET and
        sessions that never SET a value see in place of PostgreSQL's."""
        self._defaults = defaults or {}
        self._values: dict[str, str] = {}
        self.changed: dict[str, str] = {}
        self._begin: dict[str, str] | None = None  # values when the transaction block began
        self._local: dict[str, str | None] = {}  # values SET LOCAL replaced, until its end
        # Values the client set at startup (e.g. options=-c TimeZone=...) stay in `changed`,
        # so the ParameterStatus sent on connect reports them.
        for name, value in (startup or {}).items():
            if name.lower() in SETTINGS and not SETTINGS[name.lower()].read_only:
                self.set(name, value)

    def get(self, name: str) -> str:
        key = name.lower()
        if key == "transaction isolation level":
            key = "transaction_isolation"
        setting = self._setting(key, name, existing=True)
        if key in _TRANSACTION_DEFAULTS and (self._begin is None or key not in self._values):
            # Outside a block, or not set for this one: the session default applies.
            return self.get(_TRANSACTION_DEFAULTS[key])
        return self._values.get(key, self._defaults.get(key, setting.default))

    def set(self, name: str, value: str, local: bool = False) -> None:
        key = name.lower()
        setting = self._setting(key, name)
        if setting.read_only:
            raise errors.CantChangeRuntimeParam(f'parameter "{name}" cannot be changed')
        value = self._validate(key, value)
        if key in _TRANSACTION_DEFAULTS and self._begin is None:
            return  # PostgreSQL: a transaction's own mode outside a block changes nothing
        if local:
            if self._begin is None:
                return  # SET LOCAL outside a transaction block has no effect (a WARNING)
            self._local.setdefault(key, self._values.get(key))
        self._values[key] = value
        if setting.reported:
            self.changed[DISPLAY_NAMES.get(key, key)] = value

    def server_value(self, name: str, value: str) -> None:
        """A read-only setting the server decides per session (is_superuser)."""
        key = name.lower()
        self._values[key] = value
        if SETTINGS[key].reported:
            self.changed[DISPLAY_NAMES.get(key, key)] = value

    @property
    def in_block(self) -> bool:
        return self._begin is not None

    @property
    def read_only(self) -> bool:
        return self.get("transaction_read_only") == "on"

    def snapshot(self) -> dict[str, str]:
        return dict(self._values)

    def restore(self, values: dict[str, str]) -> None:
        """Put back values taken by :meth:`snapshot` (ROLLBACK, ROLLBACK TO)."""
        for key in set(self._values) | set(values):
            old = values.get(key)
            if old is None:
                self._values.pop(key, None)
            else:
                self._values[key] = old
            setting = SETTINGS.get(key, CUSTOM)
            if setting.reported:
                self.changed[DISPLAY_NAMES.get(key, key)] = old or setting.default

    def begin(self, modes: str = "") -> None:
        """A transaction block begins; ``modes`` as in BEGIN ISOLATION LEVEL ... READ ONLY."""
        self._begin = dict(self._values)
        self._local = {}
        self.set_transaction(modes)

    def set_transaction(self, modes: str) -> None:
        """SET TRANSACTION / SET SESSION CHARACTERISTICS AS TRANSACTION: ``modes`` apply to
        the current block, or to the session default when ``self`` is not in one."""
        level = isolation_level(modes)
        access = _ACCESS.search(modes)
        if level:
            self.set("transaction_isolation", level)
        if access:
            self.set("transaction_read_only", "on" if access.group(1).upper() == "ONLY" else "off")

    def set_characteristics(self, modes: str) -> None:
        level = isolation_level(modes)
        access = _ACCESS.search(modes)
        if level:
            self.set("default_transaction_isolation", level)
        if access:
            value = "on" if access.group(1).upper() == "ONLY" else "off"
            self.set("default_transaction_read_only", value)

    def end(self, committed: bool) -> None:
        """The block ends: ROLLBACK undoes its SETs, COMMIT keeps all but SET LOCAL ones."""
        if self._begin is None:
            return
        if committed:
            values = dict(self._values)
            for key, old in self._local.items():
                if old is None:
                    values.pop(key, None)
                else:
                    values[key] = old
        else:
            values = self._begin
        for key in _TRANSACTION_DEFAULTS:
            values.pop(key, None)
        self._begin = None
        self._local = {}
        self.restore(values)

    def reset(self, name: str) -> None:
        if name.lower() == "all":
            for key in list(self._values):
                if key not in _TRANSACTION_DEFAULTS:
                    self.reset(key)
            return
        key = name.lower()
        setting = self._setting(key, name)
        if setting is CUSTOM:
            self._values[key] = ""  # a custom setting, once set, reads as '' after RESET
        elif self._values.pop(key, None) is not None and setting.reported:
            self.changed[DISPLAY_NAMES.get(key, key)] = setting.default

    def _setting(self, key: str, name: str, existing: bool = False) -> Setting:
        """The definition of ``key``; a dotted name is a custom setting, as in PostgreSQL
        (``SET myapp.tenant = '5'``), readable once set."""
        setting = SETTINGS.get(key)
        if setting is None and "." in key and (not existing or key in self._values):
            return CUSTOM
        if setting is None:
            raise errors.UndefinedObject(f'unrecognized configuration parameter "{name}"')
        return setting

    @property
    def timezone(self) -> str:
        return self.get("timezone")

    def all_rows(self) -> list[tuple[str, str, str]]:
        return [(DISPLAY_NAMES.get(k, k), self.get(k), s.description) for k, s in SETTINGS.items()]

    def _validate(self, key: str, value: str) -> str:
        if key == "search_path":
            return value.strip()  # its names keep their quotes (engine.search_path)
        value = unquote(value)
        if key == "client_encoding" and value.lower().replace("-", "") not in {"utf8", "unicode"}:
            raise errors.FeatureNotSupported(
                f'conversion to encoding "{value}" is not supported: forge-sql speaks UTF8 only'
            )
        if key == "client_encoding":
            return "UTF8"
        if key in _BOOLEANS:
            return _boolean(key, value)
        if key in ("transaction_isolation", "default_transaction_isolation"):
            level = " ".join(value.lower().split())
            if level not in _LEVELS:
                raise errors.InvalidParameterValue(
                    f'invalid value for parameter "{key}": "{value}"'
                )
            return level
        if key == "timezone":
            return _timezone(value)
        if key == SEMANTICS:
            if value.strip().lower() not in SEMANTICS_VALUES:
                raise errors.InvalidParameterValue(
                    f'invalid value for parameter "{SEMANTICS}": "{value}"',
                    hint="Available values: " + ", ".join(SEMANTICS_VALUES) + ".",
                )
            return value.strip().lower()
        if key in _DURATIONS:
            duration_ms(value)
        if key == "datestyle" and "ISO" not in value.upper():
            raise errors.InvalidParameterValue(
                f'invalid value for parameter "DateStyle": "{value}"',
                detail="forge-sql prints dates in ISO format only.",
            )
        if key == "intervalstyle" and value.lower() != "postgres":
            raise errors.InvalidParameterValue(
                f'invalid value for parameter "IntervalStyle": "{value}"',
                detail="forge-sql prints intervals in the postgres style only.",
            )
        return value


_DURATIONS = {
    "statement_timeout",
    "lock_timeout",
    "idle_in_transaction_session_timeout",
    "idle_session_timeout",
}
_BOOLEANS = {"default_transaction_read_only", "transaction_read_only", "jit", "row_security"}
_LEVELS = {"serializable", "repeatable read", "read committed", "read uncommitted"}
_TRUE = {"on", "true", "yes", "1", "t", "y"}
_FALSE = {"off", "false", "no", "0", "f", "n"}


class ServerDefaults(Protocol):
    idle_session_timeout: int
    idle_in_transaction_session_timeout: int

    @property
    def semantics(self) -> str: ...  # a Literal in the configuration: read-only here


def server_defaults(config: ServerDefaults) -> dict[str, str]:
    """The session settings whose default the server's configuration gives."""
    return {
        "idle_session_timeout": str(config.idle_session_timeout),
        "idle_in_transaction_session_timeout": str(config.idle_in_transaction_session_timeout),
        SEMANTICS: config.semantics,
    }


def _boolean(key: str, value: str) -> str:
    word = value.strip().lower()
    if word in _TRUE:
        return "on"
    if word in _FALSE:
        return "off"
    raise errors.InvalidParameterValue(f'parameter "{key}" requires a Boolean value')


def _timezone(value: str) -> str:
    if value.upper() in ("UTC", "GMT", "Z", "ZULU", "LOCAL", "DEFAULT"):
        return "UTC"
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise errors.InvalidParameterValue(
            f'invalid value for parameter "TimeZone": "{value}"'
        ) from exc
    return value


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(us|ms|s|min|h|d)?\s*$", re.I)
_UNIT_MS = {"us": 0.001, "ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000, "d": 86_400_000}


@functools.lru_cache(maxsize=64)  # read for every statement and lock (statement_timeout...)
def duration_ms(value: str) -> float:
    """A PostgreSQL time setting (``5000``, ``5s``, ``1min``) in milliseconds."""
    match = _DURATION.match(value)
    if match is None:
        raise errors.InvalidParameterValue(f'invalid value for a time setting: "{value}"')
    return float(match.group(1)) * _UNIT_MS[(match.group(2) or "ms").lower()]
