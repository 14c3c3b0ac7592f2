"""Declared keys, checks and indexes on lake tables: recorded in forge_meta.constraints.

DuckLake enforces NOT NULL only (DESIGN.md: do not pretend PRIMARY KEY/UNIQUE are
enforced). DDL that declares them runs without them, and what was declared is recorded
in the same transaction, so pg_constraint and pg_index can show it and `migrate validate`
can check it. A NOTICE says so each time. Key columns become NOT NULL, which DuckLake does
enforce. Adding a key or check to a table that has rows checks those rows first, as
PostgreSQL does.
"""

from __future__ import annotations

import duckdb

from forge_sql import errors
from forge_sql.engine import constraint_ddl as ddl
from forge_sql.engine import search_path
from forge_sql.engine.connection import Connection
from forge_sql.engine.result import TagResult
from forge_sql.sql import object_lists
from forge_sql.sql.quoting import quote_ident
from forge_sql.sql.statements import Statement
from forge_sql.storage import meta

_KIND_WORDS = {"p": "primary key", "u": "unique", "c": "check", "f": "foreign key"}
_SUFFIX = {"p": "pkey", "u": "key", "c": "check", "f": "fkey", "i": "idx"}
_NOT_ENFORCED = (
    "00000",
    "{what} recorded but not enforced: forge-sql tables enforce NOT NULL only",
)


