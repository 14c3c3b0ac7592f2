"""The session's schema search path (PostgreSQL docs: ddl-schemas, "The Schema Search Path";
runtime-config-client, search_path): the one place that says through which schemas an
unqualified name resolves, and where an unqualified CREATE puts its object.

``SearchPath`` is the resolved state, a value: caches key on it. DuckDB's own search_path
of the session's cursor is set from it (``duckdb_value``), so DuckDB and the privilege
check resolve names through the same schemas in the same order."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from forge_sql import errors
from forge_sql.catalog import HIDDEN_SCHEMAS
from forge_sql.catalog import SCHEMA as CATALOG_SCHEMA
from forge_sql.engine import relations as rel
from forge_sql.sql.quoting import literal, quote_ident
from forge_sql.storage import acl as acl_kinds
from forge_sql.storage.acl import Acl

PG_CATALOG = "pg_catalog"
# The schema name a lake holds DuckDB's own objects in (never created by clients); DuckDB
# searches the default catalog's main schema after the path, so the check does too.
MAIN = "main"


def listed(setting: str | None, user: str) -> tuple[str, ...]:
    """The schemas ``search_path`` names, in order: ``"$user"`` as the session's role,
    unquoted names folded to lower case, quoted ones kept as written, repeats dropped."""
    schemas: list[str] = []
    for item in _items(setting if setting is not None else '"$user", public'):
        if item in ('"$user"', "$user"):
            item = user
        elif len(item) >= 2 and item[0] == '"' and item[-1] == '"':
            item = item[1:-1].replace('""', '"')
        else:
            item = item.lower()
        if item and item not in schemas:
            schemas.append(item)
    return tuple(schemas)


def _items(setting: str) -> Iterator[str]:
    """The comma-separated items of a search_path value, commas inside quotes kept."""
    item: list[str] = []
    quoted = False
    for char in setting:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            yield "".join(item).strip()
            item = []
        else:
            item.append(char)
    yield "".join(item).strip()


@dataclass(frozen=True, slots=True)
class SearchPath:
    """A session's search path resolved against the lake's schemas.

    ``schemas``: what ``current_schemas(false)`` answers, the listed schemas that exist
    (pg_catalog included where it is listed); ``catalog_listed``: pg_catalog is listed
    (PostgreSQL searches it first unless it is)."""

    setting: str
    user: str
    schemas: tuple[str, ...]
    catalog_listed: bool
    functions_only: frozenset[str] = frozenset()  # schemas only extension functions make

    @property
    def lake_schemas(self) -> tuple[str, ...]:
        """The lake schemas unqualified names resolve through, in order."""
        return tuple(s for s in self.schemas
                     if s != PG_CATALOG and s not in self.functions_only)

    @property
    def normalized(self) -> str:
        """The lake schemas as a search_path value, for the parts that take one (sequences,
        declared types): its first schema is where an unqualified CREATE goes."""
        return ", ".join(quote_ident(s) for s in self.lake_schemas)

    @property
    def creation(self) -> str | None:
        """Where an unqualified CREATE puts its object: the first existing schema of the
        path (None: 3F000). pg_catalog listed first is not one the server lets clients
        create in, so the first lake schema is used as by DuckDB's own path."""
        lake = self.lake_schemas
        return lake[0] if lake else None

    def creation_schema(self) -> str:
        """``creation``, or 3F000 "no schema has been selected to create in"."""
        schema = self.creation
        if schema is None:
            raise errors.UndefinedSchema("no schema has been selected to create in")
        return schema

    def current_schemas(self, implicit: bool) -> list[str]:
        """``current_schemas(implicit)``: pg_catalog first when it is not listed."""
        if implicit and not self.catalog_listed:
            return [PG_CATALOG, *self.schemas]
        return list(self.schemas)

    def order(self) -> tuple[str, ...]:
        """The schemas DuckDB searches for an unqualified name, as they are set on its
        cursor (``duckdb_value``): pg_catalog (the emulation) right after the first lake
        schema unless listed later; DuckDB's search starts with a lake schema, since its
        first entry is also where DuckDB creates and its default catalog."""
        lake = list(self.lake_schemas) or [MAIN]
        if self.catalog_listed:
            index = self.schemas.index(PG_CATALOG)
            position = max(1, len([s for s in self.schemas[:index] if s != PG_CATALOG]))
        else:
            position = 1
        lake.insert(position, PG_CATALOG)
        if MAIN not in lake:
            lake.append(MAIN)
        return tuple(lake)

    def duckdb_value(self, lake: str, emulation: str,
                     macro_schema: Callable[[str], str | None]) -> str:
        """DuckDB's search_path for the session's cursor: each lake schema followed by the
        schema of its extension macros (``macro_schema``, None when it has none), and the
        pg_catalog emulation (``emulation``, catalog.schema) in its place."""
        # A schema only extension functions make comes after the lake schema listed before it
        # (before the first one's own functions when listed before every lake schema).
        first = next(iter(self.lake_schemas), MAIN)
        after: dict[str, list[str]] = {first: []}
        previous = None
        for schema in self.schemas:
            if schema in self.functions_only:
                after.setdefault(previous or first, []).append(schema)
            elif schema != PG_CATALOG:
                if previous is None:
                    after[first].append(schema)
                previous = schema
        if first not in after[first]:
            after[first].append(first)
        entries: list[str] = []
        for schema in self.order():
            if schema == PG_CATALOG:
                entries.append(emulation)
                continue
            entries.append(f"{quote_ident(lake)}.{quote_ident(schema)}")
            own = after.get(schema, []) if schema == first else [schema, *after.get(schema, ())]
            for functions in own:
                macros = macro_schema(functions)
                if macros is not None:
                    entries.append(macros)
        return ",".join(entries)

    def candidates(self, name: str, relations: Collection[tuple[str, str]]) -> list[str]:
        """The lake schemas of the path holding a relation ``name`` (as ``relations``
        knows them), in the order DuckDB searches them."""
        return [s for s in self.order() if s != PG_CATALOG and (s, name) in relations]

    def variable(self) -> str:
        """The SQL of the list ``current_schemas(false)`` answers (the catalog macros read
        it from the session's variable forge_search_path)."""
        return "[" + ", ".join(literal(s) for s in self.schemas) + "]::VARCHAR[]"


