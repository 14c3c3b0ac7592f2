"""YAML declarations: the pydantic models and the loader that reports file:line:column.

A file declares one table (keys at the top level), or several tables (a ``tables:`` list)
and external datasets (an ``external:`` list).
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path
from typing import Any

import duckdb
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from forge_sql.engine.syncs import SyncDefinition
from forge_sql.migrate import expressions, positions
from forge_sql.migrate.errors import MigrationError
from forge_sql.migrate.expressions import InvalidExpression, Kind
from forge_sql.migrate.files import read_text
from forge_sql.sql import numeric
from forge_sql.storage.external import Format, OptionValue, readable_directory

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
_TYPE_TEXT = re.compile(r'^[A-Za-z0-9_ ,()\[\]"]+$')


@functools.lru_cache(maxsize=1024)
def duckdb_type(text: str) -> str:
    """The type as DuckDB spells it (``int`` -> ``INTEGER``), or ValueError if unknown.

    The text must parse as a type inside one CAST before it is run, and only DuckDB's
    own spelling of it (``typeof``) goes into the SQL that migrations write.
    """
    if not _TYPE_TEXT.match(text) or text.count("(") != text.count(")"):
        raise ValueError(f"not a type: {text!r}")
    declared = pg_string_or_serial(text)
    if declared is not None:
        return declared
    text = numeric.type_name(text)  # a bare numeric is DECIMAL(38,10), not DuckDB's (18,3)
    try:
        expressions.check(f"CAST(NULL AS {text})", Kind.DEFAULT)
    except InvalidExpression:
        raise ValueError(f"not a type: {text!r}") from None
    lock, parser = expressions.parser()
    with lock:
        try:
            row = parser.execute(f"SELECT typeof(CAST(NULL AS {text}))").fetchone()
        except duckdb.Error as exc:
            raise ValueError(f"unknown type {text!r}: {str(exc).splitlines()[0]}") from exc
    assert row is not None
    return str(row[0])


_SERIALS = {"SERIAL": "SERIAL", "SERIAL4": "SERIAL", "BIGSERIAL": "BIGSERIAL",
            "SERIAL8": "BIGSERIAL", "SMALLSERIAL": "SMALLSERIAL", "SERIAL2": "SMALLSERIAL"}
_LENGTH = re.compile(
    r"^(VARCHAR|CHARACTER VARYING|CHAR VARYING|CHARACTER|CHAR|BPCHAR)\s*\(\s*(\d+)\s*\)$", re.I
)


def pg_string_or_serial(text: str) -> str | None:
    """PostgreSQL types the server keeps beyond DuckDB's: serial columns (a sequence fills
    them) and string lengths (kept and enforced), spelled as they go into the DDL."""
    words = " ".join(text.split()).upper()
    if words in _SERIALS:
        return _SERIALS[words]
    match = _LENGTH.match(words)
    if match is None:
        return None
    base = "VARCHAR" if "VAR" in match[1] else "CHAR"
    if int(match[2]) < 1:
        raise ValueError(f"length for type {base.lower()} must be at least 1")
    return f"{base}({int(match[2])})"


def _identifier(value: str) -> str:
    if not _IDENTIFIER.match(value):
        raise ValueError(f"{value!r} is not a plain identifier (letters, digits, _)")
    return value


def _item(index: int, text: str, kind: Kind) -> str:
    try:
        return expressions.check(text, kind)
    except InvalidExpression as exc:
        raise InvalidExpression(str(exc), exc.offset, index) from None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class ColumnDecl(_Strict):
    """One column, in table order."""

    name: str = Field(description="Column name.")
    type: str = Field(description="Type as DuckDB spells it (BIGINT, VARCHAR, DECIMAL(10,2)).")
    nullable: bool = Field(True, description="False adds NOT NULL (enforced by the storage).")
    default: str | None = Field(None, description="SQL expression, e.g. now() or 'open'.")
    description: str | None = Field(None, description="Column comment.")
    renamed_from: str | None = Field(None, description="Former name: renames in place.")

    _name = field_validator("name", "renamed_from")(lambda v: v if v is None else _identifier(v))

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        return duckdb_type(value)

    @field_validator("default", mode="before")
    @classmethod
    def _default_text(cls, value: object) -> object:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        return value

    @field_validator("default")
    @classmethod
    def _one_default(cls, value: str | None) -> str | None:
        return None if value is None else expressions.check(value, Kind.DEFAULT)


class KeyDecl(_Strict):
    """A unique key (recorded and checked by ``validate``; the storage does not enforce it)."""

    name: str | None = None
    columns: list[str] = Field(min_length=1)


class CheckDecl(_Strict):
    """A CHECK expression (recorded and checked by ``validate``)."""

    name: str
    expression: str = Field(min_length=1)

    @field_validator("expression")
    @classmethod
    def _one_expression(cls, value: str) -> str:
        return expressions.check(value, Kind.CHECK)


class TableDecl(_Strict):
    """A table as it should be after the migration."""

    table: str = Field(description="Table name.")
    schema_: str = Field("public", alias="schema", description="Schema (default public).")
    description: str | None = Field(None, description="Table comment.")
    columns: list[ColumnDecl] = Field(default_factory=list)
    primary_key: list[str] | None = Field(None, min_length=1)
    unique: list[KeyDecl] = Field(default_factory=list)
    checks: list[CheckDecl] = Field(default_factory=list)
    partitioned_by: list[str] = Field(default_factory=list)
    sorted_by: list[str] = Field(default_factory=list)
    drop: bool = Field(False, description="Drop the table (destructive).")

    _names = field_validator("table", "schema_")(lambda v: _identifier(v))

    @field_validator("partitioned_by")
    @classmethod
    def _partition_keys(cls, value: list[str]) -> list[str]:
        return [_item(index, key, Kind.PARTITION_KEY) for index, key in enumerate(value)]

    @field_validator("sorted_by")
    @classmethod
    def _sort_keys(cls, value: list[str]) -> list[str]:
        return [_item(index, key, Kind.SORT_KEY) for index, key in enumerate(value)]

    @field_validator("unique", mode="before")
    @classmethod
    def _short_keys(cls, value: object) -> object:
        # `unique: [[email], [a, b]]` is shorthand for keys without a name.
        if isinstance(value, list):
            return [{"columns": v} if isinstance(v, list) else v for v in value]
        return value

    @model_validator(mode="after")
    def _consistent(self) -> TableDecl:
        if self.drop:
            if self.columns:
                raise ValueError("a table with drop: true declares no columns")
            return self
        if not self.columns:
            raise ValueError("columns: declare at least one column")
        names = [c.name for c in self.columns]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"columns declared twice: {', '.join(dupes)}")
        keys = [self.primary_key or []] + [k.columns for k in self.unique]
        for key in keys:
            unknown = [c for c in key if c not in names]
            if unknown:
                raise ValueError(f"key on undeclared columns: {', '.join(unknown)}")
        for column in self.columns:
            pk = column.name in (self.primary_key or [])
            if pk and column.nullable and "nullable" in column.model_fields_set:
                raise ValueError(f"primary key column {column.name} cannot be nullable")
        return self

    @property
    def not_null(self) -> set[str]:
        """Columns stored NOT NULL: declared so, or part of the primary key."""
        pk = set(self.primary_key or [])
        return {c.name for c in self.columns if not c.nullable or c.name in pk}

    @property
    def qualified(self) -> tuple[str, str]:
        return (self.schema_, self.table)


class ExternalDecl(_Strict):
    """An external dataset: a view over local Parquet, CSV or JSON files."""

    name: str = Field(description="View name.")
    schema_: str = Field("public", alias="schema", description="Schema (default public).")
    path: str | None = Field(
        None,
        description="File or glob; a relative path is taken from the migrations directory.",
    )
    format: Format = Field("parquet", description="parquet, csv or json.")
    hive_partitioning: bool = Field(
        False, description="key=value directories become columns; filters on them prune files."
    )
    options: dict[str, OptionValue] = Field(
        default_factory=dict, description="Further named arguments of read_<format>."
    )
    drop: bool = Field(False, description="Drop the view (the files are left alone).")

    _names = field_validator("name", "schema_")(lambda v: _identifier(v))

    @field_validator("path")
    @classmethod
    def _local(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if "://" in value:
            raise ValueError("only local paths can be declared (no URLs)")
        base = (info.context or {}).get("base", Path.cwd())
        path = Path(value).expanduser()
        resolved = os.path.normpath(path if path.is_absolute() else Path(base) / path)
        if readable_directory(resolved) == "/":
            raise ValueError("a dataset directly under / would open the whole file system")
        return resolved

    @field_validator("options")
    @classmethod
    def _option_names(cls, value: dict[str, OptionValue]) -> dict[str, OptionValue]:
        for name in value:
            if not _IDENTIFIER.match(name) or "$" in name:
                raise ValueError(f"invalid reader option name {name!r}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ExternalDecl:
        if self.drop and (self.path is not None or self.options or self.hive_partitioning):
            raise ValueError("a dataset with drop: true declares no path or reader options")
        if not self.drop and self.path is None:
            raise ValueError("path: declare the files (a path or glob)")
        return self

    @property
    def qualified(self) -> tuple[str, str]:
        return (self.schema_, self.name)


_DURATION = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|secs?|seconds?|min|mins|minutes?|h|hours?)\s*$",
    re.I,
)
_UNIT_MS = {"ms": 1, "mi": 1, "s": 1000, "se": 1000, "mn": 60_000, "h": 3_600_000,
            "ho": 3_600_000}


def duration_ms(text: str | int) -> int:
    """'30 seconds', '500 ms', '10 minutes', '2 hours' (or a number of seconds) in ms."""
    if isinstance(text, int):
        return text * 1000
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"not a duration: {text!r} (write e.g. '30 seconds' or '10 minutes')")
    unit = match[2].lower()
    key = "mn" if unit.startswith("min") else unit[:2] if unit[:2] in _UNIT_MS else unit[:1]
    return int(float(match[1]) * _UNIT_MS[key])


def _schedule(value: str | None) -> str | None:
    """A cron expression or 'N seconds', as cron.schedule takes it."""
    if value is not None:
        from forge_sql.engine.jobs import check_schedule

        try:
            check_schedule(value)
        except Exception as exc:
            raise ValueError(str(exc)) from None
    return value


class JobDecl(_Strict):
    """A scheduled job (cron.job), run by the servers over this lake."""

    name: str = Field(description="Job name (cron.job.jobname).")
    schedule: str | None = Field(
        None, description="Cron expression or 'N seconds'; none for a job that runs after "
        "another.")
    command: str | None = Field(None, description="The SQL the job runs.")
    run_as: str | None = Field(None, description="Role it runs as (default: who migrates).")
    timezone: str = Field("UTC", description="Time zone of the cron expression.")
    retries: int = Field(0, ge=0, description="Attempts after a failed run.")
    retry_backoff: str | int = Field(
        "1 second", description="Wait before the first retry; doubles at each one.")
    timeout: str | int | None = Field(None, description="The run's statement_timeout.")
    overlap: str = Field("skip", description="A tick while a run is under way: skip | queue.")
    after: str | None = Field(None, description="Run when this job's run succeeds.")
    active: bool = Field(True, description="false: declared but not run.")
    drop: bool = Field(False, description="Unschedule the job.")

    _schedule = field_validator("schedule")(lambda v: _schedule(v))

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        from forge_sql.engine.jobs import check_timezone

        try:
            check_timezone(value)
        except Exception as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("retry_backoff", "timeout")
    @classmethod
    def _duration(cls, value: str | int | None) -> str | int | None:
        if value is not None:
            duration_ms(value)
        return value

    @field_validator("overlap")
    @classmethod
    def _overlap(cls, value: str) -> str:
        if value not in ("skip", "queue"):
            raise ValueError(f"overlap: skip or queue, not {value!r}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> JobDecl:
        if self.drop:
            return self
        if self.command is None:
            raise ValueError("command: the SQL the job runs")
        if (self.schedule is None) == (self.after is None):
            raise ValueError("declare either schedule: or after: (another job's name)")
        return self


class MatviewDecl(_Strict):
    """A materialized view, optionally refreshed on a schedule (a job of its own)."""

    name: str = Field(description="Materialized view name.")
    schema_: str = Field("public", alias="schema", description="Schema (default public).")
    query: str | None = Field(None, description="The query whose rows it holds.")
    with_data: bool = Field(True, description="false: created unpopulated (WITH NO DATA).")
    refresh: str | None = Field(
        None, description="Cron expression or 'N seconds': refreshed on that schedule.")
    drop: bool = Field(False, description="Drop the materialized view.")

    _names = field_validator("name", "schema_")(lambda v: _identifier(v))
    _refresh = field_validator("refresh")(lambda v: _schedule(v))

    @model_validator(mode="after")
    def _consistent(self) -> MatviewDecl:
        if not self.drop and not self.query:
            raise ValueError("query: the query whose rows it holds")
        return self

    @property
    def qualified(self) -> tuple[str, str]:
        return (self.schema_, self.name)


class DeclarationFile(_Strict):
    tables: list[TableDecl] = Field(default_factory=list)
    external: list[ExternalDecl] = Field(default_factory=list)
    syncs: list[SyncDefinition] = Field(default_factory=list)
    jobs: list[JobDecl] = Field(default_factory=list)
    materialized_views: list[MatviewDecl] = Field(default_factory=list)

    @model_validator(mode="after")
    def _something(self) -> DeclarationFile:
        if not (self.tables or self.external or self.syncs or self.jobs
                or self.materialized_views):
            raise ValueError("declare at least one table (tables:), dataset (external:), "
                             "sync (syncs:), job (jobs:) or materialized view "
                             "(materialized_views:)")
        names = [s.name for s in self.syncs]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"sync {twice[0]} is declared twice")
        return self


def load(path: Path, text: str | None = None) -> list[TableDecl]:
    """The tables a YAML migration declares; errors point at ``file:line:column``."""
    return load_file(path, text).tables


def load_file(path: Path, text: str | None = None) -> DeclarationFile:
    """Everything a YAML migration declares; errors point at ``file:line:column``.

    Relative dataset paths are taken from the directory that holds the file.
    """
    source = str(path)
    document = positions.load(read_text(path) if text is None else text, source)
    data: Any = document.data
    prefix: tuple[str | int, ...] = ()
    if isinstance(data, dict) and not {"tables", "external", "syncs", "jobs",
                                       "materialized_views"} & data.keys():
        data, prefix = {"tables": [data]}, ("tables", 0)
    if not isinstance(data, dict):
        raise MigrationError(f"{source}:1:1: expected a table declaration (a mapping)")
    base = path.parent.absolute()
    try:
        return DeclarationFile.model_validate(data, context={"base": base})
    except ValidationError as exc:
        raise MigrationError(_describe(exc, document, prefix, source)) from exc


def _describe(exc: ValidationError, document: positions.Document,
              prefix: tuple[str | int, ...], source: str) -> str:
    lines = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        if prefix and loc[: len(prefix)] == prefix:
            loc = loc[len(prefix) :]
        kind = error["type"]
        if kind == "extra_forbidden":
            mark = document.where(loc, key=True)
            message = f"unknown key {loc[-1]!r}"
        elif kind == "missing":
            mark = document.where(loc[:-1])
            message = f"missing key {loc[-1]!r}"
        else:
            cause = (error.get("ctx") or {}).get("error")
            offset = None
            if isinstance(cause, InvalidExpression):
                loc = loc if cause.index is None else (*loc, cause.index)
                offset = cause.offset
            mark = document.where(loc, offset=offset)
            message = str(error["msg"]).removeprefix("Value error, ")
        dotted = _dotted(loc)
        lines.append(f"{source}:{mark.line}:{mark.column}: {dotted + ': ' if dotted else ''}"
                     f"{message}")
    return "\n".join(lines)


def _dotted(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
