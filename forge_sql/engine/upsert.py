"""INSERT ... ON CONFLICT on lake tables (PostgreSQL docs, INSERT "ON CONFLICT Clause").

DuckLake enforces no key, so the arbiter is a PRIMARY KEY, UNIQUE constraint or unique
index recorded in forge_meta.constraints (engine.constraints). The proposed rows are
staged with their defaults (engine.returning), compared with the table's rows under the
table's write lock, and then the rows without a conflict are inserted and, for DO UPDATE,
the conflicting rows updated by rowid; RETURNING returns exactly those rows.
"""

from __future__ import annotations

from collections.abc import Sequence

from forge_sql import errors
from forge_sql.engine.constraints import Declarations
from forge_sql.engine.result import TableResult, TagResult
from forge_sql.engine.returning import ROW_ID, ROWS, Table, Writes, bind
from forge_sql.sql import dml as clauses
from forge_sql.sql.dml import Conflict, Dml
from forge_sql.sql.quoting import quote_ident
from forge_sql.sql.statements import Statement

CONFLICTS = "temp.main.__forge_dml_conflicts"  # (proposed row, table row) pairs
UPDATED = "temp.main.__forge_dml_updated"  # DO UPDATE: the new values of updated rows
FRESH = "temp.main.__forge_dml_fresh"  # the rows inserted


def arbiters(
    conflict: Conflict, table: Table, declarations: Declarations
) -> list[tuple[str, ...]]:
    """The key columns each arbiter compares (PostgreSQL's inference of the unique index
    the conflict target names); 42P10 when nothing declared matches."""
    keys = declarations.unique_keys(table.located)
    if conflict.constraint is not None:
        named = [cols for name, kind, cols in keys
                 if kind in ("p", "u") and name.lower() == conflict.constraint.lower()]
        if not named:
            raise errors.UndefinedObject(
                f'constraint "{conflict.constraint}" for table "{table.name}" does not exist'
            )
        return named
    if not conflict.columns:
        if conflict.update:
            raise errors.SyntaxError_(
                "ON CONFLICT DO UPDATE requires inference specification or constraint name",
                hint="For example, ON CONFLICT (column_name).",
            )
        return [cols for _, _, cols in keys]  # DO NOTHING: any key's conflict counts
    known = {c[0].lower(): c[0] for c in table.columns}
    for column in conflict.columns:
        if column.lower() not in known:
            raise errors.UndefinedColumn(f'column "{column}" does not exist')
    wanted = {c.lower() for c in conflict.columns}
    matched = [cols for _, _, cols in keys if {c.lower() for c in cols} == wanted]
    if not matched or conflict.index_predicate:
        raise errors.InvalidColumnReference(
            "there is no unique or exclusion constraint matching the ON CONFLICT specification"
        )
    return matched[:1]


def run(
    writes: Writes, declarations: Declarations, statement: Statement, dml: Dml, table: Table,
    values: Sequence[object],
) -> TableResult | TagResult:
    conflict = dml.conflict
    assert conflict is not None
    keys = arbiters(conflict, table, declarations)
    writes.staged = [ROWS, CONFLICTS, UPDATED, FRESH]
    writes.stage_inserted(dml, table, values, numbered=True)
    columns = table.column_list()
    execute = writes.count
    if keys:
        matches = " UNION ALL ".join(
            f"SELECT p.__forge_n, t.rowid AS {ROW_ID} FROM {ROWS} AS p JOIN {table.relation} "
            f"AS t ON {_equal(key, 'p', 't')}"
            for key in keys
        )
    else:
        matches = f"SELECT __forge_n, NULL::BIGINT AS {ROW_ID} FROM {ROWS} WHERE false"
    writes.count(f"CREATE OR REPLACE TEMP TABLE __forge_dml_conflicts AS {matches}")
    updated = 0
    if conflict.update:
        _refuse_second_touch(writes, keys[0])
        updated = _update(writes, dml, conflict, table, values)
        fresh = f"SELECT * FROM {ROWS} AS p WHERE p.__forge_n NOT IN " \
                f"(SELECT __forge_n FROM {CONFLICTS})"
    else:
        # A row proposed twice conflicts with the first one inserted: only that one is.
        earlier = " AND ".join(
            f"NOT EXISTS (SELECT 1 FROM {ROWS} AS q WHERE q.__forge_n < p.__forge_n AND "
            f"q.__forge_n NOT IN (SELECT __forge_n FROM {CONFLICTS}) AND {_equal(key, 'q', 'p')})"
            for key in keys
        ) or "true"
        fresh = (
            f"SELECT * FROM {ROWS} AS p WHERE p.__forge_n NOT IN "
            f"(SELECT __forge_n FROM {CONFLICTS}) AND {earlier}"
        )
    execute(f"CREATE OR REPLACE TEMP TABLE __forge_dml_fresh AS {fresh}")
    _refuse_duplicates(writes, table, [k for k in declarations.unique_keys(table.located)
                                       if k[2] not in keys])
    inserted = execute(
        f"INSERT INTO {table.relation} ({columns}) SELECT {columns} FROM "
        "temp.main.__forge_dml_fresh ORDER BY __forge_n"
    )
    source = f"SELECT {columns} FROM temp.main.__forge_dml_fresh"
    if conflict.update:
        source = (
            f"SELECT {columns} FROM (SELECT __forge_n, {columns} FROM temp.main.__forge_dml_fresh "
            f"UNION ALL SELECT __forge_n, {columns} FROM {UPDATED}) ORDER BY __forge_n"
        )
    return writes.answer(statement, dml, source, inserted + updated, values)


