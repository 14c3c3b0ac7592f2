"""INSERT, UPDATE and DELETE ... RETURNING on lake tables, which DuckLake refuses.

The rows a statement writes are first computed into a temporary relation of the session
(for INSERT: the rows to insert, with column defaults applied; for UPDATE: each row's new
values; for DELETE: the rows to remove), written to the table from there, and returned
from there. The table's write lock (engine.lock_targets, taken before the statement runs
and held to the end of its transaction) keeps other writers out between the read and the
write; the whole runs in the session's transaction, so an error leaves nothing written.
ON CONFLICT is forge_sql.engine.upsert's, over the same staged rows.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from forge_sql import errors
from forge_sql.engine import column_names, params, search_path
from forge_sql.engine.connection import Connection
from forge_sql.engine.result import TableResult, TagResult
from forge_sql.seam.backend import Column
from forge_sql.sql import dml as clauses
from forge_sql.sql import parse_tree
from forge_sql.sql.dml import Dml
from forge_sql.sql.quoting import quote_ident
from forge_sql.sql.rewrite import Edit, apply
from forge_sql.sql.statements import Statement
from forge_sql.sql.tokens import tokenize

ROWS = "temp.main.__forge_dml_rows"  # the rows the statement writes
ROW_ID = "__forge_rowid"  # the written row's rowid, in the staged rows of UPDATE/DELETE


@dataclass(frozen=True, slots=True)
class Table:
    """A lake table as the statement's rows need it."""

    relation: str  # lake.schema.table, quoted
    schema: str
    name: str
    columns: tuple[tuple[str, str, str | None], ...]  # (name, DuckDB type, default SQL)

    @property
    def located(self) -> tuple[str, str]:
        return self.schema, self.name

    def column_list(self, prefix: str = "") -> str:
        return ", ".join(prefix + quote_ident(name) for name, _, _ in self.columns)


def handles(statement: Statement) -> bool:
    """Whether ``statement`` may need this module: a DML with RETURNING or ON CONFLICT (the
    table it writes decides: ``Writes.table``)."""
    if statement.kind not in ("INSERT", "UPDATE", "DELETE"):
        return False
    return statement.has_keyword("RETURNING") or (
        statement.kind == "INSERT" and statement.has_keyword("CONFLICT")
    )


def bind(sql: str, values: Sequence[object]) -> tuple[str, list[object]]:
    """``sql`` (a piece of a statement) with its ``$n`` numbered from 1 in order of first
    use, and the values they take: each piece runs as a statement of its own."""
    if "$" not in sql or not values:
        return sql, []
    tokens = tokenize(sql)
    found = params.placeholders(tokens)
    if not found:
        return sql, []
    numbers: dict[int, int] = {}
    edits = []
    for number, index in found:
        new = numbers.setdefault(number, len(numbers) + 1)
        edits.append(Edit(tokens[index].start, tokens[index].end, f"${new}"))
    chosen = [values[n - 1] if n <= len(values) else None for n in numbers]
    return apply(sql, tuple(edits)), chosen


def describe_sql(sql: str) -> str | None:
    """What Describe binds, without running the statement, for the RETURNING columns of
    ``sql``; None without RETURNING."""
    parsed = clauses.parse(sql)
    if parsed is None or parsed.returning is None:
        return None
    return returning_query(parsed)


def returning_query(dml: Dml) -> str:
    """The RETURNING list over the table's row (and the FROM or USING list): the query
    whose columns, named as PostgreSQL names a select list's, the statement returns."""
    extra = f", {dml.from_}" if dml.from_ else ""
    prefix = f"{dml.with_} " if dml.with_ else ""
    return f"{prefix}SELECT {dml.returning} FROM {dml.target} AS {dml.name}{extra}"


def returning_sql(dml: Dml, source: str) -> str:
    """The RETURNING list's query over the staged rows ``source`` (a relation with the
    table's columns, each FROM/USING relation's row as a column of its name, and maybe more
    to drop). ``*`` is the table's columns and then each FROM relation's, as PostgreSQL's."""
    assert dml.returning is not None
    returning, aliases = dml.returning, from_aliases(dml)
    if aliases:
        hidden = ", ".join(quote_ident(a) for a in aliases)
        star = ", ".join([f"{dml.name}.* EXCLUDE ({hidden})",
                          *(f"{quote_ident(a)}.*" for a in aliases)])
        own = f"{dml.name}.* EXCLUDE ({hidden})"
        returning = ", ".join(
            star if item.strip() == "*" else own
            if "".join(item.split()).lower() == f"{dml.name}.*".lower() else item
            for item in _items(returning)
        )
    return f"SELECT {returning} FROM ({source}) AS {dml.name}"


def from_aliases(dml: Dml) -> list[str]:
    """The names the FROM (UPDATE) or USING (DELETE) list gives its relations; [] when
    there is none, or it cannot be told (RETURNING then sees the table's row only)."""
    if not dml.from_:
        return []
    tree = parse_tree.statements(f"SELECT 1 FROM {dml.from_}")
    if tree is None or len(tree) != 1:
        return []
    found: list[str] = []
    _relation_names(tree[0].get("node", {}).get("from_table"), found)
    return found