class Declarations:
    """Runs the DDL that declares or drops keys, checks and indexes, on one session's cursor."""

    def __init__(self, connection: Connection, lake: str) -> None:
        self._connection = connection
        self._lake = lake
        self._table = f"{quote_ident(lake)}.{meta.SCHEMA}.constraints"

    def execute(self, statement: Statement) -> TagResult | None:
        """The statement's result if it concerns declared constraints, else None (DuckDB
        runs it as it is)."""
        words = statement.words
        if statement.kind == "CREATE" and ddl.declares_keys(statement):
            if "INDEX" in words[1:3]:
                index = ddl.parse_create_index(statement)
                return self._create_index(statement, index) if index else None
            table = ddl.parse_create_table(statement)
            return self._create_table(statement, table) if table else None
        if statement.kind == "ALTER" and words[:2] == ["ALTER", "TABLE"]:
            alter = ddl.parse_alter_table(statement)
            return self._alter_table(statement, alter) if alter else None
        if statement.kind == "DROP" and words[:2] == ["DROP", "INDEX"]:
            return self._drop_index(statement)
        if statement.kind == "DROP" and words[1:2] in (["TABLE"], ["SCHEMA"]):
            several = object_lists.parse(statement.sql, statement.tokens)
            self._connection.execute(statement.sql if several is None else several.duckdb_sql())
            self._forget_missing_tables()
            return TagResult(statement.tag(0))
        return None

    # -- CREATE TABLE / CREATE INDEX -----------------------------------------------------
    def _create_table(self, statement: Statement, create: ddl.CreateTable) -> TagResult | None:
        schema = self._schema_of(create.table)
        if schema is None:
            return None  # another database: DuckDB's own constraint handling applies
        existing = self._locate(schema, create.table[-1])
        if existing is not None and create.if_not_exists:
            return TagResult(
                statement.tag(0),
                [("00000", f'relation "{create.table[-1]}" already exists, skipping')],
            )
        self._connection.execute(create.sql)
        located = self._locate(schema, create.table[-1])
        assert located is not None
        if create.or_replace:
            self._delete("schema_name = ? AND table_name = ?", located)
        self._record(located, create.declared)
        return TagResult(statement.tag(0), [self._notice(located[1], create.declared)])

    def _create_index(self, statement: Statement, create: ddl.CreateIndex) -> TagResult | None:
        schema = self._schema_of(create.table)
        located = self._locate(schema, create.table[-1]) if schema else None
        if located is None:
            return None  # not a lake table: DuckDB answers (and may index a TEMP table)
        if create.index.name is not None and self._names(located[0], ("p", "u", "i")).get(
            create.index.name.lower()
        ):
            if create.if_not_exists:
                return TagResult(
                    statement.tag(0),
                    [("00000", f'relation "{create.index.name}" already exists, skipping')],
                )
            raise errors.DuplicateTable(f'relation "{create.index.name}" already exists')
        self._record(located, (create.index,))
        return TagResult(statement.tag(0), [self._notice(located[1], (create.index,))])

    # -- ALTER TABLE ---------------------------------------------------------------------
    def _alter_table(self, statement: Statement, alter: ddl.AlterTable) -> TagResult | None:
        schema = self._schema_of(alter.table)
        located = self._locate(schema, alter.table[-1]) if schema else None
        if located is None:
            if alter.if_exists and (alter.add or alter.drop):
                return TagResult(
                    statement.tag(0),
                    [("00000", f'relation "{alter.table[-1]}" does not exist, skipping')],
                )
            return None
        if alter.rename_table is not None or alter.rename_column is not None:
            self._connection.execute(statement.sql)
            self._follow_rename(located, alter)
            return TagResult(statement.tag(0))
        if alter.rename_constraint is not None:
            old, new = alter.rename_constraint
            self._rename_constraint(located, old, new)
            return TagResult(statement.tag(0))
        if not alter.add and not alter.drop:
            # Another action (DROP COLUMN among them): keys on a dropped column go with it.
            self._connection.execute(statement.sql)
            self._forget_missing_columns(located)
            return TagResult(statement.tag(0))
        for name in alter.drop:
            self._drop_constraint(located, name, alter.drop_if_exists)
        added = self._resolve(located, alter.add)
        for item in added:
            self._check_rows(located, item)
        self._insert(located, added)
        notices = [self._notice(located[1], alter.add)] if alter.add else []
        return TagResult(statement.tag(0), notices)

    def _follow_rename(self, located: tuple[str, str], alter: ddl.AlterTable) -> None:
        schema, table = located
        if alter.rename_table is not None:
            # Most tables declare nothing: no lookup and no write to the lake for them.
            if not self._rows(located):
                return
            renamed = self._locate(schema, alter.rename_table)
            if renamed is not None:
                self._update("table_name = ?", (renamed[1],), located)
            return
        assert alter.rename_column is not None
        old, new = alter.rename_column
        columns = self._columns(located)
        new_name = columns.get(new.lower(), new)
        rows = self._rows(located)
        for name, kind, cols in rows:
            if any(c.lower() == old.lower() for c in cols):
                renamed_cols = [new_name if c.lower() == old.lower() else c for c in cols]
                self._connection.execute(
                    f"UPDATE {self._table} SET columns = ? WHERE schema_name = ? "
                    "AND table_name = ? AND name = ? AND kind = ?",
                    [renamed_cols, schema, table, name, kind],
                )

    def _rename_constraint(self, located: tuple[str, str], old: str, new: str) -> None:
        names = {name.lower(): name for name, _, _ in self._rows(located)}
        if old.lower() not in names:
            raise errors.UndefinedObject(
                f'constraint "{old}" for table "{located[1]}" does not exist'
            )
        if new.lower() in self._names(located[0], ("p", "u", "c", "f", "i")):
            raise errors.DuplicateTable(f'relation "{new}" already exists')
        self._connection.execute(
            f"UPDATE {self._table} SET name = ? WHERE schema_name = ? AND table_name = ? "
            "AND name = ?",
            [new, located[0], located[1], names[old.lower()]],
        )

    def _drop_constraint(self, located: tuple[str, str], name: str, if_exists: bool) -> None:
        names = {n.lower(): n for n, kind, _ in self._rows(located) if kind != "i"}
        if name.lower() not in names:
            if if_exists:
                return
            raise errors.UndefinedObject(
                f'constraint "{name}" of relation "{located[1]}" does not exist'
            )
        self._delete(
            "schema_name = ? AND table_name = ? AND name = ?", (*located, names[name.lower()])
        )

    def _check_rows(self, located: tuple[str, str], item: ddl.Declared) -> None:
        """Refuse a key or check that the table's rows already break (PostgreSQL does)."""
        relation = f"{quote_ident(self._lake)}.{quote_ident(located[0])}.{quote_ident(located[1])}"
        if item.kind in ("p", "u"):
            names = list(item.columns)
            listed = ", ".join(quote_ident(c) for c in names)
            if item.kind == "p":
                for name in names:
                    nulls = self._scalar(
                        f"SELECT count(*) FROM {relation} WHERE {quote_ident(name)} IS NULL"
                    )
                    if nulls:
                        raise errors.NotNullViolation(
                            f'column "{name}" of relation "{located[1]}" contains null values'
                        )
                    self._set_not_null(located, relation, name)
            not_null = " AND ".join(f"{quote_ident(c)} IS NOT NULL" for c in names)
            duplicate = self._connection.execute(
                f"SELECT {listed} FROM {relation} WHERE {not_null} GROUP BY ALL "
                "HAVING count(*) > 1 LIMIT 1"
            ).fetchone()
            if duplicate is not None:
                values = ", ".join("NULL" if v is None else str(v) for v in duplicate)
                raise errors.UniqueViolation(
                    f'could not create unique index "{item.name}"',
                    detail=f"Key ({', '.join(names)})=({values}) is duplicated.",
                )
        elif item.kind == "f" and item.definition is not None:
            self._check_references(located, relation, item, item.definition)
        elif item.kind == "c" and item.definition is not None:
            expression = item.definition[len("CHECK ") :]
            broken = self._scalar(f"SELECT count(*) FROM {relation} WHERE NOT {expression}")
            if broken:
                raise errors.CheckViolation(
                    f'check constraint "{item.name}" of relation '
                    f'"{located[1]}" is violated by some row'
                )

    def _check_references(
        self, located: tuple[str, str], relation: str, item: ddl.Declared, definition: str
    ) -> None:
        """Every row whose key columns are all set must find its key in the referenced
        table (MATCH SIMPLE, PostgreSQL's default), or the foreign key is refused (23503)."""
        parts, referenced = ddl.references(definition)
        schema = self._schema_of(parts)
        target = self._locate(schema, parts[-1]) if schema else None
        if target is None:
            raise errors.UndefinedTable(f'relation "{parts[-1]}" does not exist')
        if not referenced:  # not filled in by _resolve: the table has no primary key
            raise errors.InvalidForeignKey(
                f'there is no primary key for referenced table "{target[1]}"'
            )
        if len(referenced) != len(item.columns):
            raise errors.InvalidForeignKey(
                "number of referencing and referenced columns for foreign key disagree"
            )
        other = f"{quote_ident(self._lake)}.{quote_ident(target[0])}.{quote_ident(target[1])}"
        pairs = list(zip(item.columns, referenced, strict=True))
        missing = self._connection.execute(
            f"SELECT {', '.join('c.' + quote_ident(c) for c, _ in pairs)} FROM {relation} AS c "
            f"WHERE {' AND '.join(f'c.{quote_ident(c)} IS NOT NULL' for c, _ in pairs)} "
            f"AND NOT EXISTS (SELECT 1 FROM {other} AS r WHERE "
            f"{' AND '.join(f'r.{quote_ident(r)} = c.{quote_ident(c)}' for c, r in pairs)}) "
            "LIMIT 1"
        ).fetchone()
        if missing is not None:
            values = ", ".join(str(v) for v in missing)
            raise errors.ForeignKeyViolation(
                f'insert or update on table "{located[1]}" violates foreign key constraint '
                f'"{item.name}"',
                detail=f"Key ({', '.join(item.columns)})=({values}) is not present in table "
                f'"{target[1]}".',
            )

    def _set_not_null(self, located: tuple[str, str], relation: str, column: str) -> None:
        """Key columns become NOT NULL, which DuckLake enforces; but checked on DuckDB 1.5.5,
        DuckLake cannot SET NOT NULL on a table without data files (no statistics), so an
        empty table keeps the key recorded only."""
        nullable = self._connection.execute(
            "SELECT is_nullable FROM duckdb_columns() WHERE database_name = ? "
            "AND schema_name = ? AND table_name = ? AND column_name = ?",
            [self._lake, *located, column],
        ).fetchone()
        if nullable is not None and not nullable[0]:
            return  # NOT NULL already (DuckDB refuses to set it again)
        try:
            self._connection.execute(
                f"ALTER TABLE {relation} ALTER COLUMN {quote_ident(column)} SET NOT NULL"
            )
        except duckdb.CatalogException:
            if self._scalar(f"SELECT count(*) FROM {relation}"):
                raise

    # -- DROP ----------------------------------------------------------------------------
    def _drop_index(self, statement: Statement) -> TagResult | None:
        parsed = ddl.parse_drop_index(statement)
        if parsed is None:
            return None
        names, if_exists = parsed
        found: list[tuple[str, str, str]] = []
        for parts in names:
            schema = self._schema_of(parts)
            rows = self._connection.execute(
                f"SELECT schema_name, table_name, name FROM {self._table} "
                "WHERE kind = 'i' AND lower(schema_name) = lower(?) AND lower(name) = lower(?)",
                [schema, parts[-1]],
            ).fetchall()
            if rows:
                found.append(rows[0])
            elif len(names) == 1:
                return None  # not a declared index: DuckDB answers (IF EXISTS, TEMP tables)
            elif not if_exists:
                raise errors.UndefinedObject(f'index "{parts[-1]}" does not exist')
        for row in found:
            self._delete("schema_name = ? AND table_name = ? AND name = ? AND kind = 'i'", row)
        return TagResult(statement.tag(0))

    def _forget_missing_tables(self) -> None:
        condition = (
            "NOT EXISTS (SELECT 1 FROM duckdb_tables() AS t WHERE t.database_name = ? "
            "AND t.schema_name = c.schema_name AND t.table_name = c.table_name)"
        )
        gone = self._scalar(
            f"SELECT count(*) FROM {self._table} AS c WHERE {condition}", [self._lake]
        )
        if gone:
            self._connection.execute(
                f"DELETE FROM {self._table} AS c WHERE {condition}", [self._lake]
            )

    def _forget_missing_columns(self, located: tuple[str, str]) -> None:
        columns = set(self._columns(located))
        for name, kind, cols in self._rows(located):
            if kind != "c" and any(c.lower() not in columns for c in cols):
                self._delete(
                    "schema_name = ? AND table_name = ? AND name = ? AND kind = ?",
                    (*located, name, kind),
                )

    # -- the record ----------------------------------------------------------------------
    def _record(self, located: tuple[str, str], declared: tuple[ddl.Declared, ...]) -> None:
        self._insert(located, self._resolve(located, declared))

    def _resolve(
        self, located: tuple[str, str], declared: tuple[ddl.Declared, ...]
    ) -> list[ddl.Declared]:
        """``declared`` with columns spelled as the table has them and every item named
        (PostgreSQL's default names); refuses unknown columns and taken names."""
        schema, table = located
        columns = self._columns(located)
        relation_names = self._names(schema, ("p", "u", "i"))
        existing = self._rows(located)
        table_names = {name.lower() for name, _, _ in existing}
        primary = [d for d in declared if d.kind == "p"]
        if len(primary) > 1 or (primary and any(kind == "p" for _, kind, _ in existing)):
            raise errors.InvalidTableDefinition(
                f'multiple primary keys for table "{table}" are not allowed'
            )
        resolved = []
        for item in declared:
            names = []
            for column in item.columns:
                if column.lower() in columns:
                    names.append(columns[column.lower()])
                elif item.kind == "i" and not _is_plain(column):
                    names.append(column)  # an expression index key
                elif item.kind != "c":  # a check's identifiers may name functions too
                    raise errors.UndefinedColumn(f'column "{column}" named in key does not exist')
            name = item.name or _default_name(
                table, item.kind, names, set(relation_names) | table_names
            )
            taken = relation_names if item.kind in ("p", "u", "i") else table_names
            if name.lower() in taken:
                if item.kind in ("p", "u", "i"):
                    raise errors.DuplicateTable(f'relation "{name}" already exists')
                raise errors.DuplicateObject(
                    f'constraint "{name}" for relation "{table}" already exists'
                )
            if item.kind in ("p", "u", "i"):
                relation_names[name.lower()] = name
            table_names.add(name.lower())
            definition = item.definition
            if item.kind == "f" and definition is not None:
                definition = ddl.spelled_references(definition, self._primary_key)
            resolved.append(ddl.Declared(item.kind, tuple(names), name, definition))
        return resolved

    def unique_keys(self, located: tuple[str, str]) -> list[tuple[str, str, tuple[str, ...]]]:
        """(name, kind, columns) of the table's primary key, unique constraints and unique
        indexes on plain columns: what ON CONFLICT may name as its arbiter."""
        rows = self._connection.execute(
            f"SELECT name, kind, columns FROM {self._table} WHERE lower(schema_name) = "
            "lower(?) AND lower(table_name) = lower(?) AND (kind IN ('p', 'u') OR (kind = 'i' AND "
            "starts_with(definition, 'UNIQUE '))) ORDER BY kind, name",
            list(located),
        ).fetchall()
        return [
            (name, kind, tuple(cols)) for name, kind, cols in rows
            if all(_is_plain(c) for c in cols)
        ]

    def _primary_key(self, parts: tuple[str, ...]) -> tuple[str, ...]:
        """The declared primary key columns of the table ``parts`` names, or ()."""
        schema = self._schema_of(parts)
        located = self._locate(schema, parts[-1]) if schema else None
        if located is None:
            return ()
        keys = [cols for _, kind, cols in self._rows(located) if kind == "p"]
        return tuple(keys[0]) if keys else ()

    def _insert(self, located: tuple[str, str], declared: list[ddl.Declared]) -> None:
        for item in declared:
            self._connection.execute(
                f"INSERT INTO {self._table} (schema_name, table_name, name, kind, columns, "
                "definition) VALUES (?, ?, ?, ?, ?, ?)",
                [*located, item.name, item.kind, list(item.columns), item.definition],
            )

    def _rows(self, located: tuple[str, str]) -> list[tuple[str, str, list[str]]]:
        return self._connection.execute(
            f"SELECT name, kind, columns FROM {self._table} "
            "WHERE schema_name = ? AND table_name = ?",
            list(located),
        ).fetchall()

    def _names(self, schema: str, kinds: tuple[str, ...]) -> dict[str, str]:
        """Lower-cased name -> name of the declared objects of ``kinds`` in ``schema``."""
        rows = self._connection.execute(
            f"SELECT name FROM {self._table} WHERE schema_name = ? AND list_contains(?, kind)",
            [schema, list(kinds)],
        ).fetchall()
        return {name.lower(): name for (name,) in rows}

    def _delete(self, where: str, values: tuple[str, ...]) -> None:
        self._connection.execute(f"DELETE FROM {self._table} WHERE {where}", list(values))

    def _update(self, assignment: str, values: tuple[str, ...], located: tuple[str, str]) -> None:
        self._connection.execute(
            f"UPDATE {self._table} SET {assignment} WHERE schema_name = ? AND table_name = ?",
            [*values, *located],
        )

    # -- names ---------------------------------------------------------------------------
    def _schema_of(self, parts: tuple[str, ...]) -> str | None:
        """The lake schema a (possibly qualified) table name refers to; None: not the lake."""
        if len(parts) >= 3:
            return parts[-2] if parts[-3].lower() == self._lake.lower() else None
        if len(parts) == 2:
            return parts[0]
        return search_path.schema_of(self._connection, parts[-1])

    def _locate(self, schema: str | None, table: str) -> tuple[str, str] | None:
        """(schema, table) as the lake spells them, or None if the table is not there."""
        # duckdb_columns(), not duckdb_tables(), which asks DuckLake for every table's
        # statistics; views have columns too, and are left out.
        row = self._connection.execute(
            "SELECT schema_name, table_name FROM duckdb_columns() AS c WHERE database_name = ? "
            "AND lower(schema_name) = lower(?) AND lower(table_name) = lower(?) "
            "AND NOT EXISTS (SELECT 1 FROM duckdb_views() AS v WHERE v.view_oid = c.table_oid) "
            "LIMIT 1",
            [self._lake, schema, table],
        ).fetchone()
        return (row[0], row[1]) if row else None

    def _columns(self, located: tuple[str, str]) -> dict[str, str]:
        rows = self._connection.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = ? "
            "AND schema_name = ? AND table_name = ? ORDER BY column_index",
            [self._lake, *located],
        ).fetchall()
        return {name.lower(): name for (name,) in rows}

    def _scalar(self, sql: str, params: list[object] | None = None) -> int:
        row = self._connection.execute(sql, params).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    @staticmethod
    def _notice(table: str, declared: tuple[ddl.Declared, ...]) -> tuple[str, str]:
        if declared and all(d.kind == "i" for d in declared):
            return (
                "00000",
                f'index on "{table}" recorded; forge-sql tables need no index '
                "(scans prune by file and row-group statistics)",
            )
        kinds = [
            word for kind, word in _KIND_WORDS.items() if any(d.kind == kind for d in declared)
        ]
        what = ", ".join(kinds[:-1]) + " and " + kinds[-1] if len(kinds) > 1 else kinds[0]
        plural = "s" if len(declared) > 1 else ""
        return (
            _NOT_ENFORCED[0],
            _NOT_ENFORCED[1].format(what=f'{what} constraint{plural} on "{table}"'),
        )


def _default_name(table: str, kind: str, columns: list[str], taken: set[str]) -> str:
    """PostgreSQL's choice: t_pkey, t_a_b_key, t_a_check, t_a_fkey, t_a_idx, then t_a_key1..."""
    if kind == "p":
        base = f"{table}_pkey"
    else:
        plain = [c for c in columns if _is_plain(c)] or ["expr"]
        middle = "_".join(plain[:1] if kind == "c" else plain)
        base = f"{table}_{middle}_{_SUFFIX[kind]}" if columns or kind != "c" else f"{table}_check"
    name, number = base, 0
    while name.lower() in taken:
        number += 1
        name = f"{base}{number}"
    return name


def _is_plain(column: str) -> bool:
    return all(ch.isalnum() or ch in "_ $" for ch in column)
