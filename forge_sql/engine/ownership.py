"""Who owns what: the creator of a table, view or schema is recorded as its owner (with the
default privileges that apply to it) in the transaction that creates it; DROP forgets the
owner and grants, ALTER ... RENAME carries them to the new name."""

from __future__ import annotations

from collections.abc import Sequence

from forge_sql.engine import relations as rel
from forge_sql.engine.connection import Connection
from forge_sql.engine.grants import Checker
from forge_sql.sql.quoting import quote_ident
from forge_sql.sql.statements import Statement
from forge_sql.storage import meta
from forge_sql.storage.acl import RELATION, SCHEMA, Acl, ObjectKey

_WHERE = "object_kind = ? AND schema_name = ? AND object_name IS NOT DISTINCT FROM ?"


class Ownership:
    """Keeps forge_meta.owners and privileges in step with one session's DDL."""

    def __init__(self, connection: Connection, lake: str, checker: Checker) -> None:
        self._connection = connection
        self._meta = f"{quote_ident(lake)}.{meta.SCHEMA}"
        self._checker = checker

    def after(
        self, statement: Statement, accesses: Sequence[rel.Access], acl: Acl, user: str
    ) -> None:
        """Record what the DDL statement, which just succeeded, created or dropped."""
        for access in accesses:
            if access.action == rel.CREATE and not access.temporary:
                key = self._created_key(acl, access.name)
                if key is not None and key not in acl.owners and key[1:] not in acl.relations:
                    self._created(key, acl, user)
            elif access.action == rel.CREATE_SCHEMA:
                key = (SCHEMA, access.name.name, None)
                if key not in acl.owners and access.name.name not in acl.schemas:
                    self._connection.execute(
                        f"INSERT INTO {self._meta}.owners VALUES (?, ?, ?, ?)", [*key, user]
                    )
            elif statement.kind == "DROP" and access.action == rel.OWN_SCHEMA:
                self._connection.execute(
                    f"DELETE FROM {self._meta}.owners WHERE schema_name = ?", [access.name.name]
                )
                self._connection.execute(
                    f"DELETE FROM {self._meta}.privileges WHERE schema_name = ?",
                    [access.name.name],
                )
            elif statement.kind == "DROP" and access.action == rel.OWN:
                found = self._checker.resolve(acl, access.name)
                if isinstance(found, tuple):
                    self._forget((RELATION, *found))
            elif statement.kind == "ALTER" and access.action == rel.OWN:
                renamed = _renamed_to(statement)
                found = self._checker.resolve(acl, access.name)
                if renamed is not None and isinstance(found, tuple):
                    for table in ("owners", "privileges"):
                        self._connection.execute(
                            f"UPDATE {self._meta}.{table} SET object_name = ? WHERE {_WHERE}",
                            [renamed, RELATION, *found],
                        )

    def _created_key(self, acl: Acl, name: rel.Name) -> ObjectKey | None:
        catalog, schema = name.catalog, name.schema or "public"
        if not catalog and name.schema and name.schema not in acl.schemas:
            catalog, schema = name.schema, "main"
        if catalog and catalog != self._checker.lake:
            return None
        return (RELATION, schema, name.name)

    def _created(self, key: ObjectKey, acl: Acl, user: str) -> None:
        self._forget(key)  # rows a dropped namesake left behind (dropped outside the server)
        self._connection.execute(
            f"INSERT INTO {self._meta}.owners VALUES (?, ?, ?, ?)", [*key, user]
        )
        for default in acl.defaults:
            if default.creator == user and default.schema in (None, key[1]):
                self._connection.execute(
                    f"INSERT INTO {self._meta}.privileges VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [*key, default.grantee, default.privilege, user, default.grantable],
                )

    def _forget(self, key: ObjectKey) -> None:
        for table in ("owners", "privileges"):
            self._connection.execute(f"DELETE FROM {self._meta}.{table} WHERE {_WHERE}", list(key))


def _renamed_to(statement: Statement) -> str | None:
    """The new name of ``ALTER TABLE|VIEW name RENAME TO new``."""
    words = [t.upper for t in statement.tokens]
    for index in range(len(words) - 2):
        if words[index] == "RENAME" and words[index + 1] == "TO":
            token = statement.tokens[index + 2]
            return token.text.strip('"').lower()
    return None