def resolve(setting: str | None, user: str, existing: Collection[str],
            functions_only: Collection[str] = ()) -> SearchPath:
    """``setting`` for ``user`` against the lake's ``existing`` schemas and those only
    extension functions make: schemas that do not exist are skipped, as PostgreSQL skips
    them."""
    names = listed(setting, user)
    only = frozenset(s for s in functions_only if s not in existing)
    schemas = tuple(s for s in names if s in existing or s in only or s == PG_CATALOG)
    return SearchPath(setting or "", user, schemas, PG_CATALOG in names,
                      frozenset(s for s in schemas if s in only))


class Execute(Protocol):
    def __call__(self, sql: str, params: list[object] | None = None) -> list[tuple[Any, ...]]: ...


class SessionPath:
    """A session's search path as its cursor has it: resolved again when the setting, the
    role or the lake's schemas (``generation``) change, and then set on the cursor (DuckDB's
    search_path, and the variable the catalog macros read)."""

    def __init__(self, lake: str, emulation: str, macros: str, run: Execute,
                 set_on_cursor: Callable[[str], object], generation: Callable[[], int]) -> None:
        self._lake, self._emulation, self._macros = lake, emulation, macros
        self._run, self._set, self._generation = run, set_on_cursor, generation
        self._key: tuple[str | None, str, int, object] | None = None
        self.current = resolve(None, "", ())
        self._acl: Acl | None = None
        self._in_block = False

    def follow(self, setting: str | None, user: str, acl: Acl | None = None,
               in_block: bool = False) -> SearchPath:
        """The path for ``setting``, set on the cursor if it changed since the last call.
        ``acl``: the role's privileges (None: a superuser's session); schemas the role
        has no USAGE on are left out, as PostgreSQL leaves them out of the path.
        ``in_block``: a transaction block is open, whose snapshot may not show schemas
        committed since it began: what is resolved then is resolved again after it."""
        key = (setting, user, self._generation(), id(acl))
        if key == self._key and (in_block or not self._in_block):
            return self.current
        rows = self._run(
            "SELECT database_name, schema_name FROM duckdb_schemas() "
            "WHERE database_name IN (?, ?)", [self._lake, self._macros],
        )
        lake = {schema for database, schema in rows if database == self._lake}
        if acl is not None:  # a schema this session made and has not committed is its own
            lake = {s for s in lake if s not in acl.schemas
                    or acl.has(user, (acl_kinds.SCHEMA, s, None), "U")}
        macros = {schema for database, schema in rows if database == self._macros}
        path = resolve(setting, user, lake - {MAIN, *HIDDEN_SCHEMAS}, macros - {MAIN})
        value = path.duckdb_value(
            self._lake, self._emulation,
            lambda s: f"{quote_ident(self._macros)}.{quote_ident(s)}" if s in macros else None,
        )
        self._set(
            f"SET search_path = {literal(value)}; "
            f"SET VARIABLE forge_search_path = {path.variable()}"
        )
        self.current, self._key, self._acl = path, key, acl  # acl: keeps id(acl) unique
        self._in_block = in_block
        return path


