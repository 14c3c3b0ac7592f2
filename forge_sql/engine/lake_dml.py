"""Which INSERT, UPDATE and DELETE the server runs itself on lake tables (RETURNING, ON
CONFLICT: engine.returning, engine.upsert), and running them as one statement."""

from __future__ import annotations

from collections.abc import Sequence

from forge_sql.engine import returning, upsert
from forge_sql.engine.connection import Connection
from forge_sql.engine.constraints import Declarations
from forge_sql.engine.result import TableResult, TagResult
from forge_sql.sql import dml as clauses
from forge_sql.sql.statements import Statement


class LakeDml:
    """One session's runner of the writes DuckLake cannot run as written."""

    def __init__(self, connection: Connection, lake: str, declarations: Declarations) -> None:
        self._writes = returning.Writes(connection, lake)
        self._declarations = declarations

    def run(
        self, statement: Statement, sql: str, values: Sequence[object]
    ) -> TableResult | TagResult | None:
        """The result of ``sql`` (``statement`` as it runs, placeholders cast), or None when
        DuckDB runs it as written (no RETURNING or ON CONFLICT, not a lake table)."""
        if not returning.handles(statement):
            return None
        dml = clauses.parse(sql)
        if dml is None or (dml.returning is None and dml.conflict is None):
            return None
        table = self._writes.table(dml)
        if table is None:
            return None
        writes = self._writes
        try:
            if dml.conflict is not None:
                return upsert.run(writes, self._declarations, statement, dml, table, values)
            if dml.verb == "INSERT":
                return writes.insert(statement, dml, table, values)
            if dml.verb == "UPDATE":
                return writes.update(statement, dml, table, values)
            return writes.delete(statement, dml, table, values)
        finally:
            writes.drop_staged()
