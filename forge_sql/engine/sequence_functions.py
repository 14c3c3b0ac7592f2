"""nextval, currval, setval and lastval as DuckDB Python functions over the server's
sequences (forge_sql.engine.sequences). Like pg_functions, each takes the calling session's
token first (the server.pgc macros pass it, forge_sql.catalog.pg_sequence), so currval and
lastval are the session's own, and privileges are the session role's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, cast

import duckdb
from duckdb.func import FunctionNullHandling
from duckdb.sqltypes import BIGINT, BOOLEAN, VARCHAR

from forge_sql import errors
from forge_sql.catalog import SCHEMA
from forge_sql.engine.activity import Activity, BackendStatus
from forge_sql.engine.search_path import listed
from forge_sql.engine.sequences import Key, Sequences
from forge_sql.sql import quoting
from forge_sql.storage import acl as acls

if TYPE_CHECKING:
    from forge_sql.storage.acl import Acl


class Authority(Protocol):
    @property
    def trusted(self) -> bool: ...

    def acl(self) -> Acl: ...


# What each function needs (PostgreSQL's sequence.c): any of these aclitem letters.
_NEEDS = {"nextval": "Uw", "currval": "Ur", "lastval": "Ur", "setval": "w"}


def register(
    con: duckdb.DuckDBPyConnection, activity: Activity, sequences: Sequences,
    database: Authority,
) -> None:
    def caller(token: str | None) -> BackendStatus:
        return activity.caller(token)

    def resolve(backend: BackendStatus, text: str) -> Key:
        if text.strip().isdigit():
            found = sequences.by_oid(int(text), SCHEMA)
            if found is None:
                raise errors.UndefinedTable(f"could not open relation with OID {text.strip()}")
            return found
        parts = name_parts(text)
        if len(parts) > 1:
            return (parts[-2], parts[-1])
        # The path the session's cursor has (engine.search_path): existing schemas the
        # role may use, in order.
        for schema in backend.session.applied_search_path.lake_schemas:
            if sequences.exists((schema, parts[0])):
                return (schema, parts[0])
        raise errors.UndefinedTable(f'relation "{parts[0]}" does not exist')

    def allowed(backend: BackendStatus, key: Key, function: str) -> None:
        if backend.superuser or database.trusted:
            return
        relation = (acls.RELATION, key[0], key[1])
        # A refusal asks the lake again first: the answer kept may predate the sequence's
        # creation (its owner's rights), as the statement check does (acl(fresh=True)).
        for fresh in (False, True):
            acl = database.acl(fresh=fresh)
            if any(acl.has(backend.user, relation, letter) for letter in _NEEDS[function]):
                return
        raise errors.InsufficientPrivilege(f"permission denied for sequence {key[1]}")

    def kept(backend: BackendStatus | None, exc: errors.ForgeError) -> None:
        if backend is not None:
            backend.session.function_error = exc

    def nextval(token: str | None, name: str | None) -> int | None:
        if name is None:
            return None
        backend = None
        try:
            backend = caller(token)
            key = resolve(backend, name)
            allowed(backend, key, "nextval")
            return sequences.nextval(backend.token, key)
        except errors.ForgeError as exc:
            kept(backend, exc)
            raise

    def currval(token: str | None, name: str | None) -> int | None:
        if name is None:
            return None
        backend = None
        try:
            backend = caller(token)
            key = resolve(backend, name)
            allowed(backend, key, "currval")
            return sequences.currval(backend.token, key)
        except errors.ForgeError as exc:
            kept(backend, exc)
            raise

    def lastval(token: str | None) -> int | None:
        backend = None
        try:
            backend = caller(token)
            key = sequences.last_key(backend.token)
            if key is not None:
                allowed(backend, key, "lastval")
            return sequences.lastval(backend.token)
        except errors.ForgeError as exc:
            kept(backend, exc)
            raise

    def setval(
        token: str | None, name: str | None, value: int | None, is_called: bool | None
    ) -> int | None:
        if name is None or value is None or is_called is None:
            return None
        backend = None
        try:
            backend = caller(token)
            key = resolve(backend, name)
            allowed(backend, key, "setval")
            return sequences.setval(backend.token, key, value, is_called)
        except errors.ForgeError as exc:
            kept(backend, exc)
            raise

    def last_value(schema: str | None, name: str | None) -> int | None:
        if schema is None or name is None:
            return None
        state = sequences.state((schema, name))
        return state[0] if state is not None and state[1] else None

    con.create_function(
        "forge_sequence_last", last_value, [VARCHAR, VARCHAR], BIGINT,
        null_handling=FunctionNullHandling.SPECIAL, side_effects=True,
    )
    def identity(token: str | None, name: str | None, kind: str | None) -> int | None:
        """An identity column's default: nextval (``kind`` is for the catalog to read)."""
        return nextval(token, name)

    for function_name, function, parameters in (
        ("forge_nextval", nextval, [VARCHAR, VARCHAR]),
        ("forge_identity", identity, [VARCHAR, VARCHAR, VARCHAR]),
        ("forge_currval", currval, [VARCHAR, VARCHAR]),
        ("forge_lastval", lastval, [VARCHAR]),
        ("forge_setval", setval, [VARCHAR, VARCHAR, BIGINT, BOOLEAN]),
    ):
        # Called for every row (side effects), NULLs included (setval's is_called).
        con.create_function(
            function_name,
            function,
            cast("list[Any]", parameters),
            BIGINT,
            null_handling=FunctionNullHandling.SPECIAL,
            side_effects=True,
        )


def name_parts(text: str) -> list[str]:
    """A regclass text ('s', 'public.s', '"My Seq"'), folded as PostgreSQL folds it."""
    text = text.strip()
    parts = quoting.name_parts(text)
    if not all(parts) or len(parts) > 3:
        raise errors.InvalidParameterValue(f'invalid name syntax: "{text}"')
    return parts


def search_path(setting: str | None, user: str) -> list[str]:
    """The schemas of ``search_path``, in order ("$user" as the session's role)."""
    return list(listed(setting, user))
