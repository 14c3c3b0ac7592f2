"""How a lake table's files are laid out: partition keys and sort keys.

DuckLake writes each partition to its own ``key=value`` directory and skips the files of
partitions a filter excludes; rows within each new file are written in sort-key order, so
min/max statistics prune row groups. Both apply to data written after they are set.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# Partition transforms DuckLake 1.5.5 accepts; identity is the plain column.
TRANSFORMS = ("year", "month", "day", "hour", "bucket")
_KEY = re.compile(
    r"^\s*(?:(?P<fn>[a-z]+)\s*\(\s*(?:(?P<n>\d+)\s*,\s*)?(?P<arg>[^()]+?)\s*\)"
    r"|(?P<col>[^()]+?))\s*$",
    re.I,
)
_SORT = re.compile(
    r"^\s*(?P<col>.+?)(?:\s+(?P<dir>ASC|DESC))?(?:\s+NULLS\s+(?P<nulls>FIRST|LAST))?\s*$",
    re.I,
)


def quote_ident(name: str) -> str:
    name = name.strip()
    if name.startswith('"') and name.endswith('"') and len(name) > 1:
        return name
    return '"' + name.replace('"', '""') + '"'


def partition_key(key: str) -> str:
    """``region``, ``year(day)``, ``bucket(16, id)`` as DuckLake SQL (names quoted)."""
    match = _KEY.match(key)
    if match is None:
        raise ValueError(f"invalid partition key {key!r}")
    if match.group("col") is not None:
        return quote_ident(match.group("col"))
    function = match.group("fn").lower()
    if function not in TRANSFORMS:
        raise ValueError(
            f"unsupported partition transform {function!r}: use a column or "
            + ", ".join(f"{t}(column)" for t in TRANSFORMS[:-1])
            + ", bucket(n, column)"
        )
    if (function == "bucket") != (match.group("n") is not None):
        raise ValueError(f"invalid partition key {key!r}: bucket takes (n, column)")
    count = f"{match.group('n')}, " if function == "bucket" else ""
    return f"{function}({count}{quote_ident(match.group('arg'))})"


def sort_key(key: str) -> str:
    """``amount``, ``amount DESC``, ``day ASC NULLS FIRST`` as DuckLake SQL."""
    match = _SORT.match(key)
    if match is None or not match.group("col").strip():
        raise ValueError(f"invalid sort key {key!r}")
    text = quote_ident(match.group("col"))
    if match.group("dir"):
        text += " " + match.group("dir").upper()
    if match.group("nulls"):
        text += " NULLS " + match.group("nulls").upper()
    return text


def partition_sql(table: str, keys: Sequence[str]) -> str:
    """``ALTER TABLE table SET PARTITIONED BY (...)``, or ``RESET`` for no keys."""
    if not keys:
        return f"ALTER TABLE {table} RESET PARTITIONED BY"
    return f"ALTER TABLE {table} SET PARTITIONED BY ({', '.join(map(partition_key, keys))})"


def sort_sql(table: str, keys: Sequence[str]) -> str:
    """``ALTER TABLE table SET SORTED BY (...)``, or ``RESET`` for no keys."""
    if not keys:
        return f"ALTER TABLE {table} RESET SORTED BY"
    return f"ALTER TABLE {table} SET SORTED BY ({', '.join(map(sort_key, keys))})"
