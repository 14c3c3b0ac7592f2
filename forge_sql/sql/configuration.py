"""PostgreSQL's configuration parameters as sessions see them: their names, defaults and
descriptions, and the syntax of SET, SHOW and RESET (parsed once, here)."""

from __future__ import annotations

import re
from dataclasses import dataclass

SERVER_VERSION = "16.4"
SERVER_VERSION_NUM = "160004"


@dataclass(frozen=True, slots=True)
class Setting:
    default: str
    description: str
    reported: bool = False  # sent as ParameterStatus when it changes
    read_only: bool = False


SEMANTICS = "forge.semantics"
SEMANTICS_VALUES = ("postgres", "duckdb")

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
    # forge-sql's own (issue 16): PostgreSQL's value semantics unless a session or the
    # server's configuration (semantics = "duckdb") asks for DuckDB's.
    SEMANTICS: Setting(
        "postgres",
        "Value semantics of statements: postgres (integer division truncates, NULLs first "
        "in descending order, PostgreSQL's format() and SIMILAR TO) or duckdb (DuckDB's own).",
    ),
}

CUSTOM = Setting("", "A custom setting.")

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
_SET_TRANSACTION = re.compile(r"^\s*SET\s+TRANSACTION\s+(.*)$", re.I | re.S)
_ISOLATION = re.compile(
    r"ISOLATION\s+LEVEL\s+(SERIALIZABLE|REPEATABLE\s+READ|READ\s+COMMITTED|READ\s+UNCOMMITTED)",
    re.I,
)


def unquote(value: str) -> str:
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
                unquote(match.group("value")),
                (match.group(1) or "").upper() == "LOCAL",
            )
        match = _SET.match(sql)
        if match and match.group("name").upper() != "GLOBAL" and (
                match.group("value").upper() == "DEFAULT" and not match.group(1)):
            return SettingCommand("RESET", match.group("name"))  # SET x TO DEFAULT
        if match and match.group("name").upper() != "GLOBAL":  # SET GLOBAL is DuckDB's
            if match.group("name").lower() == "search_path":
                values = [_schema_name(v) for v in _split_list(match.group("value"))]
            else:
                values = [unquote(v) for v in _split_list(match.group("value"))]
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


_PLAIN_NAME = re.compile(r"[a-z_][a-z0-9_$]*")


def _schema_name(item: str) -> str:
    """One schema of SET search_path as PostgreSQL shows it: an unquoted name folded to
    lower case, a quoted name or a string quoted only where it must be ('a,b' is one
    schema named a,b)."""
    if item[:1] not in ("'", '"'):
        return item.lower()
    name = unquote(item)
    if _PLAIN_NAME.fullmatch(name):
        return name
    return '"' + name.replace('"', '""') + '"'


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
