"""has_table_privilege, has_schema_privilege and friends as one DuckDB Python function,
``forge_privilege``, answered from the server's grants (forge_sql.storage.acl); the
pg_catalog macros (forge_sql.catalog.privileges) pass it the calling session's token."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

import duckdb
from duckdb.func import FunctionNullHandling
from duckdb.sqltypes import BOOLEAN, VARCHAR

from forge_sql import errors
from forge_sql.engine import relations as rel
from forge_sql.engine.activity import Activity
from forge_sql.engine.grants import DEFAULT_PATH, Checker
from forge_sql.sql import quoting
from forge_sql.storage import acl as acls

if TYPE_CHECKING:
    from forge_sql.storage.acl import Acl

_NAMES = acls.TABLE_PRIVILEGES | acls.SCHEMA_PRIVILEGES | {"REFERENCES": "x", "TRIGGER": "t"}


class Authority(Protocol):
    """What the function needs of the database."""

    checker: Checker

    @property
    def trusted(self) -> bool: ...

    def acl(self) -> Acl: ...


def register(con: duckdb.DuckDBPyConnection, activity: Activity, database: Authority) -> None:
    def privilege(
        token: str | None, role: str | None, kind: str, target: str | None,
        wanted: str | None,
    ) -> bool | None:
        if not target or not wanted:
            return None  # also the stand-in values Describe binds parameters to
        caller = activity.find(token)
        try:
            path = caller.session.applied_search_path.order() if caller else DEFAULT_PATH
            return _decide(
                database, caller.user if caller else "", role, kind, target, wanted, path
            )
        except errors.ForgeError as exc:
            if caller is not None:
                caller.session.function_error = exc
            raise

    def enabled_roles(token: str | None) -> list[str] | None:
        caller = activity.find(token)
        if database.trusted or caller is None or caller.superuser:
            return None
        acl = database.acl()
        return sorted(r or "PUBLIC" for r in acl.effective(caller.user))

    con.create_function(
        "forge_enabled_roles",
        enabled_roles,
        [VARCHAR],
        duckdb.list_type(VARCHAR),
        null_handling=FunctionNullHandling.SPECIAL,
        side_effects=True,
    )
    con.create_function(
        "forge_privilege",
        privilege,
        [VARCHAR, VARCHAR, VARCHAR, VARCHAR, VARCHAR],
        BOOLEAN,
        null_handling=FunctionNullHandling.SPECIAL,
        side_effects=True,
    )


def _decide(
    database: Authority, user: str, role: str | None, kind: str, target: str, wanted: str,
    path: Sequence[str] = DEFAULT_PATH,
) -> bool | None:
    letters = _letters(wanted)
    if database.trusted:
        return True  # no users configured: every client is a superuser
    acl = database.acl()
    name = _role(acl, role) if role is not None else user
    if name is None:
        raise errors.UndefinedObject(f'role "{role}" does not exist')
    if kind == "n":
        schema = acl.schema_oids.get(int(target)) if target.isdigit() else _parts(target)[-1]
        if schema is None:
            return None
        if schema not in acl.schemas:
            if schema in ("pg_catalog", "information_schema"):
                return "U" in letters
            raise errors.UndefinedSchema(f'schema "{schema}" does not exist')
        return _any(letters, lambda letter: acl.has(name, ("n", schema, None), letter))
    if target.isdigit():
        found = acl.oids.get(int(target))
        if found is None:
            return "r" in letters  # a catalog relation: readable by everyone
    else:
        resolved = database.checker.resolve(
            acl, rel.Name(*["", "", *_parts(target)][-3:]), path
        )
        if not isinstance(resolved, tuple) or resolved not in acl.relations:
            return "r" in letters
        found = resolved
    key = ("r", *found)
    return _any(letters, lambda letter: acl.has(name, key, letter))


def _any(letters: str, holds: Callable[[str], bool]) -> bool:
    return any(holds(letter) for letter in letters)


def _role(acl: Acl, text: str) -> str | None:
    if text in acl.roles:
        return text
    if text.isdigit():
        from forge_sql.catalog.roles import role_oid

        return next((r for r in acl.roles if role_oid(r) == int(text)), None)
    return None


def _letters(wanted: str) -> str:
    """'SELECT, INSERT WITH GRANT OPTION' -> 'ra' (PostgreSQL: true if any is held)."""
    letters = ""
    for item in wanted.split(","):
        word = item.strip().upper().removesuffix(" WITH GRANT OPTION").strip()
        if word not in _NAMES:
            raise errors.InvalidParameterValue(f"unrecognized privilege type: \"{item.strip()}\"")
        letters += _NAMES[word]
    return letters


def _parts(text: str) -> list[str]:
    """A possibly qualified, possibly quoted name, every part in lower case (the names
    the privilege checks compare)."""
    return [p.lower() for p in quoting.name_parts(text)]
