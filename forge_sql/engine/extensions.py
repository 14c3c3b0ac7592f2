"""The loaded extensions of one database: registered on its root connection at start-up
and at each reload, listed in the catalog (pg_proc, information_schema.routines,
forge_functions())."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from forge_sql.catalog import SCHEMA
from forge_sql.config import Settings
from forge_sql.ext import MISSING, ScalarSpec
from forge_sql.plugins import loader, scalars
from forge_sql.plugins.registry import Function, Registry
from forge_sql.sql import types
from forge_sql.sql.quoting import literal
from forge_sql.storage import catalogs

log = logging.getLogger("forge_sql.plugins")

_VOLATILE = {"immutable": "i", "stable": "s", "volatile": "v"}


@dataclass(frozen=True)
class Retired:
    """The implementations a reload replaced, and when: a statement that began before may
    still run them; one that began after cannot."""

    since: float
    names: tuple[str, ...]


class Extensions:
    """The extensions a server runs: loaded once before the database opens (a broken
    file stops the start), applied to the database each time it opens."""

    def __init__(self, settings: Settings, sessions: scalars.Sessions) -> None:
        self._settings = settings
        self.registry = loader.load(settings.extensions, shipped=settings.shipped_extensions)
        self.storage_root = storage_root(settings)
        self._env = scalars.Environment(
            sessions,
            settings.extension_settings,
            {name: secret.get_secret_value() for name, secret in settings.secrets.items()},
            self.storage_root,
        )
        self._lock = threading.Lock()
        self.retired: list[Retired] = []
        if len(self.registry):
            log.info(
                "extensions: %d functions from %s", len(self.registry),
                ", ".join(e.name for e in self.registry.extensions) or "none",
            )

    def install(self, con: duckdb.DuckDBPyConnection) -> None:
        """Register the functions on the root connection. Python replacement scans are
        switched off for every connection: otherwise a client's SQL could read a server
        variable by naming it as a table."""
        con.execute("SET GLOBAL python_enable_replacements = false")
        scalars.register(con, self.registry, self._env)

    def list_in_catalog(self, con: duckdb.DuckDBPyConnection) -> None:
        """Write the catalog's extension_functions rows (after the catalog is installed)."""
        functions = list(self.registry.functions())
        type_oids = {
            f: [types.pg_type(a.type)[0] for a in f.spec.arguments] for f in functions
        }
        results = {f: _result_type(f) for f in functions}
        wanted = sorted({o for oids in type_oids.values() for o in oids}
                        | {o for o, _ in results.values()})
        names: dict[int, str] = {}
        if wanted:
            rows = con.execute(
                f"SELECT o, {SCHEMA}.regtype_name(o) FROM unnest(?::BIGINT[]) AS t(o)",
                [wanted],
            ).fetchall()
            names = {int(o): str(n) for o, n in rows}
        records = [
            _record(f, type_oids[f], results[f], names, index)
            for index, f in enumerate(functions)
        ]
        # One transaction: a session listing functions meanwhile sees the old or new rows.
        con.execute("BEGIN")
        try:
            con.execute(f"DELETE FROM {SCHEMA}.extension_functions")
            if records:
                placeholders = ", ".join("?" * len(records[0]))
                con.executemany(
                    f"INSERT INTO {SCHEMA}.extension_functions VALUES ({placeholders})", records
                )
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

    def reload(self, con: duckdb.DuckDBPyConnection) -> Registry:
        """Load the extension files again and replace the registered functions; a broken
        file raises ExtensionLoadError and leaves the running functions as they were."""
        with self._lock:
            fresh = loader.load(self._settings.extensions,
                                shipped=self._settings.shipped_extensions,
                                generation=self.registry.generation + 1)
            old, self.registry = self.registry, fresh
            self.install(con)
            scalars.unregister(con, old, fresh)
            self.list_in_catalog(con)
            self.retired.append(
                Retired(time.time(), tuple(f.registered_name for f in old.functions()))
            )
            return fresh

    def reclaim(self, con: duckdb.DuckDBPyConnection,
                oldest_transaction: Callable[[], float | None]) -> int:
        """Remove the implementations earlier reloads replaced once every transaction
        that could run them has ended (a statement binds the implementation when it
        starts: DuckDB's bound plan keeps the function it bound even after this, and a
        later statement binds the new one). The number removed."""
        with self._lock:
            oldest = oldest_transaction()
            done = [r for r in self.retired if oldest is None or r.since < oldest]
            removed = 0
            for retired in done:
                self.retired.remove(retired)
                for name in retired.names:
                    try:
                        con.remove_function(name)
                        removed += 1
                    except duckdb.Error:  # a table function without a macro: none made
                        pass
            return removed


def storage_root(settings: Settings) -> Path:
    """Where extensions keep their own files (Context.storage): beside the lake's data
    files when those are local, so every server of a shared lake sees them (DuckLake's
    orphan sweep deletes only files it named), else in the data directory."""
    data_dir = settings.data_dir.resolve()
    local = catalogs.locate(settings, data_dir).local_data
    return (local if local is not None else data_dir) / "_forge_extensions"


def _result_type(function: Function) -> tuple[int, bool]:
    spec = function.spec
    if isinstance(spec, ScalarSpec):
        return types.pg_type(spec.returns)[0], False
    return 2249, True  # record (pg_type.dat), SETOF


def _record(function: Function, argtypes: Sequence[int], result: tuple[int, bool],
            names: dict[int, str], index: int) -> tuple[object, ...]:
    spec = function.spec
    arguments = []
    defaults = []
    for argument, oid in zip(spec.arguments, argtypes, strict=True):
        text = f"{argument.name} {names.get(oid, argument.type.lower())}"
        if argument.default is not MISSING:
            value = _default_text(argument.default)
            text += f" DEFAULT {value}"
            defaults.append(value)
        arguments.append(text)
    rettype, retset = result
    if retset:
        result_text = "TABLE(" + ", ".join(
            f"{c.name} {names.get(types.pg_type(c.type)[0], c.type.lower())}"
            for c in getattr(spec, "columns", ())
        ) + ")"
    else:
        result_text = names.get(rettype, "unknown")
    strict = isinstance(spec, ScalarSpec) and spec.null_handling == "strict"
    columns = list(getattr(spec, "columns", ())) if retset else []
    everything = (
        (list(argtypes) + [types.pg_type(c.type)[0] for c in columns],
         ["i"] * len(argtypes) + ["t"] * len(columns),
         [a.name for a in spec.arguments] + [c.name for c in columns])
        if retset else (None, None, None)
    )
    return (
        # OIDs of their own range, above those the catalog hashes for relations.
        3_900_000_000 + index,
        spec.schema,
        spec.name,
        spec.kind,
        list(argtypes),
        [a.name for a in spec.arguments],
        len(defaults),
        ", ".join(defaults) or None,
        rettype,
        retset,
        _VOLATILE[spec.volatility],
        strict,
        ", ".join(arguments),
        result_text,
        "record" if retset else names.get(rettype, "USER-DEFINED"),
        spec.doc,
        spec.signature,
        str(spec.source),
        function.extension,
        spec.superuser_only,
        *everything,
    )


def _default_text(value: object) -> str:
    try:
        return literal(value)
    except ValueError:
        return literal(str(value))