def _relation_names(ref: object, found: list[str]) -> None:
    if not isinstance(ref, dict):
        return
    if ref.get("type") == "JOIN":
        _relation_names(ref.get("left"), found)
        _relation_names(ref.get("right"), found)
        return
    name = ref.get("alias") or (ref.get("table_name") if ref.get("type") == "BASE_TABLE"
                                else None)
    if name:
        found.append(str(name))


def _items(select_list: str) -> list[str]:
    """A select list's items (commas inside brackets and strings kept)."""
    items, depth, start = [], 0, 0
    tokens = tokenize(select_list)
    for token in tokens:
        if token.text in ("(", "["):
            depth += 1
        elif token.text in (")", "]"):
            depth -= 1
        elif token.text == "," and depth == 0:
            items.append(select_list[start:token.start])
            start = token.end
    items.append(select_list[start:])
    return items


class Writes:
    """Runs the INSERT, UPDATE and DELETE of one session that DuckLake cannot run as
    written (RETURNING; ON CONFLICT through engine.upsert)."""

    def __init__(self, connection: Connection, lake: str) -> None:
        self._connection = connection
        self._lake = lake
        self.staged = [ROWS]  # the temporary relations the statement made

    def table(self, dml: Dml) -> Table | None:
        """The lake table ``dml`` writes, or None when it writes another (a temporary
        table: DuckDB runs RETURNING and ON CONFLICT there itself)."""
        parts = [clauses.unquote(t.text) if t.text.startswith('"') else t.text
                 for t in tokenize(dml.target) if t.text != "."]
        if len(parts) >= 3 and parts[-3].lower() != self._lake.lower():
            return None
        if len(parts) == 1:
            try:  # a temporary table of that name comes first on the search path
                self._connection.sql(f"SELECT 1 FROM temp.main.{quote_ident(parts[0])}")
                return None
            except duckdb.CatalogException:
                pass
            schema = search_path.schema_of(self._connection, parts[0])
        else:
            schema = parts[-2]
        relation = ".".join(quote_ident(p) for p in (self._lake, schema, parts[-1]))
        try:
            # pragma_table_info binds the name only (duckdb_columns() reads every table's
            # statistics): milliseconds less on each statement.
            found = self._connection.execute(
                "SELECT name, type, dflt_value FROM pragma_table_info(?)", [relation]
            ).fetchall()
        except duckdb.CatalogException:
            return None  # a missing table: DuckDB reports it as it runs the statement
        if not found:
            return None
        located = (schema, parts[-1])
        columns = tuple(
            (name, kind, None if default in (None, "NULL") else str(default))
            for name, kind, default in found
        )
        return Table(relation, located[0], located[1], columns)

    # -- INSERT --------------------------------------------------------------------------
    def stage_inserted(
        self, dml: Dml, table: Table, values: Sequence[object], numbered: bool = False
    ) -> None:
        """The rows ``dml`` proposes to insert, into ROWS with every column of the table:
        what the statement names, and each other column's default. Column defaults are
        applied here and only here (they are the temporary table's own defaults, so a
        default of any expression is evaluated once per row, as an INSERT into the table
        would). ``numbered``: ROWS gets __forge_n, each row's place in the statement."""
        definitions = ", ".join(
            f"{quote_ident(name)} {kind}"
            + (f" DEFAULT CAST({default} AS {kind})" if default is not None else "")
            for name, kind, default in table.columns
        )
        self._connection.execute(f"CREATE OR REPLACE TEMP TABLE __forge_dml_rows ({definitions})")
        listed = "" if dml.columns is None else (
            " (" + ", ".join(quote_ident(c) for c in dml.columns) + ")"
        )
        prefix = f"{dml.with_} " if dml.with_ else ""
        sql, chosen = bind(f"{prefix}INSERT INTO {ROWS}{listed} {dml.source}", values)
        self._connection.execute(sql, chosen)
        if numbered:
            self._connection.execute(
                "CREATE OR REPLACE TEMP TABLE __forge_dml_rows AS SELECT "
                f"row_number() OVER () AS __forge_n, * FROM {ROWS}"
            )

    def insert(self, statement: Statement, dml: Dml, table: Table,
               values: Sequence[object]) -> TableResult | TagResult:
        """INSERT ... RETURNING: the staged rows are inserted, then returned."""
        self.stage_inserted(dml, table, values)
        count = self.count(
            f"INSERT INTO {table.relation} ({table.column_list()}) "
            f"SELECT {table.column_list()} FROM {ROWS}"
        )
        return self.answer(statement, dml, f"SELECT * FROM {ROWS}", count, values)

    # -- UPDATE and DELETE ---------------------------------------------------------------
    def update(self, statement: Statement, dml: Dml, table: Table,
               values: Sequence[object]) -> TableResult | TagResult:
        """UPDATE ... RETURNING: each matched row's new values are computed once, written
        by rowid, and returned."""
        name = dml.name
        assigned = {}
        known = {c[0].lower(): c for c in table.columns}
        for column, expression in clauses.assigned_columns(dml.assignments):
            found = known.get(column.lower())
            if found is None:
                raise errors.UndefinedColumn(
                    f'column "{column}" of relation "{table.name}" does not exist'
                )
            if found[0] in assigned:
                raise errors.SyntaxError_(f'multiple assignments to same column "{found[0]}"')
            if expression.strip().upper() == "DEFAULT":
                expression = found[2] or "NULL"
            assigned[found[0]] = f"CAST(({expression}) AS {found[1]})"
        projection = ", ".join(
            f"{assigned.get(col, f'{name}.{quote_ident(col)}')} AS {quote_ident(col)}"
            for col, _, _ in table.columns
        )
        self._stage_matched(dml, table, projection, values)
        if assigned:
            sets = ", ".join(f"{quote_ident(c)} = __forge_new.{quote_ident(c)}" for c in assigned)
            count = self.count(
                f"UPDATE {table.relation} AS __forge_target SET {sets} FROM {ROWS} AS "
                f"__forge_new WHERE __forge_target.rowid = __forge_new.{ROW_ID}"
            )
        else:
            count = self.count(f"SELECT count(*) FROM {ROWS}")
        return self.answer(statement, dml, f"SELECT * EXCLUDE ({ROW_ID}) FROM {ROWS}", count,
                           values)

    def delete(self, statement: Statement, dml: Dml, table: Table,
               values: Sequence[object]) -> TableResult | TagResult:
        """DELETE ... RETURNING: the matched rows are kept, deleted by rowid, returned."""
        name = dml.name
        self._stage_matched(dml, table, table.column_list(f"{name}."), values)
        count = self.count(
            f"DELETE FROM {table.relation} WHERE rowid IN (SELECT {ROW_ID} FROM {ROWS})"
        )
        return self.answer(statement, dml, f"SELECT * EXCLUDE ({ROW_ID}) FROM {ROWS}", count,
                           values)

    def _stage_matched(
        self, dml: Dml, table: Table, projection: str, values: Sequence[object]
    ) -> None:
        """The rows the WHERE (and FROM/USING) of an UPDATE or DELETE match, each once,
        with their rowid: evaluated once, so what is written is what is returned."""
        name = dml.name
        prefix = f"{dml.with_} " if dml.with_ else ""
        joined = f", {dml.from_}" if dml.from_ else ""
        if dml.returning is not None:  # each FROM relation's row, for RETURNING to name
            columns = {c[0].lower() for c in table.columns}
            aliases = from_aliases(dml)
            if any(a.lower() in columns or a.lower() == name.lower() for a in aliases):
                raise errors.FeatureNotSupported(
                    "RETURNING with a FROM or USING relation named like a column of the "
                    "target table is not supported"
                )
            projection += "".join(f", {quote_ident(a)} AS {quote_ident(a)}" for a in aliases)
        where = f" WHERE {dml.where}" if dml.where else ""
        once = f" QUALIFY row_number() OVER (PARTITION BY {name}.rowid) = 1" if joined else ""
        sql, chosen = bind(
            f"CREATE OR REPLACE TEMP TABLE __forge_dml_rows AS {prefix}SELECT "
            f"{name}.rowid AS {ROW_ID}, {projection} FROM {table.relation} AS {name}"
            f"{joined}{where}{once}",
            values,
        )
        self._connection.execute(sql, chosen)

    # -- shared --------------------------------------------------------------------------
    def execute(self, sql: str, values: Sequence[object] = ()) -> None:
        self._connection.execute(sql, values)

    def first(self, sql: str) -> tuple[object, ...] | None:
        row = self._connection.execute(sql).fetchone()
        return None if row is None else tuple(row)

    def count(self, sql: str) -> int:
        row = self._connection.execute(sql).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def answer(self, statement: Statement, dml: Dml, source: str, count: int,
               values: Sequence[object]) -> TableResult | TagResult:
        """The command's tag, and the RETURNING list over ``source`` if it has one."""
        tag = statement.tag(count)
        if dml.returning is None:
            return TagResult(tag)
        sql, chosen = bind(returning_sql(dml, source), values)
        cursor = self._connection.execute(sql, chosen)
        described = cursor.description or ()
        table: pa.Table = cursor.to_arrow_table()
        columns: tuple[Column, ...] = column_names.result_columns(
            returning_query(dml), described, self._connection.result_scope()
        )
        return TableResult(table, columns, tag)

    def drop_staged(self) -> None:
        """The staged relations go at the end of the statement (with the transaction, if
        it failed: then there is nothing to drop)."""
        with contextlib.suppress(duckdb.Error):
            self._connection.execute(
                "; ".join(f"DROP TABLE IF EXISTS {name}" for name in self.staged),
                interruptible=False,
            )
        self.staged = [ROWS]
