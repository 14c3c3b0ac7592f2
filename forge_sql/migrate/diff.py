"""From the table as it is to the table as declared: the statements, their undo, their risk.

Column add, drop, rename and type promotions are DuckLake catalog changes: no Parquet data
file is rewritten. Type changes DuckLake cannot make in place rewrite the column.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum

from forge_sql.migrate.declaration import TableDecl
from forge_sql.migrate.errors import MigrationError
from forge_sql.migrate.expressions import canonical
from forge_sql.migrate.promotion import Promotion, classify
from forge_sql.migrate.tables import (
    CONSTRAINTS,
    ColumnState,
    Constraint,
    TableState,
    declared,
)
from forge_sql.sql.quoting import literal, quote_ident


class Risk(Enum):
    SAFE = "safe"
    DATA = "data-dependent"  # may fail, or be violated, depending on the rows stored
    DESTRUCTIVE = "destructive"  # drops data or may change stored values


@dataclass(frozen=True, slots=True)
class Change:
    summary: str
    sql: tuple[str, ...]
    undo: tuple[str, ...]  # statements that reverse it, run in reverse order of changes
    risk: Risk = Risk.SAFE
    undo_risk: Risk = Risk.SAFE


@dataclass(slots=True)
class TableDiff:
    table: str
    changes: list[Change] = field(default_factory=list)

    def add(self, summary: str, sql: list[str], undo: list[str], risk: Risk = Risk.SAFE,
            undo_risk: Risk = Risk.SAFE) -> None:
        self.changes.append(Change(summary, tuple(sql), tuple(undo), risk, undo_risk))


def diff(before: TableState | None, decl: TableDecl) -> TableDiff:
    """Changes that turn ``before`` (None: the table does not exist) into ``decl``."""
    target = f"{decl.schema_}.{decl.table}"
    result = TableDiff(target)
    name = f"{quote_ident(decl.schema_)}.{quote_ident(decl.table)}"
    if decl.drop:
        if before is not None:
            result.add(f"drop table {target}", [f"DROP TABLE {name}", _forget_keys(before)],
                       _create(before) + _record_keys(before, before.constraints),
                       Risk.DESTRUCTIVE)
        return result
    after = declared(decl)
    if before is None:
        result.add(f"create table {target}", _create(after),
                   [f"DROP TABLE {name}"], Risk.SAFE, Risk.DESTRUCTIVE)
        _comments(result, name, None, after)
        _layout(result, name, None, after)
        _constraints(result, None, after)
        return result
    live = _columns(result, name, before, decl)
    _comments(result, name, replace(before, columns=list(live.values())), after)
    _layout(result, name, before, after)
    renames = {c.renamed_from: c.name for c in decl.columns
               if c.renamed_from and c.name in live}
    # The engine forgets keys on a dropped column (a rewrite drops one too): record again.
    dropped = any(" DROP COLUMN " in sql for c in result.changes for sql in c.sql)
    _constraints(result, before, after, renames, force=dropped)
    return result


def _create(state: TableState) -> list[str]:
    columns = ", ".join(_column_sql(c) for c in state.columns)
    return [
        f"CREATE SCHEMA IF NOT EXISTS {quote_ident(state.schema)}",
        f"CREATE TABLE {quote_ident(state.schema)}.{quote_ident(state.table)} ({columns})",
    ]


def _column_sql(column: ColumnState) -> str:
    text = f"{quote_ident(column.name)} {column.type}"
    if column.default is not None:
        text += f" DEFAULT {_expression(column.default)}"
    if not column.nullable:
        text += " NOT NULL"
    return text


def _columns(
    result: TableDiff, name: str, before: TableState, decl: TableDecl
) -> dict[str, ColumnState]:
    """Column changes; returns the live columns by name, as named after renames."""
    live = {c.name: c for c in before.columns}
    declared_names = {c.name for c in decl.columns}
    not_null = decl.not_null
    where = result.table
    wanted = {
        c.name: ColumnState(c.name, c.type, c.name not in not_null, c.default, c.description)
        for c in decl.columns
    }
    renames = {
        c.renamed_from: c.name for c in decl.columns
        if c.name not in live and c.renamed_from in live and c.renamed_from not in declared_names
    }
    _nullability(result, name, [
        (current, wanted[renames.get(current.name, current.name)]) for current in before.columns
        if renames.get(current.name, current.name) in wanted
    ])
    for old, new in renames.items():
        result.add(
            f"rename column {where}.{old} to {new}",
            [f"ALTER TABLE {name} RENAME COLUMN {quote_ident(old)} TO {quote_ident(new)}"],
            [f"ALTER TABLE {name} RENAME COLUMN {quote_ident(new)} TO {quote_ident(old)}"],
        )
        live[new] = replace(live.pop(old), name=new)
    for gone in [c for c in before.columns if c.name not in declared_names and c.name in live]:
        result.add(
            f"drop column {where}.{gone.name}",
            [f"ALTER TABLE {name} DROP COLUMN {quote_ident(gone.name)}"],
            _add_column(name, gone),
            Risk.DESTRUCTIVE,
        )
    for column in wanted.values():
        current = live.get(column.name)
        if current is None:
            if not column.nullable:
                raise _one_step_not_null(f"{where}.{column.name}", "a new column")
            result.add(
                f"add column {where}.{column.name} {column.type}",
                _add_column(name, column),
                [f"ALTER TABLE {name} DROP COLUMN {quote_ident(column.name)}"],
                Risk.SAFE,
                Risk.DESTRUCTIVE,
            )
            continue
        _retype(result, name, current, column)
        if column.type.upper().endswith("SERIAL"):
            continue  # its default is the sequence's nextval, made with the column
        if _norm_default(current.default) != _norm_default(column.default):
            result.add(
                f"default of {where}.{column.name}: {column.default or 'none'}",
                [_set_default(name, column.name, column.default)],
                [_set_default(name, column.name, current.default)],
            )
    return live


def _one_step_not_null(column: str, what: str) -> MigrationError:
    # Checked on DuckDB 1.5.5: DuckLake refuses ADD COLUMN ... NOT NULL, and accepts
    # SET NOT NULL only as the first change to a table in a transaction, once.
    return MigrationError(
        f"{column}: DuckLake cannot make {what} NOT NULL in the same migration; declare it "
        "nullable: true here and nullable: false in a later migration (one column per "
        "table and migration)"
    )


def _add_column(name: str, column: ColumnState) -> list[str]:
    # Without NOT NULL: DuckLake adds columns without constraints only.
    sql = f"ALTER TABLE {name} ADD COLUMN {quote_ident(column.name)} {column.type}"
    if column.default is not None:
        sql += f" DEFAULT {_expression(column.default)}"
    return [sql]


def _retype(result: TableDiff, name: str, current: ColumnState, wanted: ColumnState) -> None:
    forward = classify(current.type, wanted.type)
    if forward is Promotion.SAME:
        return
    back = classify(wanted.type, current.type)
    where = f"{result.table}.{wanted.name}"
    if forward is Promotion.REWRITE and not wanted.nullable:
        raise _one_step_not_null(where, f"a column rewritten as {wanted.type}")
    result.add(
        f"type of {where}: {current.type} -> {wanted.type} ({forward.value})",
        _set_type(name, current, wanted.type, forward),
        _set_type(name, wanted, current.type, back),
        Risk.SAFE if forward is Promotion.WIDENING else Risk.DESTRUCTIVE,
        Risk.SAFE if back is Promotion.WIDENING else Risk.DESTRUCTIVE,
    )


def _set_type(name: str, column: ColumnState, new_type: str, how: Promotion) -> list[str]:
    col = quote_ident(column.name)
    if how is not Promotion.REWRITE:
        return [f"ALTER TABLE {name} ALTER COLUMN {col} SET DATA TYPE {new_type}"]
    # DuckLake changes types in place only by promotion: write the values into a new
    # column (a cast that fails aborts the migration) and put it in the old one's place.
    temp = quote_ident(f"__forge_retype_{column.name}")
    statements = [
        f"ALTER TABLE {name} ADD COLUMN {temp} {new_type}",
        f"UPDATE {name} SET {temp} = CAST({col} AS {new_type})",
        f"ALTER TABLE {name} DROP COLUMN {col}",
        f"ALTER TABLE {name} RENAME COLUMN {temp} TO {col}",
    ]
    if column.default is not None:
        statements.append(_set_default(name, column.name, column.default))
    # The new column stays nullable: DuckLake cannot SET NOT NULL after other changes.
    return statements


def _nullability(result: TableDiff, name: str,
                 pairs: list[tuple[ColumnState, ColumnState]]) -> None:
    """NULL/NOT NULL changes of existing columns, first: DuckLake runs SET NOT NULL only as
    a table's first change in a transaction (forward under the live name, undo under the
    declared one)."""
    setting = [(current, wanted) for current, wanted in pairs
               if current.nullable and not wanted.nullable]
    if len(setting) > 1:
        raise _one_step_not_null(
            ", ".join(f"{result.table}.{w.name}" for _, w in setting), "more than one column"
        )
    for current, wanted in pairs:
        if current.nullable == wanted.nullable:
            continue
        old, new = quote_ident(current.name), quote_ident(wanted.name)
        if wanted.nullable:
            result.add(f"{result.table}.{wanted.name} nullable",
                       [f"ALTER TABLE {name} ALTER COLUMN {old} DROP NOT NULL"],
                       [f"ALTER TABLE {name} ALTER COLUMN {new} SET NOT NULL"],
                       Risk.SAFE, Risk.DATA)
        else:
            result.add(f"{result.table}.{wanted.name} NOT NULL",
                       [f"ALTER TABLE {name} ALTER COLUMN {old} SET NOT NULL"],
                       [f"ALTER TABLE {name} ALTER COLUMN {new} DROP NOT NULL"], Risk.DATA)
    result.changes.sort(key=lambda c: not c.sql[0].endswith("SET NOT NULL"))


def _set_default(name: str, column: str, default: str | None) -> str:
    if default is None:
        return f"ALTER TABLE {name} ALTER COLUMN {quote_ident(column)} DROP DEFAULT"
    return (f"ALTER TABLE {name} ALTER COLUMN {quote_ident(column)} SET DEFAULT "
            f"{_expression(default)}")


def _expression(text: str) -> str:
    """A default in parentheses: declarations.py checked that it is one expression, and
    parenthesised it stays one where the grammar takes less (``DEFAULT 1 NOT NULL``)."""
    return f"({text})"


def _norm_default(text: str | None) -> str | None:
    # The catalog reports a default as DuckDB writes it back ("1+2" as "(1 + 2)"), and
    # literals quoted ('7' for 7): compare both forms so, without the quotes.
    if text is None:
        return None
    return (canonical(text) or text).strip().strip("'").lower()


def _comments(result: TableDiff, name: str, before: TableState | None,
              after: TableState) -> None:
    old_table = before.description if before else None
    if (after.description or None) != old_table:
        result.add(
            f"description of {result.table}",
            [f"COMMENT ON TABLE {name} IS {literal(after.description)}"],
            [f"COMMENT ON TABLE {name} IS {literal(old_table)}"] if before else [],
        )
    for column in after.columns:
        old = before.column(column.name) if before else None
        old_text = old.description if old else None
        if (column.description or None) != old_text:
            target = f"{name}.{quote_ident(column.name)}"
            result.add(
                f"description of {result.table}.{column.name}",
                [f"COMMENT ON COLUMN {target} IS {literal(column.description)}"],
                [f"COMMENT ON COLUMN {target} IS {literal(old_text)}"] if old else [],
            )


def _layout(result: TableDiff, name: str, before: TableState | None,
            after: TableState) -> None:
    """Partitioning and sort keys: they apply to data written from now on (no rewrite)."""
    for what, clause, old, new in (
        ("partitioning", "PARTITIONED BY", before.partitioned_by if before else [],
         after.partitioned_by or []),
        ("sort keys", "SORTED BY", before.sorted_by if before else [], after.sorted_by or []),
    ):
        if old is not None and list(old) == list(new):
            continue
        if old is None and not new:
            continue  # unknown before and nothing declared: leave it as it is
        result.add(
            f"{what} of {result.table}: {', '.join(new) or 'none'}",
            [_layout_sql(name, clause, new)],
            [_layout_sql(name, clause, old or [])] if before is not None else [],
        )


def _layout_sql(name: str, clause: str, keys: list[str]) -> str:
    if not keys:
        return f"ALTER TABLE {name} RESET {clause}"
    return f"ALTER TABLE {name} SET {clause} ({', '.join(keys)})"


def _constraints(result: TableDiff, before: TableState | None, after: TableState,
                 renames: dict[str, str] | None = None, force: bool = False) -> None:
    old = before.constraints if before else []
    if sorted(old, key=repr) == sorted(after.constraints, key=repr) and not (
        force and after.constraints
    ):
        return
    # A key whose columns were only renamed is the same key: no new risk.
    known = {(c.kind, tuple((renames or {}).get(col, col) for col in c.columns), c.definition)
             for c in old}
    added = [c for c in after.constraints if (c.kind, c.columns, c.definition) not in known]
    forget = [_forget_keys(after)] if before is not None else []
    result.add(
        f"keys and checks of {result.table}: "
        + (", ".join(c.name for c in after.constraints) or "none"),
        [*forget, *_record_keys(after, after.constraints)],
        [_forget_keys(after), *_record_keys(after, old)],
        # Recorded, not enforced: `validate` reports rows of an existing table that
        # violate a new key or check.
        Risk.DATA if added and before is not None else Risk.SAFE,
    )


def _forget_keys(state: TableState) -> str:
    return (
        f"DELETE FROM {CONSTRAINTS} WHERE schema_name = {literal(state.schema)} "
        f"AND table_name = {literal(state.table)} AND kind IN ('p', 'u', 'c')"
    )


def _record_keys(state: TableState, constraints: list[Constraint]) -> list[str]:
    if not constraints:
        return []
    rows = ", ".join(
        f"({literal(state.schema)}, {literal(state.table)}, {literal(c.name)}, "
        f"{literal(c.kind)}, [{', '.join(literal(col) for col in c.columns)}]::VARCHAR[], "
        f"{literal(c.definition)})"
        for c in constraints
    )
    return [
        f"INSERT INTO {CONSTRAINTS} (schema_name, table_name, name, kind, columns, "
        f"definition) VALUES {rows}"
    ]
