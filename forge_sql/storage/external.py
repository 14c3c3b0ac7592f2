"""External datasets: local Parquet, CSV or JSON files (a path or glob) declared as views.

Declared in the config file (``[external.NAME]``) or by a YAML migration (which calls
:func:`view_sql` and records the dataset in ``forge_meta.external_datasets``). DuckDB's file
sandbox stays on: the server adds each dataset's directory to the readable directories at
start-up (:func:`readable_directory`, :func:`recorded_paths`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field, field_validator

from forge_sql.errors import ConfigError
from forge_sql.sql.quoting import literal, quote_ident

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

Format = Literal["parquet", "csv", "json"]

READERS: dict[str, str] = {"parquet": "read_parquet", "csv": "read_csv", "json": "read_json"}
_OPTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_GLOB = re.compile(r"[*?\[{]")
# Marks views created from the config, so that one removed from the config is dropped.
MARKER = "forge-sql external dataset "

OptionValue = str | int | float | bool | list[object] | dict[str, object]


class ExternalDataset(BaseModel):
    """``[external.NAME]`` in the config file: a view NAME over local files."""

    model_config = {"extra": "forbid"}

    path: str = Field(
        description="Local file or glob, e.g. '/data/events/**/*.parquet'; relative paths "
        "are taken from the directory the server starts in."
    )
    format: Format = Field("parquet", description="File format: parquet, csv or json.")
    hive_partitioning: bool = Field(
        False,
        description="Read key=value directories as columns; filters on them skip the "
        "other directories' files (partition pruning).",
    )
    schema_name: str = Field("public", alias="schema", description="Schema of the view.")
    options: dict[str, OptionValue] = Field(
        default_factory=dict,
        description="Further reader options, passed as named arguments to read_parquet, "
        "read_csv or read_json (e.g. union_by_name = true, delim = ';').",
    )

    @field_validator("path")
    @classmethod
    def _local(cls, value: str) -> str:
        if "://" in value:
            raise ValueError("only local paths can be declared here (no URLs)")
        return os.path.normpath(Path(value).expanduser().absolute())

    @field_validator("options")
    @classmethod
    def _names(cls, value: dict[str, OptionValue]) -> dict[str, OptionValue]:
        for name in value:
            if not _OPTION_NAME.match(name):
                raise ValueError(f"invalid reader option name {name!r}")
        return value


def view_sql(
    name: str,
    path: str | Sequence[str],
    file_format: str = "parquet",
    *,
    hive_partitioning: bool = False,
    options: Mapping[str, object] | None = None,
    schema: str = "public",
    catalog: str | None = None,
    replace: bool = True,
) -> str:
    """``CREATE [OR REPLACE] VIEW schema.name AS SELECT * FROM read_<format>(path, ...)``.

    ``path`` is a file, a glob or a list of them; ``options`` are the reader's named
    arguments (validated names, values quoted as SQL literals); ``catalog`` qualifies the
    view's name (default: the session's database).
    """
    reader = READERS.get(file_format)
    if reader is None:
        raise ValueError(f"unknown format {file_format!r}: use parquet, csv or json")
    arguments = [literal(list(path) if not isinstance(path, str) else path)]
    named: dict[str, object] = dict(options or {})
    if hive_partitioning:
        named["hive_partitioning"] = True
    for option, value in named.items():
        if not _OPTION_NAME.match(option):
            raise ValueError(f"invalid reader option name {option!r}")
        arguments.append(f"{option} = {literal(value)}")
    verb = "CREATE OR REPLACE VIEW" if replace else "CREATE VIEW"
    target = f"{quote_ident(schema)}.{quote_ident(name)}"
    if catalog is not None:
        target = f"{quote_ident(catalog)}.{target}"
    return (
        f"{verb} {target} AS "
        f"SELECT * FROM {reader}({', '.join(arguments)})"
    )


def readable_directory(path: str) -> str:
    """The directory a file or glob lies under, with a trailing slash (for the sandbox)."""
    head = _GLOB.split(path, maxsplit=1)[0]
    directory = Path(head) if head.endswith("/") or Path(head).is_dir() else Path(head).parent
    # Not resolved: DuckDB compares the path as the view spells it, symlinks included.
    return os.path.normpath(directory.absolute()).rstrip("/") + "/"


RECORD = "forge_meta.external_datasets"


def recorded_paths(con: duckdb.DuckDBPyConnection, lake: str) -> list[str]:
    """The paths of the datasets migrations declared (absolute; others are ignored, as is
    one whose directory would be the root)."""
    rows = con.execute(
        f"SELECT DISTINCT path FROM {quote_ident(lake)}.{RECORD} ORDER BY path"
    ).fetchall()
    found = []
    for (path,) in rows:
        if not os.path.isabs(path) or readable_directory(path) == "/":
            log.warning("ignored a recorded external dataset path: %r", path)
            continue
        found.append(str(path))
    return found


def create_views(
    con: duckdb.DuckDBPyConnection, lake: str, datasets: Mapping[str, ExternalDataset]
) -> None:
    """Create or replace the configured views in the lake; drop ones no longer configured.

    A view whose definition has not changed is left alone, so restarts add no snapshots.
    """
    existing = {
        (schema, name): comment or ""
        for schema, name, comment in con.execute(
            "SELECT schema_name, view_name, comment FROM duckdb_views() "
            "WHERE database_name = ? AND starts_with(comment, ?)",
            [lake, MARKER],
        ).fetchall()
    }
    wanted: set[tuple[str, str]] = set()
    for name, dataset in datasets.items():
        sql = view_sql(
            name,
            dataset.path,
            dataset.format,
            hive_partitioning=dataset.hive_partitioning,
            options=dataset.options,
            schema=dataset.schema_name,
            catalog=lake,
        )
        key = (dataset.schema_name, name)
        wanted.add(key)
        mark = MARKER + hashlib.sha256(sql.encode()).hexdigest()[:16]
        if existing.get(key) == mark:
            continue
        schema = f"{quote_ident(lake)}.{quote_ident(dataset.schema_name)}"
        target = f"{schema}.{quote_ident(name)}"
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            con.execute(sql)
            con.execute(f"COMMENT ON VIEW {target} IS {literal(mark)}")
            con.execute("COMMIT")
        except Exception as exc:
            con.execute("ROLLBACK")
            raise ConfigError(f"external dataset {name!r} ({dataset.path}): {exc}") from exc
        log.info("external dataset %s: view over %s", name, dataset.path)
    for schema, name in existing.keys() - wanted:
        con.execute(f"DROP VIEW {quote_ident(lake)}.{quote_ident(schema)}.{quote_ident(name)}")
        log.info("external dataset %s.%s no longer configured: view dropped", schema, name)
