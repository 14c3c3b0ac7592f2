"""CREATE / ALTER / DROP SEQUENCE and the sequences of serial and identity columns, for one
session: checked and applied to the lake's forge_meta.sequences (forge_sql.engine.sequences).

A sequence's row is written in a transaction of its own, since nextval reads it from any
session at once. So that a ROLLBACK still undoes what the transaction declared, sequences it
created are dropped again when it rolls back, and sequences it dropped (DROP SEQUENCE, or
the owned sequences of a dropped table or column) go only when it commits. ALTER SEQUENCE
takes effect at once and is not undone by a ROLLBACK (nor is setval in PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from forge_sql import errors
from forge_sql.engine import serial_columns
from forge_sql.engine.connection import Connection
from forge_sql.engine.result import TagResult
from forge_sql.engine.sequence_functions import name_parts, search_path
from forge_sql.engine.sequences import Definition, Key, Sequences, declare
from forge_sql.sql import sequence_ddl
from forge_sql.sql.statements import Statement
from forge_sql.storage import acl as acls

if TYPE_CHECKING:
    from forge_sql.storage.acl import Acl


class SequenceCommands:
    """One session's sequence DDL."""

    def __init__(
        self, connection: Connection, sequences: Sequences, lake: str,
        acl: Callable[[], Acl], trusted: bool,
    ) -> None:
        self._connection = connection
        self._sequences = sequences
        self._lake = lake
        self._acl = acl
        self._trusted = trusted
        self._altered: set[Key] = set()  # altered in the open transaction

    # -- CREATE / ALTER / DROP SEQUENCE ------------------------------------------------------
    def run(
        self, statement: Statement, path: str | None, user: str, superuser: bool,
        at_end: list[Callable[[bool], None]],
    ) -> TagResult:
        command = sequence_ddl.parse(statement)
        if command.temporary:
            raise errors.FeatureNotSupported("temporary sequences are not supported")
        tag = f"{command.verb} SEQUENCE"
        if command.verb == "CREATE":
            schema, name = self._new_name(command.names[0], path, user)
            if self._sequences.exists((schema, name)) or self._relation_exists(schema, name):
                if command.if_exists:
                    return TagResult(tag, [(
                        "00000", f'relation "{name}" already exists, skipping')])
                raise errors.DuplicateTable(f'relation "{name}" already exists')
            self._check_create(schema, user, superuser)
            definition = declare(schema, name, command.options)
            definition = self._owned_by(definition, command.options, schema)
            self.create(definition, user, at_end)
            return TagResult(tag)
        if command.verb == "DROP":
            keys = []
            notices = []
            for parts in command.names:
                key = self._existing(parts, path, user)
                if key is None:
                    if command.if_exists:
                        notices.append(("00000", f'sequence "{parts[-1]}" does not exist, '
                                        "skipping"))
                        continue
                    raise errors.UndefinedTable(f'sequence "{parts[-1]}" does not exist')
                self._check_owner(key, user, superuser)
                keys.append(key)
            for key in keys:
                at_end.append(self._drop_when(key, committed=True))
            return TagResult(tag, notices)
        key = self._existing(command.names[0], path, user)
        if key is None:
            if command.if_exists:
                return TagResult(tag, [(
                    "00000", f'relation "{command.names[0][-1]}" does not exist, skipping')])
            raise errors.UndefinedTable(f'relation "{command.names[0][-1]}" does not exist')
        self._check_owner(key, user, superuser)
        if command.rename_to is not None:
            if self._sequences.exists((key[0], command.rename_to)) or self._relation_exists(
                    key[0], command.rename_to):
                raise errors.DuplicateTable(f'relation "{command.rename_to}" already exists')
            self._sequences.rename(key, key[0], command.rename_to)
            at_end.append(self._undo_rename(key, (key[0], command.rename_to)))
            return TagResult(tag)
        current = self._sequences.find(key)
        assert current is not None
        options = dict(command.options)
        restart = options.pop("restart", False)
        definition = self._owned_by(declare(key[0], key[1], options, current), options, key[0])
        restart_at = None
        if restart is not False:
            restart_at = definition.start if restart is None else int(restart)  # type: ignore[call-overload]
            if not definition.minimum <= restart_at <= definition.maximum:
                which = "less than MINVALUE" if restart_at < definition.minimum else (
                    "greater than MAXVALUE")
                bound = definition.minimum if restart_at < definition.minimum else (
                    definition.maximum)
                raise errors.InvalidParameterValue(
                    f"RESTART value ({restart_at}) cannot be {which} ({bound})"
                )
        before = self._sequences.state(key) if restart_at is not None else None
        self._sequences.alter(definition, restart_at)
        if key not in self._altered:  # the first ALTER of the transaction knows the original
            self._altered.add(key)
            at_end.append(self._undo_alter(current, before))
        return TagResult(tag)

    def _undo_rename(self, old: Key, new: Key) -> Callable[[bool], None]:
        def end(committed: bool) -> None:
            if not committed and self._sequences.exists(new):
                self._sequences.rename(new, *old)

        return end

    def _undo_alter(self, previous: Definition, state: tuple[int, bool] | None
                    ) -> Callable[[bool], None]:
        """What puts a sequence back as it was before ALTER SEQUENCE if the transaction
        rolls back: PostgreSQL's ALTER SEQUENCE is transactional (a RESTART too)."""
        def end(committed: bool) -> None:
            self._altered.discard(previous.key)
            if committed or not self._sequences.exists(previous.key):
                return
            self._sequences.alter(previous)
            if state is not None:
                self._sequences.put_state(previous.key, *state)

        return end

    def create(self, definition: Definition, owner: str,
               at_end: list[Callable[[bool], None]]) -> None:
        """Create the sequence now; a ROLLBACK of the transaction drops it again."""
        self._sequences.create(definition, owner)
        at_end.append(self._drop_when(definition.key, committed=False))

    def _drop_when(self, key: Key, committed: bool) -> Callable[[bool], None]:
        """What drops ``key`` at the end of the transaction, if it ``committed`` or not."""
        def end(outcome: bool) -> None:
            if outcome == committed:
                self._sequences.drop(key)

        return end

    # -- serial and identity columns ----------------------------------------------------------
    def columns(
        self, statement: Statement, path: str | None, user: str,
        at_end: list[Callable[[bool], None]],
    ) -> serial_columns.Rewritten | None:
        """CREATE TABLE / ALTER TABLE ADD COLUMN with serial, identity or nextval columns:
        their sequences created, and the text DuckDB runs instead."""
        schemas = search_path(path, user)
        default_schema = next((s for s in schemas if self._schema_exists(s)), "public")

        def resolve(text: str) -> Key:
            key = self._existing(tuple(name_parts(text)), path, user)
            if key is None:
                raise errors.UndefinedTable(f'relation "{text}" does not exist')
            return key

        def taken(schema: str, name: str) -> bool:
            return self._sequences.exists((schema, name)) or self._relation_exists(schema, name)

        rewritten = serial_columns.rewrite(statement, default_schema, resolve, taken)
        if rewritten is None:
            return None
        for definition in rewritten.sequences:
            self.create(definition, user, at_end)
        return rewritten

    def follow_ddl(self, statement: Statement, path: str | None, user: str,
                   at_end: list[Callable[[bool], None]]) -> set[tuple[str, str | None]]:
        """Once a DROP or rename of tables commits, the sequences they own follow. The
        tables (schema, name) or schemas (schema, None) the statement drops."""
        dropped = self.dropped_by(statement, path, user)
        if dropped:
            at_end.append(lambda committed: self.sweep(dropped) if committed else None)
        follow = self.renamed_by(statement, path, user)
        if follow is not None:
            at_end.append(lambda committed: follow() if committed else None)
        return dropped

    def restart_identity(self, statement: Statement, path: str | None, user: str,
                         at_end: list[Callable[[bool], None]]) -> None:
        """TRUNCATE ... RESTART IDENTITY: once it commits, the sequences the tables own
        start again (PostgreSQL does it in the transaction)."""
        words = [t.upper for t in statement.tokens if t.kind != "comment"]
        if words[:1] != ["TRUNCATE"] or "RESTART" not in words:
            return
        tokens = [t for t in statement.tokens if t.kind != "comment"]
        at = 1
        for skip in ("TABLE", "ONLY"):
            if words[at:at + 1] == [skip]:
                at += 1
        default = _default_schema(path, user)
        tables: list[tuple[str, str]] = []
        while at < len(tokens) and words[at] not in ("RESTART", "CONTINUE", "CASCADE",
                                                     "RESTRICT"):
            parts, at = serial_columns.name_at(tokens, at)
            tables.append((parts[-2] if len(parts) > 1 else default, parts[-1]))
            if at < len(tokens) and tokens[at].text == ",":
                at += 1

        def restart(committed: bool) -> None:
            if not committed:
                return
            for schema, table in tables:
                for definition in self._sequences.owned_by(schema, table):
                    self._sequences.alter(definition, definition.start)

        at_end.append(restart)

    def sweep(self, dropped: set[tuple[str, str | None]]) -> None:
        """After a commit that dropped tables, columns or schemas (``dropped``: (schema,
        table), table None for a whole schema): the sequences they owned go with them, as
        PostgreSQL's dependencies take them."""
        columns = {
            (str(s), str(t), str(c))
            for s, t, c in self._sequences.run_query(
                "SELECT schema_name, table_name, column_name FROM duckdb_columns() "
                "WHERE database_name = ?", [self._lake],
            )
        }
        for definition in self._sequences.all():
            if definition.owned_table is None:
                continue
            if (definition.schema, definition.owned_table) not in dropped and (
                    (definition.schema, None) not in dropped):
                continue
            owner = (definition.schema, definition.owned_table, definition.owned_column or "")
            if owner not in columns:
                self._sequences.drop(definition.key)

    def dropped_by(self, statement: Statement, path: str | None, user: str
                   ) -> set[tuple[str, str | None]]:
        """The tables (or schemas) whose owned sequences ``statement`` may take with it:
        DROP TABLE, DROP SCHEMA, ALTER TABLE ... DROP COLUMN."""
        words = [t.upper for t in statement.tokens if t.kind != "comment"]
        tokens = [t for t in statement.tokens if t.kind != "comment"]
        if words[:2] not in (["DROP", "TABLE"], ["DROP", "SCHEMA"], ["ALTER", "TABLE"]):
            return set()
        if words[0] == "ALTER" and "DROP" not in words:
            return set()
        default = _default_schema(path, user)
        at = 2
        if words[at:at + 2] == ["IF", "EXISTS"]:
            at += 2
        found: set[tuple[str, str | None]] = set()
        while at < len(tokens):
            parts = [tokens[at].text]
            at += 1
            while at + 1 < len(tokens) and tokens[at].text == ".":
                parts.append(tokens[at + 1].text)
                at += 2
            names = [p[1:-1].replace('""', '"') if p.startswith('"') else p.lower()
                     for p in parts]
            if words[1] == "SCHEMA":
                found.add((names[-1], None))
            else:
                found.add((names[-2] if len(names) > 1 else default, names[-1]))
            if words[0] == "ALTER" or at >= len(tokens) or tokens[at].text != ",":
                break
            at += 1
        return found

    def check_identity(self, statement: Statement, path: str | None, user: str) -> None:
        """INSERT / UPDATE giving a GENERATED ALWAYS identity column a value: 428C9."""
        if not self._sequences.has_always():
            return
        if statement.kind == "INSERT":
            target = serial_columns.insert_target(statement)
            if target is None:
                return
            parts = target[0]
        else:
            tokens = [t for t in statement.tokens if t.kind != "comment"]
            at = 2 if len(tokens) > 2 and tokens[1].upper == "ONLY" else 1
            parts = tuple(
                t.text[1:-1] if t.text.startswith('"') else t.text.lower()
                for t in tokens[at:at + 5:2] if t.kind in ("identifier", "keyword")
            )[:1]
            if at + 2 < len(tokens) and tokens[at + 1].text == ".":
                parts = (tokens[at].text.lower(), tokens[at + 2].text.lower())
        schemas = [parts[-2]] if len(parts) > 1 else search_path(path, user)
        for schema in schemas:
            always = self._sequences.always(schema, parts[-1])
            if always:
                serial_columns.refuse_explicit(statement, always)
                return

    def renamed_by(self, statement: Statement, path: str | None, user: str
                   ) -> Callable[[], None] | None:
        """ALTER TABLE t RENAME TO u / RENAME [COLUMN] a TO b: what makes the sequences the
        table owns follow it (run once the rename committed)."""
        tokens = [t for t in statement.tokens if t.kind != "comment"]
        words = [t.upper for t in tokens]
        if words[:2] != ["ALTER", "TABLE"] or "RENAME" not in words:
            return None
        at = 2
        if words[at:at + 2] == ["IF", "EXISTS"]:
            at += 2
        if words[at] == "ONLY":
            at += 1
        parts, at = serial_columns.name_at(tokens, at)
        schema = parts[-2] if len(parts) > 1 else _default_schema(path, user)
        table = parts[-1]
        rest = words[at:]
        names = [serial_columns.column_name(t) for t in tokens[at:]]
        if rest[:2] == ["RENAME", "TO"] and len(names) == 3:
            new = names[2]
            return lambda: self._sequences.follow_table(schema, table, new)
        if rest[:1] == ["RENAME"] and "TO" in rest:
            to = rest.index("TO")
            old, new = names[to - 1], names[to + 1] if to + 1 < len(names) else ""
            return lambda: self._sequences.follow_column(schema, table, old, new)
        return None

    # -- names and privileges ----------------------------------------------------------------
    def _new_name(self, parts: tuple[str, ...], path: str | None, user: str) -> Key:
        if len(parts) > 1:
            if not self._schema_exists(parts[-2]):
                raise errors.UndefinedSchema(f'schema "{parts[-2]}" does not exist')
            return (parts[-2], parts[-1])
        schemas = search_path(path, user)
        schema = next((s for s in schemas if self._schema_exists(s)), None)
        if schema is None:
            raise errors.UndefinedSchema("no schema has been selected to create in")
        return (schema, parts[-1])

    def _existing(self, parts: tuple[str, ...], path: str | None, user: str) -> Key | None:
        if len(parts) > 1:
            key = (parts[-2], parts[-1])
            return key if self._sequences.exists(key) else None
        for schema in search_path(path, user):
            if self._sequences.exists((schema, parts[-1])):
                return (schema, parts[-1])
        return None

    def _owned_by(self, definition: Definition, options: dict[str, object],
                  schema: str) -> Definition:
        if "owned_by" not in options:
            return definition
        owner = options["owned_by"]
        if owner is None:
            return replace(definition, owned_table=None, owned_column=None)
        assert isinstance(owner, tuple)
        table_schema = owner[-3] if len(owner) > 2 else schema
        if table_schema != schema:
            raise errors.FeatureNotSupported(
                "sequence must be in same schema as table it is linked to"
            )
        table, column = owner[-2], owner[-1]
        found = self._sequences.run_query(
            "SELECT 1 FROM duckdb_columns() WHERE database_name = ? AND schema_name = ? "
            "AND table_name = ? AND column_name = ?", [self._lake, schema, table, column],
        )
        if not found:
            if not self._relation_exists(schema, table):
                raise errors.UndefinedTable(f'relation "{table}" does not exist')
            raise errors.UndefinedColumn(
                f'column "{column}" of relation "{table}" does not exist'
            )
        return replace(definition, owned_table=table, owned_column=column)

    def _check_create(self, schema: str, user: str, superuser: bool) -> None:
        if superuser or self._trusted:
            return
        acl = self._acl()
        if not acl.has(user, (acls.SCHEMA, schema, None), "C"):
            raise errors.InsufficientPrivilege(f"permission denied for schema {schema}")

    def _check_owner(self, key: Key, user: str, superuser: bool) -> None:
        if superuser or self._trusted:
            return
        if self._sequences.owner(key) == user or self._acl().is_superuser(user):
            return
        raise errors.InsufficientPrivilege(f"must be owner of sequence {key[1]}")

    def _relation_exists(self, schema: str, name: str) -> bool:
        return bool(self._sequences.run_query(
            # Tables and views alike (duckdb_tables() asks for every table's statistics).
            "SELECT 1 FROM duckdb_columns() WHERE database_name = $1 AND schema_name = $2 "
            "AND table_name = $3 LIMIT 1",
            [self._lake, schema, name],
        ))

    def _schema_exists(self, schema: str) -> bool:
        return bool(self._sequences.run_query(
            "SELECT 1 FROM duckdb_schemas() WHERE database_name = ? AND schema_name = ?",
            [self._lake, schema],
        ))


def _default_schema(path: str | None, user: str) -> str:
    """Where an unqualified table name of DDL is: the first schema of the session's
    resolved search path (engine.search_path.SearchPath.normalized: existing ones only)."""
    schema = next(iter(search_path(path, user)), None)
    if schema is None:
        raise errors.UndefinedSchema("no schema has been selected to create in")
    return schema
