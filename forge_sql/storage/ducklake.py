"""Attach the DuckLake catalog that stores user tables as Parquet files.

DuckDB extensions are signed binaries per DuckDB version; the ``duckdb-extension-<name>``
packages carry them, so nothing is downloaded at run time (DESIGN.md, decisions).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
from pathlib import Path

import duckdb

from forge_sql.sql.quoting import quote_ident
from forge_sql.storage import catalogs, conflicts, meta
from forge_sql.storage.catalogs import Lake

log = logging.getLogger(__name__)


def load_extension(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Load ``name`` from its registry package, or from DuckDB's own repository."""
    path = packaged_extension(name)
    if path is not None:
        con.execute(f"INSTALL '{path}'")
    else:
        log.warning("package duckdb-extension-%s not found; trying INSTALL %s", name, name)
        con.execute(f"INSTALL {name}")
    con.execute(f"LOAD {name}")


def packaged_extension(name: str) -> Path | None:
    try:
        module = importlib.import_module(f"duckdb_extension_{name}")
    except ImportError:
        return None
    version = duckdb.__version__
    root = Path(module.__file__ or "").parent / "extensions"
    candidates = sorted(root.glob(f"v{version}/{name}.duckdb_extension")) or sorted(
        root.glob(f"*/{name}.duckdb_extension")
    )
    return candidates[0] if candidates else None


def attach(
    con: duckdb.DuckDBPyConnection, lake: Lake | Path, name: str, inline_rows: int
) -> None:
    """Attach ``lake`` (see forge_sql.storage.catalogs; a directory: the embedded lake in
    it) as ``name``.

    The lake is the database clients connect to, so it carries the database's name:
    current_database() and three-part names then read as in PostgreSQL.

    Inserts of at most ``inline_rows`` rows are kept in the catalog instead of a Parquet
    file each (DuckLake data inlining), so many small COPYs or INSERTs do not leave
    thousands of tiny files; :func:`flush_inlined` writes them out as Parquet.
    """
    if isinstance(lake, Path):
        lake = catalogs.embedded(lake)
    load_extension(con, "ducklake")
    for extension in lake.extensions:
        load_extension(con, extension)
    if lake.local_data is not None:
        lake.local_data.mkdir(parents=True, exist_ok=True)
    sql = (
        f"ATTACH 'ducklake:{_quote(lake.catalog)}' AS {quote_ident(name)} "
        f"(DATA_PATH '{_quote(lake.data_path)}', DATA_INLINING_ROW_LIMIT {int(inline_rows)})"
    )
    retries = 10 if lake.shared else 0
    conflicts.retry(lambda: con.execute(sql), retries, when=conflicts.is_creation_race)
    # Servers sharing a catalog may start together: their set-up DDL can conflict.
    conflicts.retry(lambda: _create_schemas(con, quote_ident(name)), retries)


def _create_schemas(con: duckdb.DuckDBPyConnection, lake: str) -> None:
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {lake}.public")
        meta.create(con, lake)
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise


def _quote(text: str) -> str:
    return text.replace("'", "''")


def flush_inlined(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Move rows kept in the catalog by data inlining into Parquet files."""
    con.execute(f"CALL ducklake_flush_inlined_data('{_quote(name)}')")
