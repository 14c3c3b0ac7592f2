"""Whether a role may do what a statement does (forge_sql.engine.relations) to the relations
it names, as PostgreSQL's aclchk.c decides; refusals carry PostgreSQL's 42501 messages."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from forge_sql import errors
from forge_sql.engine import relations as rel
from forge_sql.engine import search_path
from forge_sql.engine.search_path import PG_CATALOG
from forge_sql.sql.statements import Statement, classify
from forge_sql.storage import meta
from forge_sql.storage.acl import RELATION, SCHEMA, Acl

_WORDS = {"r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE", "D": "TRUNCATE"}
_MAX_VIEW_DEPTH = 16
# The search order of a session that never set search_path (engine.search_path).
DEFAULT_PATH = ("public", PG_CATALOG, search_path.MAIN)


class Checker:
    """Privilege checks of one lake: ``lake`` is its catalog name."""

    def __init__(self, lake: str, connections: Mapping[str, Iterable[str]] | None = None
                 ) -> None:
        self.lake = lake.lower()
        # External databases ([connections.NAME]) and the roles that may read them.
        self.connections = {name.lower(): frozenset(r.lower() for r in readers)
                            for name, readers in (connections or {}).items()}

    def resolve(self, acl: Acl, name: rel.Name, path: Sequence[str] = DEFAULT_PATH
                ) -> tuple[str, str] | str | None:
        """(schema, relation) of the lake that ``name`` reaches as DuckDB resolves it
        through ``path`` (engine.search_path.SearchPath.order: lake schemas and
        ``pg_catalog``, the emulation); None when it is not a lake relation (temporary, or
        missing: DuckDB reports it); a catalog name when it names another database or the
        catalog emulation ("server")."""
        catalog, schema, name_ = name.catalog, name.schema, name.name
        if not catalog:
            if not schema:
                for entry in path:
                    if entry == PG_CATALOG and name_ in acl.catalog_names:
                        return "server"  # the catalog emulation, in the server's database
                    if (entry, name_) in acl.relations:
                        return (entry, name_)
                return "server" if name_ in acl.catalog_names else None
            if schema in acl.schemas:
                return (schema, name_)
            # DuckDB reads ``x.t`` as catalog x, its default schema, when x is no schema.
            catalog, schema = schema, ""
        if catalog == self.lake:
            return (schema or "main", name_)
        if catalog == "temp":
            return None  # the session's own temporary objects
        return catalog

    def check(
        self,
        acl: Acl,
        role: str,
        accesses: Iterable[rel.Access],
        prepared: Callable[[str], Iterable[rel.Access] | None],
        fresh: Callable[[], Acl] | None = None,
        path: Sequence[str] = DEFAULT_PATH,
    ) -> None:
        """Raise InsufficientPrivilege for the first access ``role`` may not make.

        ``fresh`` gives the acl as the lake has it now: asked when a name reaches no known
        relation, which may be one another server has just created."""
        accesses = list(accesses)
        if fresh is not None and any(self._unknown(acl, a, path) for a in accesses):
            acl = fresh()
        if acl.is_superuser(role):
            return
        for access in accesses:
            self._check_one(acl, role, access, prepared, path)

    def _unknown(self, acl: Acl, access: rel.Access, path: Sequence[str]) -> bool:
        if access.action in (rel.READ, rel.INSERT, rel.UPDATE, rel.DELETE, rel.TRUNCATE):
            found = self.resolve(acl, access.name, path)
            return found is None or (isinstance(found, tuple) and found not in acl.relations)
        return False

    def _check_one(
        self,
        acl: Acl,
        role: str,
        access: rel.Access,
        prepared: Callable[[str], Iterable[rel.Access] | None],
        path: Sequence[str] = DEFAULT_PATH,
    ) -> None:
        action, name = access.action, access.name
        if action == rel.UNKNOWN:
            raise errors.InsufficientPrivilege(
                "permission denied: the relations this statement uses cannot be determined"
            )
        if action == rel.EXECUTE:
            held = prepared(name.name)
            if held is None:
                return  # DuckDB reports the missing prepared statement
            for inner in held:
                self._check_one(acl, role, inner, prepared, path)
            return
        if name.name == rel.UNRESOLVED:
            raise errors.InsufficientPrivilege(
                "permission denied: the table this function reads must be named by constants"
            )
        if action == rel.CREATE_SCHEMA:
            raise errors.InsufficientPrivilege(f"permission denied for database {self.lake}")
        if action == rel.OWN_SCHEMA:
            if not acl.owns(role, (SCHEMA, name.name, None)):
                raise errors.InsufficientPrivilege(f"must be owner of schema {name.name}")
            return
        if action == rel.CREATE:
            self._check_create(acl, role, access)
            return
        found = self.resolve(acl, name, path)
        if isinstance(found, str):
            if found.startswith("__ducklake_metadata") or action != rel.READ:
                raise _denied("table", name.name)
            self._check_connection(acl, role, found, name)
            return  # the server's catalog emulation: readable by everyone, as in PostgreSQL
        if found is None:
            return
        schema, relation = found
        if schema == meta.SCHEMA and relation in meta.ROLE_TABLES:
            raise _denied("table", relation)  # verifiers and grants: pg_authid is private too
        kind = "view" if acl.relations.get(found) is not None else "table"
        key = (RELATION, schema, relation)
        if schema in acl.schemas and not acl.has(role, (SCHEMA, schema, None), "U"):
            # Names in a schema without USAGE cannot even be looked up (PostgreSQL).
            raise errors.InsufficientPrivilege(f"permission denied for schema {schema}")
        if action == rel.OWN:
            if (found in acl.relations or key in acl.owners) and not acl.owns(role, key):
                raise errors.InsufficientPrivilege(f"must be owner of {kind} {relation}")
            return
        if found not in acl.relations:
            return  # DuckDB reports the missing relation
        if not acl.has(role, key, action):
            raise _denied(kind, relation)
        if kind == "view" and action == rel.READ:
            self._check_view(acl, found, 0, path)

    def _check_connection(self, acl: Acl, role: str, catalog: str, name: rel.Name) -> None:
        """A declared connection's tables: superusers and the roles it lists as readers."""
        readers = self.connections.get(catalog)
        if readers is None or acl.is_superuser(role):
            return
        if "public" in readers or any(acl.is_member(role, r) for r in readers):
            return
        raise _denied("foreign table", name.name)

    def _check_create(self, acl: Acl, role: str, access: rel.Access) -> None:
        name = access.name
        if access.temporary or name.catalog == "temp" or name.schema == "temp":
            return  # PostgreSQL grants TEMPORARY on the database to PUBLIC
        catalog, schema = name.catalog, name.schema or "public"  # engine.search_path.qualify
        if not catalog and name.schema and name.schema not in acl.schemas:
            catalog, schema = name.schema, "main"  # ``x.t``: catalog x
        if catalog and catalog != self.lake:
            raise errors.InsufficientPrivilege(f"permission denied for database {catalog}")
        if schema == meta.SCHEMA or not acl.has(role, (SCHEMA, schema, None), "C"):
            raise errors.InsufficientPrivilege(f"permission denied for schema {schema}")

    def _check_view(self, acl: Acl, view: tuple[str, str], depth: int,
                    path: Sequence[str] = DEFAULT_PATH) -> None:
        """A view reads its relations with its owner's privileges (PostgreSQL docs 41.5).
        DuckDB binds a view's query when it is read, its own schema searched first and then
        the reader's ``path``: each relation that may so resolve is checked."""
        if depth > _MAX_VIEW_DEPTH:
            raise errors.InsufficientPrivilege("permission denied: views nest too deeply")
        owner = acl.owner((RELATION, *view))
        if acl.is_superuser(owner):
            return
        order = (view[0], *path)
        reads = search_path.qualify(view_reads(acl, view), order, acl.relations, acl.catalog_names)
        for access in reads:
            found = self.resolve(acl, access.name, order)
            if not isinstance(found, tuple) or found not in acl.relations:
                if isinstance(found, str) and found.startswith("__ducklake_metadata"):
                    raise _denied("table", access.name.name)
                if isinstance(found, str):
                    self._check_connection(acl, owner, found, access.name)
                continue
            kind = "view" if acl.relations.get(found) is not None else "table"
            if not acl.has(owner, (RELATION, *found), rel.READ):
                raise _denied(kind, found[1])
            if kind == "view":
                self._check_view(acl, found, depth + 1, path)


def view_reads(acl: Acl, view: tuple[str, str]) -> list[rel.Access]:
    """The relations a view's query reads (its CREATE VIEW statement parsed again)."""
    sql = acl.relations.get(view) or ""
    cache = acl.view_reads
    found = cache.get(sql)
    if found is None:
        try:
            statement: Statement = classify(sql)
            found = [a for a in rel.accesses(statement) if a.action == rel.READ]
        except errors.ForgeError:
            found = [rel.Access(rel.UNKNOWN, rel.Name("", "", ""))]
        cache[sql] = found
    if any(a.action == rel.UNKNOWN for a in found):
        raise errors.InsufficientPrivilege(
            f"permission denied: the relations view {view[1]} uses cannot be determined"
        )
    return found


def _denied(kind: str, name: str) -> errors.InsufficientPrivilege:
    return errors.InsufficientPrivilege(f"permission denied for {kind} {name}")