def _refuse_duplicates(
    writes: Writes, table: Table, others: list[tuple[str, str, tuple[str, ...]]]
) -> None:
    """The rows to insert break no other declared key (PostgreSQL checks every unique index,
    the arbiter's conflicts only being let through): 23505 as PostgreSQL words it."""
    fresh = FRESH
    for name, _, key in others:
        listed = ", ".join(f"f.{quote_ident(c)}" for c in key)
        found = writes.first(
            f"SELECT {listed} FROM {fresh} AS f JOIN {table.relation} AS t ON "
            f"{_equal(key, 'f', 't')} UNION ALL SELECT {listed} FROM {fresh} AS f JOIN "
            f"{fresh} AS g ON {_equal(key, 'f', 'g')} AND f.__forge_n > g.__forge_n LIMIT 1"
        )
        if found is not None:
            values = ", ".join("null" if v is None else str(v) for v in found)
            raise errors.UniqueViolation(
                f'duplicate key value violates unique constraint "{name}"',
                detail=f"Key ({', '.join(key)})=({values}) already exists.",
            )


def _refuse_second_touch(writes: Writes, key: tuple[str, ...]) -> None:
    """PostgreSQL's 21000 for a key that no row of the table has, proposed twice: the
    second proposal meets the row the first one inserted."""
    listed = ", ".join(quote_ident(c) for c in key)
    not_null = " AND ".join(f"{quote_ident(c)} IS NOT NULL" for c in key)
    if writes.count(
        f"SELECT count(*) FROM (SELECT {listed} FROM {ROWS} WHERE {not_null} AND "
        f"__forge_n NOT IN (SELECT __forge_n FROM {CONFLICTS}) "
        f"GROUP BY {listed} HAVING count(*) > 1)"
    ):
        raise _second_time()


def _refuse_updated_twice(writes: Writes) -> None:
    """PostgreSQL's 21000 for a table row that a proposal updates and a later one meets
    again (the proposals are taken in order; one whose WHERE is false leaves the row as
    it was, so a later one may still update it)."""
    if writes.count(
        f"SELECT count(*) FROM {UPDATED} AS u WHERE EXISTS (SELECT 1 FROM {CONFLICTS} AS c "
        f"WHERE c.{ROW_ID} = u.{ROW_ID} AND c.__forge_n > u.__forge_n)"
    ):
        raise _second_time()


def _second_time() -> errors.CardinalityViolation:
    return errors.CardinalityViolation(
        "ON CONFLICT DO UPDATE command cannot affect row a second time",
        hint="Ensure that no rows proposed for insertion within the same command have "
        "duplicate constrained values.",
    )


def _update(
    writes: Writes, dml: Dml, conflict: Conflict, table: Table, values: Sequence[object]
) -> int:
    """DO UPDATE SET ... [WHERE ...]: the conflicting rows' new values, computed over the
    table's row (by its name or alias) and the proposed row (``excluded``), then written."""
    name = dml.name
    known = {c[0].lower(): c for c in table.columns}
    assigned: dict[str, str] = {}
    for column, expression in clauses.assigned_columns(conflict.assignments):
        found = known.get(column.lower())
        if found is None:
            raise errors.UndefinedColumn(
                f'column "{column}" of relation "{table.name}" does not exist'
            )
        if expression.strip().upper() == "DEFAULT":
            expression = found[2] or "NULL"
        assigned[found[0]] = f"CAST(({expression}) AS {found[1]})"
    projection = ", ".join(
        f"{assigned.get(col, f'{name}.{quote_ident(col)}')} AS {quote_ident(col)}"
        for col, _, _ in table.columns
    )
    # The proposed row is one STRUCT column named excluded: excluded.c reads its field,
    # and a bare column name can only be the table's, as in PostgreSQL.
    fields = ", ".join(f"{quote_ident(c)} := p.{quote_ident(c)}" for c, _, _ in table.columns)
    where = f" WHERE {conflict.where}" if conflict.where else ""
    sql, chosen = bind(
        f"CREATE OR REPLACE TEMP TABLE __forge_dml_updated AS SELECT __forge_x.__forge_n, "
        f"{name}.rowid AS {ROW_ID}, {projection} FROM {table.relation} AS {name} JOIN "
        f"(SELECT c.__forge_n, c.{ROW_ID}, struct_pack({fields}) AS excluded FROM {CONFLICTS} "
        f"AS c JOIN {ROWS} AS p ON p.__forge_n = c.__forge_n) AS __forge_x "
        f"ON {name}.rowid = __forge_x.{ROW_ID}{where}",
        values,
    )
    writes.execute(sql, chosen)
    _refuse_updated_twice(writes)
    if not assigned:
        return writes.count(f"SELECT count(*) FROM {UPDATED}")
    sets = ", ".join(f"{quote_ident(c)} = u.{quote_ident(c)}" for c in assigned)
    return writes.count(
        f"UPDATE {table.relation} AS __forge_target SET {sets} FROM {UPDATED} AS u "
        f"WHERE __forge_target.rowid = u.{ROW_ID}"
    )


def _equal(key: tuple[str, ...], left: str, right: str) -> str:
    return " AND ".join(f"{left}.{quote_ident(c)} = {right}.{quote_ident(c)}" for c in key)
