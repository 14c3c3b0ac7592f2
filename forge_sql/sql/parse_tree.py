"""DuckDB's parse tree of a statement text (``json_serialize_sql``: parsed, nothing bound),
made once per text and shared by what reads it: privileges and result column names."""

from __future__ import annotations

import functools
import json
import threading
from typing import Any

import duckdb

_local = threading.local()


def _parser() -> duckdb.DuckDBPyConnection:
    """An in-memory database per thread: parsing needs no catalog."""
    con: duckdb.DuckDBPyConnection | None = getattr(_local, "con", None)
    if con is None:
        con = duckdb.connect(":memory:")
        _local.con = con
    return con


@functools.lru_cache(maxsize=512)
def statements(sql: str) -> tuple[dict[str, Any], ...] | None:
    """The statements of ``sql`` as DuckDB's parser serializes them; None: does not parse
    (or is not a query). Shared between callers: read, never change."""
    try:
        row = _parser().execute("SELECT json_serialize_sql(?)", [sql]).fetchone()
    except duckdb.Error:
        return None
    tree: dict[str, Any] = json.loads(row[0]) if row and row[0] else {"error": True}
    if tree.get("error"):
        return None
    found: list[dict[str, Any]] = tree.get("statements") or []
    return tuple(found)
