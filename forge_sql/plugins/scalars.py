"""Scalar extension functions on the database: each overload's implementation registered
once with DuckDB's create_function, and one typed macro per name that DuckDB itself
dispatches to the right implementation (overloads by argument count and type, defaults,
named arguments ``f(x, n => 2)``).

DuckDB registers Python functions database-wide and allows one per name (EXTENSIONS.md);
its typed macros (checked on DuckDB 1.5.5: ``CREATE MACRO f(a BIGINT) AS ..., (a VARCHAR,
n BIGINT := 1) AS ...``) choose an overload after binding, with the argument types known,
which a rewrite of the text could not do for columns and expressions.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from duckdb.func import FunctionNullHandling, PythonUDFType

from forge_sql.ext import MISSING, Context, ExtensionError, ScalarSpec
from forge_sql.plugins import dispatch, faults
from forge_sql.plugins.registry import Function, Registry
from forge_sql.sql.quoting import literal, quote_ident

log = logging.getLogger("forge_sql.plugins")

# An in-memory database of the server's own holding the dispatching macros, one schema per
# PostgreSQL schema (checked on DuckDB 1.5.5: typed macros need storage v1.4.0, which the
# server's database file predates; the macros are made again at every start anyway).
DATABASE = "forge_ext"
# The calling session's token (a random string only that session's cursor holds).
TOKEN = "getvariable('forge_session')"


def qualified_macro_schema(schema: str) -> str:
    """The schema holding the macros of PostgreSQL schema ``schema``."""
    return f"{DATABASE}.{quote_ident(schema)}"


@dataclass(frozen=True)
class Caller:
    """The session calling a function, as its Context and superuser-only checks need."""

    user: str
    superuser: bool


Sessions = Callable[[str | None], Caller | None]


@dataclass
class Environment:
    """What functions may be given: the calling session, settings and secrets."""

    sessions: Sessions
    settings: Mapping[str, Mapping[str, Any]]
    secrets: Mapping[str, str]
    storage: Path | None = None  # where each extension gets its own directory (Context)


def needs_session(spec: ScalarSpec) -> bool:
    return spec.context_argument is not None or spec.superuser_only


def register(con: duckdb.DuckDBPyConnection, registry: Registry, env: Environment) -> None:
    """Create every scalar function of ``registry`` on the database (the root connection:
    create_function ends its transaction)."""
    con.execute(f"ATTACH IF NOT EXISTS ':memory:' AS {DATABASE}")
    dispatch.use(registry.scalars)
    for schema in {"public"} | {schema for schema, _ in registry.scalars}:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {qualified_macro_schema(schema)}")
    for (schema, name), overloads in registry.scalars.items():
        for function in overloads:
            _create(con, function, env)
        con.execute(_macro(schema, name, overloads))


def unregister(con: duckdb.DuckDBPyConnection, registry: Registry, fresh: Registry) -> None:
    """After a reload registered ``fresh``: remove the macros of ``registry``'s names that
    ``fresh`` lacks (the others were replaced in one step by CREATE OR REPLACE, so a
    session never finds a name missing). The Python implementations stay registered (a
    reload's carry a new generation number in their names): a statement that bound them
    before the reload finishes with the old code, and nothing is removed from DuckDB's
    catalog under a running query."""
    # The schemas stay: sessions' search_path names forge_ext.public.
    for schema, name in registry.scalars.keys() - fresh.scalars.keys():
        con.execute(f"DROP MACRO IF EXISTS {qualified_macro_schema(schema)}.{quote_ident(name)}")


def _macro(schema: str, name: str, overloads: list[Function]) -> str:
    # One overload: untyped parameters, so that the implementation's own binding casts
    # arguments as a function call does (a string literal to UUID, DATE, ...: PostgreSQL's
    # unknown-typed literals). Several: typed, so that DuckDB chooses by type.
    typed = len(overloads) > 1
    bodies = []
    for function in overloads:
        spec = function.spec
        assert isinstance(spec, ScalarSpec)
        parameters = []
        for a in spec.arguments:
            text = f"{quote_ident(a.name)} {a.type}" if typed else quote_ident(a.name)
            if a.default is not MISSING:
                text += f" := CAST({_literal(a.default)} AS {a.type})"
            parameters.append(text)
        arguments = [quote_ident(a.name) for a in spec.arguments]
        if needs_session(spec):
            arguments.insert(0, TOKEN)
        bodies.append(
            f"({', '.join(parameters)}) AS {function.registered_name}({', '.join(arguments)})"
        )
    return (
        f"CREATE OR REPLACE MACRO {qualified_macro_schema(schema)}.{quote_ident(name)}"
        + ", ".join(bodies)
    )


def _literal(value: object) -> str:
    if isinstance(value, bytes):
        return "'" + "".join(f"\\x{b:02x}" for b in value) + "'::BLOB"
    if isinstance(value, dict):
        return literal(json.dumps(value))
    try:
        return literal(value)
    except ValueError:
        return literal(str(value))


def _create(con: duckdb.DuckDBPyConnection, function: Function, env: Environment) -> None:
    spec = function.spec
    assert isinstance(spec, ScalarSpec)
    parameters = [duckdb.sqltype(a.type) for a in spec.arguments]
    if needs_session(spec):
        parameters.insert(0, duckdb.sqltype("VARCHAR"))
    call = _vectorized(function, env) if spec.vectorized else _row_wise(function, env)
    if call is not spec.function:
        # DuckDB counts the callable's parameters against the types given.
        call.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [inspect.Parameter(f"a{i}", inspect.Parameter.POSITIONAL_ONLY)
             for i in range(len(parameters))]
        )
    con.create_function(
        function.registered_name,
        call,
        parameters,  # type: ignore[arg-type]
        duckdb.sqltype(spec.returns),
        type=PythonUDFType.ARROW if spec.vectorized else PythonUDFType.NATIVE,
        # A function given the session is called even for a NULL token (a session that
        # reset forge_session is refused, not answered NULL); its own arguments' NULLs
        # are handled in the wrapper then.
        null_handling=(
            FunctionNullHandling.SPECIAL
            if spec.null_handling == "called" or needs_session(spec)
            else FunctionNullHandling.DEFAULT
        ),
        side_effects=spec.volatility == "volatile",
    )


def _context(function: Function, env: Environment, token: str | None) -> dict[str, Any]:
    """The keyword arguments the session adds: the Context; refuses non-superusers."""
    spec = function.spec
    caller = env.sessions(token)
    if caller is None:
        raise ExtensionError("the session variable forge_session was changed", "42501")
    if spec.superuser_only and not caller.superuser:
        raise ExtensionError(
            f"permission denied for function {spec.name}", "42501",
            hint="The function is marked superuser_only by its extension.",
        )
    if spec.context_argument is None:
        return {}
    context = Context(
        user=caller.user,
        settings=env.settings.get(function.extension, {}),
        log=logging.getLogger(f"forge_sql.ext.{function.extension}"),
        _secrets=env.secrets,
        superuser=caller.superuser,
        _storage=None if env.storage is None else env.storage / function.extension,
    )
    return {spec.context_argument: context}


def _row_wise(function: Function, env: Environment) -> Callable[..., Any]:
    spec = function.spec
    assert isinstance(spec, ScalarSpec)
    python = spec.function
    json_arguments = [i for i, a in enumerate(spec.arguments) if a.type == "JSON"]
    json_result = spec.returns == "JSON"
    session = needs_session(spec)
    strict = spec.null_handling == "strict"

    def call(*args: Any) -> Any:
        try:
            keywords: dict[str, Any] = {}
            if session:
                keywords = _context(function, env, args[0])
                args = args[1:]
                if strict and any(a is None for a in args):
                    return None
            if json_arguments:
                args = tuple(
                    json.loads(v) if i in json_arguments and v is not None else v
                    for i, v in enumerate(args)
                )
            result = python(*args, **keywords)
            if json_result and result is not None:
                result = json.dumps(result)
            return result
        except Exception as exc:
            raise faults.record(spec, function.extension, exc) from None

    if not session and not json_arguments and not json_result and inspect.isfunction(python):
        # The hot path: registered as is, one Python call per row as DuckDB's own UDFs;
        # its exceptions are read from DuckDB's report (faults.error_of).
        faults.unwrapped(spec, function.extension)
        return python
    return call


def _vectorized(function: Function, env: Environment) -> Callable[..., Any]:
    spec = function.spec
    assert isinstance(spec, ScalarSpec)
    python = spec.function
    session = needs_session(spec)
    # Registered with SPECIAL null handling when given the session (see _create): a
    # strict function's rows with a NULL argument are left out here instead.
    strict = session and spec.null_handling == "strict"

    def call(*arrays: Any) -> Any:
        try:
            keywords: dict[str, Any] = {}
            if session:
                tokens, arrays = arrays[0], arrays[1:]
                # Every row's token, not the first's only: a NULL anywhere is refused.
                token = tokens[0].as_py() if len(tokens) and not tokens.null_count else None
                keywords = _context(function, env, token)
            if strict and any(a.null_count for a in arrays):
                return _strict_call(python, arrays, keywords)
            return _arrow(python(*arrays, **keywords))
        except Exception as exc:
            raise faults.record(spec, function.extension, exc) from None

    return call


def _arrow(result: Any) -> Any:
    if hasattr(result, "to_arrow"):  # a polars Series
        result = result.to_arrow()
    if hasattr(result, "combine_chunks"):  # a ChunkedArray
        result = result.combine_chunks()
    return result


def _strict_call(python: Callable[..., Any], arrays: tuple[Any, ...],
                 keywords: dict[str, Any]) -> Any:
    """Call a strict vectorized function on the rows without a NULL argument; the others
    give NULL (as DuckDB's DEFAULT null handling would)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    valid = pc.is_valid(arrays[0])
    for array in arrays[1:]:
        valid = pc.and_(valid, pc.is_valid(array))
    result = _arrow(python(*(pc.filter(a, valid) for a in arrays), **keywords))
    # Row i of the batch takes result row (number of valid rows before it), or NULL.
    positions = pc.subtract(pc.cumulative_sum(pc.cast(valid, pa.int64())), 1)
    return pc.take(result, pc.if_else(valid, positions, pa.scalar(None, pa.int64())))