def along(name: str, schemas: Sequence[str], relations: Collection[tuple[str, str]]
          ) -> list[str]:
    """The schemas of ``schemas`` (a search order) holding a relation ``name``."""
    return [s for s in dict.fromkeys(schemas) if s != PG_CATALOG and (s, name) in relations]


def qualify(accesses: Iterable[rel.Access], schemas: Sequence[str],
            relations: Collection[tuple[str, str]], catalog_names: Collection[str],
            every: bool = True) -> list[rel.Access]:
    """Each unqualified name of ``accesses`` as the search order ``schemas`` resolves it,
    for the privilege check: CREATE in the first schema; any other action on every lake
    relation of that name along the path, and on the pg_catalog emulation's when it has
    one. DuckDB reads the first its transaction sees; checking each means a relation the
    check's reading of the lake is missing (newer, or dropped since the transaction
    began) cannot be checked in place of the one DuckDB reads. ``every=False``: the first
    only (what a DDL statement that succeeded has changed)."""
    found: list[rel.Access] = []
    for access in accesses:
        name = access.name
        if name.catalog or name.schema or access.temporary or access.action in _NOT_RELATIONS:
            found.append(access)
        elif access.action == rel.CREATE:
            first = next((s for s in schemas if s != PG_CATALOG), MAIN)
            found.append(rel.Access(access.action, rel.Name("", first, name.name)))
        else:
            hits = along(name.name, schemas, relations)[:None if every else 1]
            found += [rel.Access(access.action, rel.Name("", s, name.name)) for s in hits]
            if not hits or name.name in catalog_names:
                found.append(access)
    return found


_NOT_RELATIONS = frozenset({rel.EXECUTE, rel.UNKNOWN, rel.CREATE_SCHEMA, rel.OWN_SCHEMA})


class Cursor(Protocol):
    def execute(self, sql: str, params: Sequence[object] | None = None) -> Any: ...


def schema_of(cursor: Cursor, table: str) -> str:
    """The lake schema an unqualified ``table`` resolves to through the search path the
    session's cursor has (its forge_search_path variable): the first of its schemas that
    holds it, else the first (where DuckDB reports it missing)."""
    row = cursor.execute(f"SELECT {CATALOG_SCHEMA}.search_path_schemas()").fetchone()
    schemas = [str(s) for s in (row[0] if row and row[0] is not None else [])
               if s != PG_CATALOG]
    if len(schemas) <= 1:
        return schemas[0] if schemas else MAIN
    found = {s for (s,) in cursor.execute(
        "SELECT DISTINCT schema_name FROM duckdb_columns() WHERE database_name = "
        "current_database() AND lower(table_name) = lower(?) AND list_contains(?, schema_name)",
        [table, schemas],
    ).fetchall()}
    return next((s for s in schemas if s in found), schemas[0])
