"""What a table looks like: read from the live catalog, or as a YAML declaration says."""

from __future__ import annotations

from dataclasses import dataclass, field

from forge_sql.migrate.connection import Connection
from forge_sql.migrate.declaration import TableDecl

CONSTRAINTS = "forge_meta.constraints"


@dataclass(frozen=True, slots=True)
class ColumnState:
    name: str
    type: str
    nullable: bool = True
    default: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Constraint:
    """A row of forge_meta.constraints: kind 'p' primary key, 'u' unique, 'c' check."""

    name: str
    kind: str
    columns: tuple[str, ...]
    definition: str | None = None


@dataclass(slots=True)
class TableState:
    schema: str
    table: str
    columns: list[ColumnState]
    description: str | None = None
    # None: not known (the catalog is not asked; the previous declaration tells).
    partitioned_by: list[str] | None = None
    sorted_by: list[str] | None = None
    constraints: list[Constraint] = field(default_factory=list)

    def column(self, name: str) -> ColumnState | None:
        return next((c for c in self.columns if c.name == name), None)


def declared(decl: TableDecl) -> TableState:
    """The state a declaration asks for."""
    not_null = decl.not_null
    return TableState(
        decl.schema_,
        decl.table,
        [
            ColumnState(c.name, c.type, c.name not in not_null, c.default, c.description)
            for c in decl.columns
        ],
        decl.description,
        list(decl.partitioned_by),
        list(decl.sorted_by),
        constraints_of(decl),
    )


def constraints_of(decl: TableDecl) -> list[Constraint]:
    """Keys and checks named as PostgreSQL names them by default (t_pkey, t_a_b_key)."""
    found = []
    if decl.primary_key:
        found.append(Constraint(f"{decl.table}_pkey", "p", tuple(decl.primary_key)))
    for key in decl.unique:
        name = key.name or f"{decl.table}_{'_'.join(key.columns)}_key"
        found.append(Constraint(name, "u", tuple(key.columns)))
    for check in decl.checks:
        # Written as forge_sql.engine.constraints records a CHECK sent as DDL.
        found.append(Constraint(check.name, "c", (), f"CHECK ({check.expression})"))
    return found


def live(conn: Connection, schema: str, table: str) -> TableState | None:
    """The table as the catalog has it now (inside the caller's transaction), or None."""
    found = conn.execute(
        "SELECT comment FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = $1 AND table_name = $2",
        [schema, table],
    )
    if not found:
        return None
    rows = conn.execute(
        "SELECT column_name, data_type, is_nullable, column_default, comment "
        "FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = $1 AND table_name = $2 ORDER BY column_index",
        [schema, table],
    )
    columns = [
        ColumnState(str(name), str(kind), bool(nullable), _default(default), comment or None)
        for name, kind, nullable, default, comment in rows
    ]
    keys = conn.execute(
        f"SELECT name, kind, CAST(columns AS VARCHAR[]), definition FROM {CONSTRAINTS} "
        "WHERE schema_name = $1 AND table_name = $2 AND kind IN ('p', 'u', 'c') "
        "ORDER BY created_at, name",
        [schema, table],
    )
    constraints = [Constraint(str(n), str(k), tuple(c or ()), d) for n, k, c, d in keys]
    return TableState(schema, table, columns, found[0][0] or None, None, None, constraints)


def _default(text: str | None) -> str | None:
    # DuckLake reports "no default" as the text NULL.
    if text is None or text.strip().upper() == "NULL":
        return None
    return text
