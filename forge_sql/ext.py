"""The public extension API: decorators that record scalar and table function specs,
the ``Context`` a function may ask for, and ``ExtensionError``. Extensions import this
module only; the server (forge_sql.plugins) reads the recorded specs and applies them.
"""

from __future__ import annotations

import contextvars
import datetime as _dt
import decimal
import inspect
import itertools
import logging
import threading
import types
import typing
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar, overload

__all__ = [
    "ApiKey",
    "Argument",
    "Basic",
    "Bearer",
    "Column",
    "Context",
    "Cursor",
    "ExtensionDefinitionError",
    "ExtensionError",
    "Http",
    "LinkHeader",
    "OAuth2ClientCredentials",
    "Offset",
    "PageNumber",
    "ScalarSpec",
    "SourceLocation",
    "SourceSpec",
    "TableSpec",
    "requires",
    "scalar",
    "source",
    "sql_type",
    "table",
]

F = TypeVar("F", bound=Callable[..., Any])

NullHandling = Literal["strict", "called"]
"""``strict``: any NULL argument gives NULL without calling the function (PostgreSQL's
RETURNS NULL ON NULL INPUT); ``called``: the function is called with None."""

Volatility = Literal["immutable", "stable", "volatile"]
"""As PostgreSQL's pg_proc.provolatile: immutable and stable functions may be folded by
DuckDB; volatile ones are called for every row."""

# Python annotations and the DuckDB types they map to; the one place this is decided.
PYTHON_TYPES: dict[type, str] = {
    bool: "BOOLEAN",  # before int: bool is a subclass of int
    int: "BIGINT",
    float: "DOUBLE",
    str: "VARCHAR",
    bytes: "BLOB",
    decimal.Decimal: "DECIMAL(38,10)",
    _dt.datetime: "TIMESTAMP",  # before date: datetime is a subclass of date
    _dt.date: "DATE",
    _dt.time: "TIME",
    _dt.timedelta: "INTERVAL",
    uuid.UUID: "UUID",
    dict: "JSON",
}


class ExtensionError(Exception):
    """Raise from a function to fail the statement with ``sqlstate`` (default 38000,
    external_routine_exception) and this message; ``detail`` and ``hint`` reach the
    client as the ErrorResponse's DETAIL and HINT."""

    def __init__(
        self,
        message: str,
        sqlstate: str = "38000",
        *,
        detail: str | None = None,
        hint: str | None = None,
    ) -> None:
        if len(sqlstate) != 5 or not sqlstate.isalnum() or sqlstate != sqlstate.upper():
            raise ValueError(f"{sqlstate!r} is not a SQLSTATE (five digits or capitals)")
        super().__init__(message)
        self.message = message
        self.sqlstate = sqlstate
        self.detail = detail
        self.hint = hint
        with _raised_lock:
            self.number = next(_numbers)
            _raised[self.number] = self
            while len(_raised) > _RAISED_KEPT:
                _raised.popitem(last=False)

    def __str__(self) -> str:
        # DuckDB reports a function's exception by its text only: the number lets the
        # server find the SQLSTATE, DETAIL and HINT again (``raised``).
        return f"{self.message} [{ERROR_MARKER}{self.number}]"


ERROR_MARKER = "forge-extension-error#"
_RAISED_KEPT = 256
_raised: OrderedDict[int, ExtensionError] = OrderedDict()
_raised_lock = threading.Lock()
_numbers = itertools.count(1)


def raised(number: int) -> ExtensionError | None:
    """The ExtensionError of that number, taken (for the server's error translation)."""
    with _raised_lock:
        return _raised.pop(number, None)


class ExtensionDefinitionError(Exception):
    """Bad decorator use, reported with the file and line of the decorated function."""

    def __init__(self, message: str, source: SourceLocation | None = None) -> None:
        super().__init__(f"{source}: {message}" if source else message)
        self.reason = message
        self.source = source


@dataclass(frozen=True)
class SourceLocation:
    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class Argument:
    """One SQL argument: its name, DuckDB type and default (MISSING: required)."""

    name: str
    type: str
    default: Any = MISSING

    @property
    def has_default(self) -> bool:
        return self.default is not MISSING


