"""PostgreSQL session settings, answered by the server: SET, SHOW, RESET.

DuckDB's configuration is locked for clients (DESIGN.md, sandbox), so the settings drivers
and BI tools send on connect are kept here, per session, under their PostgreSQL names.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from typing import Protocol

from forge_sql import errors

SERVER_VERSION = "16.4"
SERVER_VERSION_NUM = "160004"


@dataclass(frozen=True, slots=True)
class Setting:
    default: str
    description: str
    reported: bool = False  # sent as ParameterStatus when it changes
    read_only: bool = False


SETTINGS: dict[str, Setting] = {
    "application_name": Setting("", "Sets the application name to be reported.", True),
    "client_encoding": Setting("UTF8", "Sets the client's character set encoding.", True),
    "datestyle": Setting("ISO, MDY", "Sets the display format for date and time values.", True),
    "intervalstyle": Setting("postgres", "Sets the display format for interval values.", True),
    "timezone": Setting("UTC", "Sets the time zone for displaying time stamps.", True),
    "extra_float_digits": Setting("1", "Sets the number of digits displayed for floats."),
    "search_path": Setting('"$user", public', "Sets the schema search order."),
    "statement_timeout": Setting("0", "Maximum allowed duration of any statement."),
    "lock_timeout": Setting("0", "Maximum allowed duration of any wait for a lock."),
    "idle_in_transaction_session_timeout": Setting(
        "0", "Closes a session idle this long inside a transaction (ms; 0: off)."
    ),
    "idle_session_timeout": Setting(
        "0", "Closes a session idle this long outside a transaction (ms; 0: off)."
    ),
    "client_min_messages": Setting("notice", "Sets the message levels sent to the client."),
    "default_transaction_isolation": Setting(
        "repeatable read", "Isolation level of each new transaction."
    ),
    "transaction_isolation": Setting("repeatable read", "Current transaction's isolation."),
    "default_transaction_read_only": Setting("off", "Default read-only status.", True),
    "transaction_read_only": Setting("off", "Current transaction's read-only status."),
    "bytea_output": Setting("hex", "Sets the output format for bytea."),
    "standard_conforming_strings": Setting("on", "Backslashes are literal in strings.", True, True),
    "server_version": Setting(SERVER_VERSION, "Server version.", True, True),
    "server_version_num": Setting(SERVER_VERSION_NUM, "Server version as an integer.", False, True),
    "server_encoding": Setting("UTF8", "Server character set encoding.", True, True),
    "integer_datetimes": Setting("on", "Datetimes are integer based.", True, True),
    "is_superuser": Setting("on", "Whether the current user is a superuser.", True, True),
    "max_identifier_length": Setting("63", "Maximum identifier length.", False, True),
    "lc_collate": Setting("C", "Collation order locale.", False, True),
    "lc_ctype": Setting("C", "Character classification locale.", False, True),
    "in_hot_standby": Setting("off", "Whether hot standby is active.", True, True),
    "jit": Setting("off", "Allow JIT compilation."),
    "row_security": Setting("on", "Enable row security."),
    "synchronous_commit": Setting("on", "Synchronisation level of commits."),
    "work_mem": Setting("4MB", "Memory for internal sorts (advisory)."),
    "enable_seqscan": Setting("on", "Planner setting (advisory)."),
    # SQLAlchemy's table reflection compares pg_am.amname with it; pg_dump output SETs it.
    "default_table_access_method": Setting("heap", "Default table access method (advisory)."),
    "default_tablespace": Setting("", "Default tablespace for new tables (advisory)."),
}

_CUSTOM = Setting("", "A custom setting.")

# How clients spell the names PostgreSQL reports (ParameterStatus is case-preserving).
DISPLAY_NAMES = {"datestyle": "DateStyle", "intervalstyle": "IntervalStyle", "timezone": "TimeZone"}

_SET = re.compile(
    r"^\s*SET\s+(?:(SESSION|LOCAL)\s+)?(?P<name>[A-Za-z_][\w.]*)\s*(?:=|\s+TO\s+|\s+)\s*"
    r"(?P<value>.*?)\s*;?\s*$",
    re.I | re.S,
)
_SET_TIME_ZONE = re.compile(
    r"^\s*SET\s+(?:(SESSION|LOCAL)\s+)?TIME\s+ZONE\s+(?P<value>.*?)\s*;?\s*$", re.I | re.S
)
_SET_CHARACTERISTICS = re.compile(
    r"^\s*SET\s+SESSION\s+CHARACTERISTICS\s+AS\s+TRANSACTION\s+(.*)$", re.I | re.S
)
_SHOW = re.compile(r"^\s*SHOW\s+(?P<name>[A-Za-z_][\w.]*(?:\s+[A-Za-z_]+)*)\s*;?\s*$", re.I | re.S)
_RESET = re.compile(r"^\s*RESET\s+(?P<name>[A-Za-z_][\w.]*)\s*;?\s*$", re.I | re.S)
_ACCESS = re.compile(r"\bREAD\s+(ONLY|WRITE)\b", re.I)
# A transaction's own mode, and the session default it starts from.
_TRANSACTION_DEFAULTS = {
    "transaction_isolation": "default_transaction_isolation",
    "transaction_read_only": "default_transaction_read_only",
}
_SET_TRANSACTION = re.compile(r"^\s*SET\s+TRANSACTION\s+(.*)$", re.I | re.S)
_ISOLATION = re.compile(
    r"ISOLATION\s+LEVEL\s+(SERIALIZABLE|REPEATABLE\s+READ|READ\s+COMMITTED|READ\s+UNCOMMITTED)",
    re.I,
)


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
            setting = SETTINGS.get(key, _CUSTOM)
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
        if setting is _CUSTOM:
            self._values[key] = ""  # a custom setting, once set, reads as '' after RESET
        elif self._values.pop(key, None) is not None and setting.reported:
            self.changed[DISPLAY_NAMES.get(key, key)] = setting.default

    def _setting(self, key: str, name: str, existing: bool = False) -> Setting:
        """The definition of ``key``; a dotted name is a custom setting, as in PostgreSQL
        (``SET myapp.tenant = '5'``), readable once set."""
        setting = SETTINGS.get(key)
        if setting is None and "." in key and (not existing or key in self._values):
            return _CUSTOM
        if setting is None:
            raise errors.UndefinedObject(f'unrecognized configuration parameter "{name}"')
        return setting

    @property
    def timezone(self) -> str:
        return self.get("timezone")

    def all_rows(self) -> list[tuple[str, str, str]]:
        return [(DISPLAY_NAMES.get(k, k), self.get(k), s.description) for k, s in SETTINGS.items()]

    def _validate(self, key: str, value: str) -> str:
        value = _unquote(value)
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


def server_defaults(config: ServerDefaults) -> dict[str, str]:
    """The session settings whose default the server's configuration gives."""
    return {
        "idle_session_timeout": str(config.idle_session_timeout),
        "idle_in_transaction_session_timeout": str(config.idle_in_transaction_session_timeout),
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


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1].replace(value[0] * 2, value[0])
    return value


