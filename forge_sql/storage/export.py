"""Export a lake table as a hive-partitioned Parquet dataset that other engines read
directly (Spark, Trino, polars, pyarrow): ``DIR/col=value/data_0.parquet``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from forge_sql import errors
from forge_sql.sql.quoting import literal, quote_ident

if TYPE_CHECKING:
    import duckdb

# Unpartitioned exports roll over to a new file at this size, so engines read in parallel.
FILE_SIZE = "512MB"


@dataclass(frozen=True, slots=True)
class Exported:
    rows: int
    files: int


def export_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    directory: Path,
    partition_by: Sequence[str] = (),
    *,
    version: int | None = None,
    overwrite: bool = False,
) -> Exported:
    """Write ``table`` (``name`` or ``schema.name``, on the connection's default catalog)
    under ``directory``, one ``col=value`` directory level per ``partition_by`` column;
    ``version`` exports the table as of that snapshot."""
    schema, _, name = table.rpartition(".")
    schema = schema or "public"
    columns = [
        c
        for (c,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
            "AND schema_name = ? AND table_name = ?",
            [schema, name],
        ).fetchall()
    ]
    if not columns:
        raise errors.UndefinedTable(f'relation "{table}" does not exist')
    for column in partition_by:
        if column not in columns:
            raise errors.UndefinedColumn(f'column "{column}" of relation "{table}" does not exist')
    directory = directory.absolute()
    if directory.exists() and any(directory.iterdir()) and not overwrite:
        raise errors.ObjectInUse(
            f"{directory} is not empty", hint="choose a new directory, or pass --overwrite"
        )
    source = f"{quote_ident(schema)}.{quote_ident(name)}"
    if version is not None:
        source += f" AT (VERSION => {int(version)})"
    options = ["FORMAT parquet"]
    if partition_by:
        options.append("PARTITION_BY (" + ", ".join(quote_ident(c) for c in partition_by) + ")")
    else:
        # DuckDB 1.5.5 refuses FILE_SIZE_BYTES together with PARTITION_BY.
        options.append(f"FILE_SIZE_BYTES {literal(FILE_SIZE)}")
    if overwrite:
        options.append("OVERWRITE")
    directory.mkdir(parents=True, exist_ok=True)
    row = con.execute(
        f"COPY (SELECT * FROM {source}) TO {literal(str(directory))} ({', '.join(options)})"
    ).fetchone()
    files = sum(1 for _ in directory.rglob("*.parquet"))
    return Exported(rows=int(row[0]) if row else 0, files=files)