@dataclass(frozen=True)
class Column:
    """One output column of a table function."""

    name: str
    type: str


@dataclass(frozen=True)
class _Spec:
    name: str
    function: Callable[..., Any]
    arguments: tuple[Argument, ...]
    schema: str
    volatility: Volatility
    superuser_only: bool
    doc: str
    source: SourceLocation
    context_argument: str | None  # the keyword the Context is passed as, if asked for

    @property
    def signature(self) -> str:
        """``name(a bigint, b varchar DEFAULT 'x')`` (types as DuckDB names them)."""
        parts = []
        for a in self.arguments:
            text = f"{a.name} {a.type}"
            if a.has_default:
                text += f" DEFAULT {a.default!r}"
            parts.append(text)
        return f"{self.name}({', '.join(parts)})"


@dataclass(frozen=True)
class ScalarSpec(_Spec):
    returns: str = "VARCHAR"
    vectorized: bool = False
    null_handling: NullHandling = "strict"

    kind: Literal["scalar"] = "scalar"


@dataclass(frozen=True)
class TableSpec(_Spec):
    columns: tuple[Column, ...] = ()
    describe: Callable[..., Sequence[Column] | Mapping[str, str]] | None = None
    view: bool = False  # also a view of the lake of the same name, over a call without arguments

    kind: Literal["table"] = "table"


@dataclass(frozen=True)
class SourceSpec(TableSpec):
    """A table function that is also a sync input: rows carry a ``primary_key`` (for
    merge), a ``cursor`` column (for incremental reads) and may need a ``secret``."""

    primary_key: tuple[str, ...] = ()
    cursor: str | None = None
    secret: str | None = None
    rate_limit: float | None = None  # requests per second, for the source's HTTP calls
    concurrency: int = 4  # HTTP requests of the source in flight at once


Spec = ScalarSpec | TableSpec


