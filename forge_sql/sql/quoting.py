"""SQL text the server writes itself: identifiers quoted, Python values as DuckDB literals.

No imports from the rest of the package, so configuration, storage, catalog, engine and
migrations can all use it without import cycles.
"""

from __future__ import annotations

import re


def quote_ident(name: str) -> str:
    """``name`` as a quoted identifier (its case kept, embedded quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: object) -> str:
    """A Python value as a DuckDB literal: NULL, booleans, numbers, strings, lists and
    structs (dicts); anything else is a ValueError."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(literal(item) for item in value) + "]"
    if isinstance(value, dict):
        fields = ", ".join(f"{literal(str(k))}: {literal(v)}" for k, v in value.items())
        return "{" + fields + "}"
    raise ValueError(f"cannot write {value!r} as a SQL literal")


_PASSWORD: re.Pattern[str] | None = None


def redact_passwords(text: str) -> str:
    """``text`` with the literal after each PASSWORD keyword (CREATE/ALTER ROLE) shown as
    '********', for pg_stat_activity and logs: clear-text passwords are never shown."""
    global _PASSWORD
    if "password" not in text.lower():
        return text
    if _PASSWORD is None:
        _PASSWORD = re.compile(
            r"(?i)(\bPASSWORD\s+)(?:[Ee]?'(?:[^'\\]|''|\\.)*'?|(\$[A-Za-z_0-9]*\$).*?(?:\2|$))",
            re.DOTALL,
        )
    return _PASSWORD.sub(lambda m: m.group(1) + "'********'", text)


def name_parts(text: str) -> list[str]:
    """The parts of a possibly qualified, possibly quoted name written as text ('s',
    'public.s', '"My Seq"'), folded as PostgreSQL folds them: unquoted parts to lower case,
    quoted ones as written with "" read as one quote. Parts are not checked."""
    parts: list[str] = []
    current = ""
    quoted = False
    index = 0
    while index < len(text):
        char = text[index]
        if char == '"':
            if quoted and text[index + 1 : index + 2] == '"':
                current += '"'
                index += 1
            else:
                quoted = not quoted
        elif char == "." and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char if quoted else char.lower()
        index += 1
    parts.append(current)
    return parts