@dataclass(frozen=True, slots=True)
class SettingCommand:
    """A parsed SET / SHOW / RESET statement."""

    verb: str  # SET, SHOW, RESET, SET_CHARACTERISTICS, SET_TRANSACTION
    name: str
    value: str = ""
    local: bool = False


def parse(sql: str) -> SettingCommand | None:
    """The setting command in ``sql``, or None if it is not one the server answers itself."""
    head = sql.lstrip()[:6].upper()
    if head.startswith("SET"):
        match = _SET_CHARACTERISTICS.match(sql)
        if match:
            return SettingCommand("SET_CHARACTERISTICS", "transaction", match.group(1))
        match = _SET_TRANSACTION.match(sql)
        if match:
            return SettingCommand("SET_TRANSACTION", "transaction", match.group(1))
        match = _SET_TIME_ZONE.match(sql)
        if match:
            return SettingCommand(
                "SET",
                "timezone",
                _unquote(match.group("value")),
                (match.group(1) or "").upper() == "LOCAL",
            )
        match = _SET.match(sql)
        if match and match.group("name").upper() != "GLOBAL":  # SET GLOBAL is DuckDB's
            values = [_unquote(v) for v in _split_list(match.group("value"))]
            return SettingCommand(
                "SET",
                match.group("name"),
                ", ".join(values),
                (match.group(1) or "").upper() == "LOCAL",
            )
        return None
    if head.startswith("SHOW"):
        match = _SHOW.match(sql)
        if match:
            name = " ".join(match.group("name").split())
            if name.lower() == "time zone":  # SQL-standard spelling of SHOW TimeZone
                return SettingCommand("SHOW", "TimeZone")
            if (
                name.lower() == "all"
                or name.lower() in SETTINGS
                or "." in name
                or name.lower() in ("transaction isolation level",)
            ):
                return SettingCommand("SHOW", name)
        return None
    if head.startswith("RESET"):
        match = _RESET.match(sql)
        if match:
            return SettingCommand("RESET", match.group("name"))
    return None


def _split_list(value: str) -> list[str]:
    parts, current, quote = [], [], ""
    for char in value:
        if quote:
            current.append(char)
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
            current.append(char)
        elif char == ",":
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return [p for p in parts if p]


def isolation_level(text: str) -> str | None:
    match = _ISOLATION.search(text)
    return " ".join(match.group(1).lower().split()) if match else None


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(us|ms|s|min|h|d)?\s*$", re.I)
_UNIT_MS = {"us": 0.001, "ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000, "d": 86_400_000}


def duration_ms(value: str) -> float:
    """A PostgreSQL time setting (``5000``, ``5s``, ``1min``) in milliseconds."""
    match = _DURATION.match(value)
    if match is None:
        raise errors.InvalidParameterValue(f'invalid value for a time setting: "{value}"')
    return float(match.group(1)) * _UNIT_MS[(match.group(2) or "ms").lower()]