@dataclass
class Context:
    """What a function may ask for by declaring a keyword-only ``ctx: Context`` argument.

    ``settings`` are the function's extension's own settings from the config file
    (``[extension_settings.NAME]``), ``user`` the calling session's user, ``log`` a logger
    named after the extension. Secrets are looked up by name (``[secrets]``): they never
    appear in SQL text or logs.
    """

    user: str
    settings: Mapping[str, Any] = field(default_factory=dict)
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("forge_sql.ext"))
    _secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    superuser: bool = False
    _http: Http | None = field(default=None, repr=False)

    @property
    def http(self) -> Http:
        """The HTTP toolkit (retries, rate limit, pagination, auth), shared by the
        function's calls; its limits are the source's."""
        if self._http is None:
            raise ExtensionError("no HTTP toolkit in this context", "58000")
        return self._http
    # Given by the server to table functions (``query``, ``progress``, ``check_cancel``)
    # and to every function (``storage``); None where the call cannot offer them.
    _query: Callable[[str, Sequence[Any]], Any] | None = field(default=None, repr=False)
    _progress: Callable[[str], None] | None = field(default=None, repr=False)
    _cancelled: Callable[[], str | None] | None = field(default=None, repr=False)
    _storage: Path | None = field(default=None, repr=False)

    def secret(self, name: str) -> str:
        try:
            return self._secrets[name]
        except KeyError:
            raise ExtensionError(
                f'secret "{name}" is not configured', "42704",
                hint=f"add {name} = '...' under [secrets] in the server's config file",
            ) from None

    def query(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one read-only query (SELECT, WITH, VALUES, TABLE, FROM) as the calling user,
        with that user's privileges, in the caller's transaction; its rows as a
        ``pyarrow.RecordBatchReader`` to read before the function returns its first row.
        Table functions only (a scalar function runs inside DuckDB's own statement)."""
        if self._query is None:
            raise ExtensionError(
                "ctx.query is available to table functions only", "0A000"
            )
        return self._query(sql, list(params))

    def progress(self, done: float, total: float | None = None, message: str = "") -> None:
        """Report how far the function is: shown in ``pg_stat_activity`` as wait_event
        (wait_event_type ``Extension``) until the statement ends."""
        if self._progress is None:
            return
        text = f"{done:g}/{total:g}" if total else f"{done:g}"
        if total:
            text += f" ({100.0 * done / total:.0f}%)"
        self._progress(f"{message} {text}".strip() if message else text)

    def check_cancel(self) -> None:
        """Raise 57014 when the statement was canceled (cancel request or
        statement_timeout): call it between steps of long work."""
        reason = None if self._cancelled is None else self._cancelled()
        if reason:
            raise ExtensionError(reason, "57014")

    @property
    def storage(self) -> Path:
        """A directory of the extension's own, beside the lake's data files when they are
        local (every server of a shared lake sees it), else in the data directory."""
        if self._storage is None:
            raise ExtensionError("this server gives extensions no storage directory", "0A000")
        self._storage.mkdir(parents=True, exist_ok=True)
        return self._storage


# -- recording ------------------------------------------------------------------------

_collector: contextvars.ContextVar[list[Spec] | None] = contextvars.ContextVar(
    "forge_sql_ext_collector", default=None
)


@contextmanager
def collecting() -> Iterator[list[Spec]]:
    """Collect the specs decorators record while importing extension modules (the
    server's loader uses this; a decorated function also keeps its spec in
    ``__forge_spec__`` so that it stays callable and testable as plain Python)."""
    specs: list[Spec] = []
    token = _collector.set(specs)
    try:
        yield specs
    finally:
        _collector.reset(token)


def _record(function: Callable[..., Any], spec: Spec) -> None:
    recorded = getattr(function, "__forge_specs__", ())
    try:
        function.__forge_spec__ = spec  # type: ignore[attr-defined]
        function.__forge_specs__ = (*recorded, spec)  # type: ignore[attr-defined]
    except (AttributeError, TypeError):
        pass
    specs = _collector.get()
    if specs is not None:
        specs.append(spec)


def _source(function: Callable[..., Any]) -> SourceLocation:
    try:
        code = inspect.unwrap(function).__code__
        return SourceLocation(code.co_filename, code.co_firstlineno)
    except AttributeError:
        return SourceLocation(getattr(function, "__module__", "?") or "?", 0)


# -- type mapping ---------------------------------------------------------------------


def sql_type(annotation: Any) -> str:
    """The DuckDB type of a Python annotation or SQL type string (``list[int]`` ->
    ``BIGINT[]``, ``str | None`` -> ``VARCHAR``); raises TypeError for the rest."""
    if isinstance(annotation, str):
        text = annotation.strip()
        if not text:
            raise TypeError("an empty type name")
        return text.upper() if text.replace(" ", "").isalnum() else text
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return sql_type(members[0])
        raise TypeError(f"{annotation!r}: a union of several types has no SQL type")
    if origin is typing.Annotated:
        return sql_type(typing.get_args(annotation)[0])
    if origin in (list, Sequence, tuple) or annotation is list:
        args = typing.get_args(annotation)
        if not args:
            raise TypeError("list needs its element type: list[int], list[str], ...")
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            raise TypeError(f"{annotation!r}: use list[T] or tuple[T, ...]")
        return f"{sql_type(args[0])}[]"
    if origin is dict or annotation is dict:
        return "JSON"
    if isinstance(annotation, type):
        for python_type, name in PYTHON_TYPES.items():
            if annotation is python_type:
                return name
    raise TypeError(
        f"{annotation!r} has no SQL type: use str, int, float, bool, bytes, Decimal, date, "
        "datetime, time, timedelta, UUID, list[T], dict or a SQL type string"
    )


def _is_context(annotation: Any) -> bool:
    return annotation is Context or annotation == "Context"


def _arguments(
    function: Callable[..., Any],
    declared: Sequence[str] | Mapping[str, str] | None,
    source: SourceLocation,
    vectorized: bool,
) -> tuple[tuple[Argument, ...], str | None, dict[str, Any]]:
    """The SQL arguments from the signature (types from ``declared`` or annotations), the
    keyword the Context goes in, and the resolved annotations."""
    try:
        hints = typing.get_type_hints(function, include_extras=True)
    except Exception:  # unresolvable forward references: fall back to the raw text
        hints = dict(getattr(function, "__annotations__", {}))
    signature = inspect.signature(function)
    parameters = list(signature.parameters.values())
    context_argument = None
    sql_parameters = []
    for p in parameters:
        annotation = hints.get(p.name, p.annotation)
        if _is_context(annotation) or (p.name == "ctx" and annotation is inspect.Parameter.empty):
            if p.kind is not inspect.Parameter.KEYWORD_ONLY:
                raise ExtensionDefinitionError(
                    f"{p.name}: the Context must be keyword-only (def f(x, *, {p.name}: Context))",
                    source,
                )
            context_argument = p.name
            continue
        if p.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            raise ExtensionDefinitionError(
                f"*{p.name}: SQL functions take a fixed list of arguments", source
            )
        sql_parameters.append((p, annotation))
    if declared is not None:
        if isinstance(declared, Mapping):
            names = list(declared)
            if names != [p.name for p, _ in sql_parameters]:
                raise ExtensionDefinitionError(
                    f"args names {names} differ from the function's parameters "
                    f"{[p.name for p, _ in sql_parameters]}",
                    source,
                )
            types_ = list(declared.values())
        else:
            types_ = list(declared)
            if len(types_) != len(sql_parameters):
                raise ExtensionDefinitionError(
                    f"args gives {len(types_)} types for {len(sql_parameters)} parameters",
                    source,
                )
    else:
        types_ = []
        for p, annotation in sql_parameters:
            if annotation is inspect.Parameter.empty:
                raise ExtensionDefinitionError(
                    f"parameter {p.name} has no type: annotate it or give args=[...]", source
                )
            types_.append(annotation)
    arguments = []
    seen_default = False
    for (p, _), given in zip(sql_parameters, types_, strict=True):
        try:
            type_name = sql_type(given)
        except TypeError as exc:
            raise ExtensionDefinitionError(f"parameter {p.name}: {exc}", source) from None
        default = MISSING if p.default is inspect.Parameter.empty else p.default
        if default is MISSING and seen_default and p.kind is not inspect.Parameter.KEYWORD_ONLY:
            raise ExtensionDefinitionError(
                f"parameter {p.name} without a default follows one with a default", source
            )
        seen_default = seen_default or default is not MISSING
        constant = (str, int, float, bool, bytes, decimal.Decimal, _dt.date, _dt.time,
                    _dt.timedelta, uuid.UUID, list, dict)
        if default is not MISSING and default is not None and not isinstance(default, constant):
            raise ExtensionDefinitionError(
                f"parameter {p.name}: a default must be a constant (the SQL default)", source
            )
        arguments.append(Argument(p.name, type_name, default))
    return tuple(arguments), context_argument, hints


def _check_name(name: str, source: SourceLocation, what: str) -> str:
    if not name.isidentifier() or not name.isascii():
        raise ExtensionDefinitionError(
            f"{what} {name!r}: names are letters, digits and underscores", source
        )
    if name.lower() != name:
        raise ExtensionDefinitionError(
            f"{what} {name!r}: use lower case (SQL folds unquoted names to lower case)", source
        )
    return name


_VOLATILITIES = ("immutable", "stable", "volatile")


def _common(
    function: Callable[..., Any],
    name: str | None,
    schema: str,
    volatility: str,
    doc: str | None,
    source: SourceLocation,
) -> tuple[str, str, str, str]:
    if not callable(function):
        raise ExtensionDefinitionError(f"{function!r} is not a function", source)
    if volatility not in _VOLATILITIES:
        raise ExtensionDefinitionError(
            f"volatility {volatility!r}: use one of {', '.join(_VOLATILITIES)}", source
        )
    sql_name = _check_name(name or function.__name__, source, "function name")
    _check_name(schema, source, "schema")
    text = inspect.cleandoc(doc if doc is not None else (function.__doc__ or ""))
    return sql_name, schema, volatility, text


# -- decorators -----------------------------------------------------------------------


@overload
def scalar(function: F, /) -> F: ...
@overload
def scalar(
    *,
    name: str | None = None,
    args: Sequence[str] | Mapping[str, str] | None = None,
    returns: Any = None,
    vectorized: bool = False,
    null_handling: NullHandling = "strict",
    volatility: Volatility = "immutable",
    superuser_only: bool = False,
    schema: str = "public",
    doc: str | None = None,
) -> Callable[[F], F]: ...
def scalar(
    function: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    args: Sequence[str] | Mapping[str, str] | None = None,
    returns: Any = None,
    vectorized: bool = False,
    null_handling: NullHandling = "strict",
    volatility: Volatility = "immutable",
    superuser_only: bool = False,
    schema: str = "public",
    doc: str | None = None,
) -> Any:
    """Declare a scalar SQL function (``@scalar`` or ``@scalar(...)``).

    Row-wise by default: called once per row with Python values. ``vectorized=True``:
    called once per batch with pyarrow arrays (one per argument) and returns a pyarrow
    array (or a polars Series) of the same length; give ``args`` and ``returns`` as SQL
    type strings then, since the annotations are arrays. Several functions may share a
    ``name`` (overloads) when their argument counts or types differ.
    """

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        source = _source(fn)
        sql_name, sql_schema, vol, text = _common(fn, name, schema, volatility, doc, source)
        if null_handling not in ("strict", "called"):
            raise ExtensionDefinitionError(
                f"null_handling {null_handling!r}: use 'strict' or 'called'", source
            )
        if vectorized and args is None:
            raise ExtensionDefinitionError(
                "a vectorized function needs args=[SQL types] (its parameters are arrays)",
                source,
            )
        arguments, context_argument, hints = _arguments(fn, args, source, vectorized)
        result = returns if returns is not None else hints.get("return")
        if result is None or result is type(None):
            raise ExtensionDefinitionError(
                "no return type: annotate it (-> str) or give returns=...", source
            )
        try:
            result_type = sql_type(result)
        except TypeError as exc:
            raise ExtensionDefinitionError(f"return type: {exc}", source) from None
        spec = ScalarSpec(
            name=sql_name,
            function=fn,
            arguments=arguments,
            schema=sql_schema,
            volatility=vol,  # type: ignore[arg-type]
            superuser_only=superuser_only,
            doc=text,
            source=source,
            context_argument=context_argument,
            returns=result_type,
            vectorized=vectorized,
            null_handling=null_handling,
        )
        _record(fn, spec)
        return fn

    if function is not None:
        return decorate(function)
    return decorate


def _columns(
    declared: Sequence[tuple[str, str]] | Mapping[str, Any] | type | None,
    source: SourceLocation,
) -> tuple[Column, ...]:
    if declared is None:
        return ()
    if isinstance(declared, type):  # a pydantic model (or any class with annotations)
        fields = getattr(declared, "model_fields", None)
        if fields is not None:
            items = [(n, f.annotation) for n, f in fields.items()]
        else:
            items = list(typing.get_type_hints(declared).items())
    elif isinstance(declared, Mapping):
        items = list(declared.items())
    else:
        items = [tuple(c) for c in declared]  # type: ignore[misc]
    columns = []
    seen = set()
    for column_name, column_type in items:
        if column_name in seen:
            raise ExtensionDefinitionError(f"column {column_name!r} is declared twice", source)
        seen.add(column_name)
        try:
            columns.append(Column(str(column_name), sql_type(column_type)))
        except TypeError as exc:
            raise ExtensionDefinitionError(f"column {column_name}: {exc}", source) from None
    return tuple(columns)


@overload
def table(function: F, /) -> F: ...
@overload
def table(
    *,
    columns: Sequence[tuple[str, str]] | Mapping[str, Any] | type | None = None,
    describe: Callable[..., Sequence[Column] | Mapping[str, str]] | None = None,
    name: str | None = None,
    args: Sequence[str] | Mapping[str, str] | None = None,
    volatility: Volatility = "volatile",
    superuser_only: bool = False,
    schema: str = "public",
    doc: str | None = None,
    view: bool = False,
) -> Callable[[F], F]: ...
def table(
    function: Callable[..., Any] | None = None,
    /,
    *,
    columns: Sequence[tuple[str, str]] | Mapping[str, Any] | type | None = None,
    describe: Callable[..., Sequence[Column] | Mapping[str, str]] | None = None,
    name: str | None = None,
    args: Sequence[str] | Mapping[str, str] | None = None,
    volatility: Volatility = "volatile",
    superuser_only: bool = False,
    schema: str = "public",
    doc: str | None = None,
    view: bool = False,
) -> Any:
    """Declare a table function, called in FROM (``SELECT * FROM f(10)``).

    The output columns are ``columns`` (a mapping name -> type, a list of pairs, or a
    pydantic model) or computed from the arguments by ``describe`` (called with the same
    arguments, without the Context). The function returns or yields rows: a pyarrow Table
    or RecordBatchReader, RecordBatches, polars frames, or dicts / pydantic models.

    ``view=True``: the server also keeps a view of the same name in the lake, over a call
    without arguments (every argument needs a default), readable by PUBLIC once created:
    clients list it (``\\dv``, information_schema.views) and read ``SELECT * FROM
    schema.name``. The function decides what each caller sees (``ctx.user``,
    ``ctx.superuser``); a superuser may REVOKE the view from PUBLIC.
    """

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        source = _source(fn)
        sql_name, sql_schema, vol, text = _common(fn, name, schema, volatility, doc, source)
        if (columns is None) == (describe is None):
            raise ExtensionDefinitionError(
                "a table function needs exactly one of columns=... or describe=...", source
            )
        if describe is not None and not callable(describe):
            raise ExtensionDefinitionError("describe must be a function", source)
        arguments, context_argument, _ = _arguments(fn, args, source, False)
        if view and (describe is not None or any(not a.has_default for a in arguments)):
            raise ExtensionDefinitionError(
                "a table function with view=True needs declared columns and a default for "
                "every argument (the view calls it without arguments)", source
            )
        spec = TableSpec(
            name=sql_name,
            function=fn,
            arguments=arguments,
            schema=sql_schema,
            volatility=vol,  # type: ignore[arg-type]
            superuser_only=superuser_only,
            doc=text,
            source=source,
            context_argument=context_argument,
            columns=_columns(columns, source),
            describe=describe,
            view=view,
        )
        if describe is None and not spec.columns:
            raise ExtensionDefinitionError("a table function needs at least one column", source)
        _record(fn, spec)
        return fn

    if function is not None:
        return decorate(function)
    return decorate


def requires(*modules: str) -> None:
    """Declare the modules an extension needs, at the top of its file, without importing
    them (an extension may import a heavy library inside its functions to start fast).

    A missing one raises ModuleNotFoundError naming it: a shipped extension is then
    skipped with one log line; a project's own extension stops the server with file:line.
    """
    import importlib.util

    for module in modules:
        # find_spec imports the parents of a dotted name: check the top-level package.
        top = module.split(".")[0]
        if importlib.util.find_spec(top) is None:
            raise ModuleNotFoundError(f"No module named {top!r}", name=top)


# -- sources and the HTTP toolkit's vocabulary ------------------------------------------


@dataclass(frozen=True)
class Bearer:
    """``Authorization: Bearer TOKEN``."""

    token: str = field(repr=False)


@dataclass(frozen=True)
class Basic:
    """HTTP basic authentication."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class ApiKey:
    """An API key sent as a header (``where="header"``) or a query parameter."""

    name: str
    value: str = field(repr=False)
    where: Literal["header", "query"] = "header"


@dataclass(frozen=True)
class OAuth2ClientCredentials:
    """OAuth2 client credentials: a token from ``token_url``, kept until it expires."""

    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    scope: str | None = None


Auth = Bearer | Basic | ApiKey | OAuth2ClientCredentials


@dataclass(frozen=True)
class PageNumber:
    """``?page=1``, ``?page=2``, ... until a page has no records."""

    param: str = "page"
    start: int = 1
    size_param: str | None = None
    size: int | None = None


@dataclass(frozen=True)
class Offset:
    """``?offset=0&limit=N``, then offset N, 2N, ... until a page has fewer than N."""

    limit: int = 100
    offset_param: str = "offset"
    limit_param: str = "limit"


@dataclass(frozen=True)
class Cursor:
    """The next page's token (or URL) is at ``path`` in the body (dotted); it is sent as
    ``param`` (or followed, when it is a URL); pages end when it is missing or empty."""

    path: str = "next"
    param: str = "cursor"


@dataclass(frozen=True)
class LinkHeader:
    """The next page is the ``rel="next"`` URL of the Link header (RFC 8288)."""


Paginator = PageNumber | Offset | Cursor | LinkHeader
PAGINATORS: dict[str, Paginator] = {
    "page": PageNumber(), "offset": Offset(), "cursor": Cursor(), "link": LinkHeader(),
}


class Http(typing.Protocol):
    """The HTTP toolkit a function gets as ``ctx.http`` (forge_sql's implementation is on
    httpx). Every call has a timeout, retries 429, 5xx and connection failures with
    jittered exponential backoff honouring Retry-After, and keeps the source's rate and
    concurrency limits. Failures raise ExtensionError; secrets never appear in them."""

    auth: Auth | None

    def get_json(self, url: str, *, params: Mapping[str, Any] | None = None,
                 headers: Mapping[str, str] | None = None) -> Any: ...

    def post_json(self, url: str, body: Any = None, *,
                  params: Mapping[str, Any] | None = None,
                  headers: Mapping[str, str] | None = None) -> Any: ...

    def paginate(self, url: str, *, params: Mapping[str, Any] | None = None,
                 paginator: Paginator | str = "link", records: str | None = None,
                 headers: Mapping[str, str] | None = None,
                 max_pages: int | None = None) -> Iterator[Any]: ...


@overload
def source(function: F, /) -> F: ...
@overload
def source(
    *,
    columns: Sequence[tuple[str, str]] | Mapping[str, Any] | type | None = None,
    primary_key: str | Sequence[str] = (),
    cursor: str | None = None,
    secret: str | None = None,
    rate_limit: float | None = None,
    concurrency: int = 4,
    name: str | None = None,
    args: Sequence[str] | Mapping[str, str] | None = None,
    superuser_only: bool = False,
    schema: str = "public",
    doc: str | None = None,
) -> Callable[[F], F]: ...
def source(
    function: Callable[..., Any] | None = None,
    /,
    *,
    columns: Sequence[tuple[str, str]] | Mapping[str, Any] | type | None = None,
    primary_key: str | Sequence[str] = (),
    cursor: str | None = None,
    secret: str | None = None,
    rate_limit: float | None = None,
    concurrency: int = 4,
    name: str | None = None,
    args: Sequence[str] | Mapping[str, str] | None = None,
    superuser_only: bool = False,
    schema: str = "public",
    doc: str | None = None,
) -> Any:
    """Declare a source: a generator of rows that is a live table function
    (``SELECT * FROM f(a => 1)``) and the input of syncs. ``primary_key`` and ``cursor``
    name declared columns; ``secret`` names the secret it needs (checked before the call:
    42704 when it is not configured); ``rate_limit`` (requests per second) and
    ``concurrency`` bound its ``ctx.http`` calls across all sessions."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        location = _source(fn)
        if columns is None:
            raise ExtensionDefinitionError("a source needs columns=...", location)
        sql_name, sql_schema, vol, text = _common(fn, name, schema, "volatile", doc, location)
        arguments, context_argument, _ = _arguments(fn, args, location, False)
        declared = _columns(columns, location)
        if not declared:
            raise ExtensionDefinitionError("a source needs at least one column", location)
        names = {c.name for c in declared}
        keys = (primary_key,) if isinstance(primary_key, str) else tuple(primary_key)
        for key in (*keys, *((cursor,) if cursor else ())):
            if key not in names:
                raise ExtensionDefinitionError(
                    f"{key!r} is not a declared column ({', '.join(sorted(names))})", location
                )
        if rate_limit is not None and not rate_limit > 0:
            raise ExtensionDefinitionError("rate_limit is requests per second, > 0", location)
        if concurrency < 1:
            raise ExtensionDefinitionError("concurrency must be at least 1", location)
        if secret is not None:
            _check_name(secret, location, "secret")
        spec = SourceSpec(
            name=sql_name,
            function=fn,
            arguments=arguments,
            schema=sql_schema,
            volatility=vol,  # type: ignore[arg-type]
            superuser_only=superuser_only,
            doc=text,
            source=location,
            context_argument=context_argument,
            columns=declared,
            primary_key=keys,
            cursor=cursor,
            secret=secret,
            rate_limit=rate_limit,
            concurrency=concurrency,
        )
        _record(fn, spec)
        return fn

    if function is not None:
        return decorate(function)
    return decorate
